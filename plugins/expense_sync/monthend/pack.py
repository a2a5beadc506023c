"""The auditors' pack of a period: static HTML and CSV that open in a browser without a server.

``<results>/auditors_pack/<period>/``:

* ``index.html``: the reconciliation per company (status, totals, explained and unexplained
  difference), its lines and differences, the exception queue's history for the period (what was
  queued, who decided what, when), the first rows of the chain claim → voucher → ledger, and links
  to the period's GX validation pages in the Data Docs;
* ``totals.csv``, ``differences.csv``, ``exceptions.csv``, ``chain.csv``: the same tables in full
  (``COPY … TO STDOUT``, streamed: a month of a million claim lines never sits in memory).

``<results>/auditors_pack/index.html`` lists the periods and is linked from the Data Docs index.
Amounts are PostgreSQL numerics written as exact decimals.
"""

from __future__ import annotations

import html
import os
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from expense_sync.erp.accounts import PostingAccounts
from expense_sync.store import sqlfile

HTML_ROWS = 500  # rows of the chain shown in the page; chain.csv has all of them
SQL = "monthend/pack"  # include/sql/monthend/pack.sql

CSS = """<style>
body { font-family: -apple-system, "Segoe UI", "PingFang SC", "Microsoft YaHei", sans-serif; margin: 24px;
       font-size: 14px; color: #212529; }
table { border-collapse: collapse; margin: 8px 0 20px; }
th, td { border: 1px solid #dee2e6; padding: 3px 8px; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f4f6f8; } .bad { color: #b00020; } .ok { color: #1b7f3b; } .note { color: #6c757d; }
</style>"""


TOTALS_COLUMNS = [
    "company",
    "status",
    "account",
    "role",
    "cost center",
    "project",
    "claims",
    "posted Dr",
    "posted Cr",
    "ledger Dr",
    "ledger Cr",
    "difference",
    "cause",
    "explained",
]


def _copy_csv(conn: psycopg.Connection, query: sql.Composable, params: dict[str, Any], path: Path) -> None:
    with conn.cursor() as cur, path.open("wb") as out:
        with cur.copy(sqlfile.step(SQL, "csv").format(query), params) as copy:
            for chunk in copy:
                out.write(chunk)


def _table(columns: list[str], rows: list[tuple], numeric: Collection[int] = frozenset()) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{html.escape(str(v))}</td>' if i in numeric else f"<td>{html.escape(_text(v))}</td>"
            for i, v in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _validation_links(period_dir: Path, docs_site: Path | None, run_names: list[str]) -> list[tuple[str, str]]:
    """(suite, relative href) of the Data Docs validation pages of the month-end runs."""
    if docs_site is None or not (docs_site / "validations").exists():
        return []
    links = []
    for page in sorted((docs_site / "validations").rglob("*.html")):
        parts = page.relative_to(docs_site / "validations").parts
        if any(name and name in parts for name in run_names):
            links.append((parts[0], os.path.relpath(page, period_dir)))
    return links


def build_pack(
    conn: psycopg.Connection,
    period: str,
    vendor: str,
    accounts: PostingAccounts,
    root: Path,
    *,
    docs_site: Path | None = None,
    run_names: Sequence[str] = (),
) -> Path:
    """Write the pack of ``period`` under ``root/<period>`` and refresh ``root/index.html``."""
    period_dir = root / period
    period_dir.mkdir(parents=True, exist_ok=True)
    params = {"period": period, "vendor": vendor, "prefix": f"{period}/%", "clearing": accounts.clearing}
    totals_sql, exceptions_sql, chain_sql = (sqlfile.step(SQL, name) for name in ("totals", "exceptions", "chain"))
    _copy_csv(conn, totals_sql, params, period_dir / "totals.csv")
    _copy_csv(conn, sqlfile.step(SQL, "differences").format(totals_sql), params, period_dir / "differences.csv")
    _copy_csv(conn, exceptions_sql, params, period_dir / "exceptions.csv")
    _copy_csv(conn, chain_sql, params, period_dir / "chain.csv")

    summary = conn.execute(sqlfile.step(SQL, "summary"), params).fetchall()
    rollups = conn.execute(sqlfile.step(SQL, "rollups"), params).fetchall()
    vouchers = conn.execute(sqlfile.step(SQL, "vouchers"), params).fetchall()
    totals = conn.execute(totals_sql, params).fetchall()
    exceptions = conn.execute(exceptions_sql, params).fetchall()
    chain = conn.execute(sqlfile.step(SQL, "first_rows").format(chain_sql, sql.Literal(HTML_ROWS)), params).fetchall()
    chain_count = sqlfile.one(conn.execute(sqlfile.step(SQL, "chain_count"), params))[0]

    status = (
        "reconciled"
        if summary and all(row[1] == "reconciled" for row in summary)
        else ("not reconciled" if summary else "no reconciliation yet")
    )
    links = _validation_links(period_dir, docs_site, list(run_names))
    parts = [
        f"<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'><title>Auditors' pack {period}</title>{CSS}",
        "</head><body>",
        f"<h1>Auditors' pack — period {html.escape(period)} — ERP {html.escape(vendor)}</h1>",
        f"<p>Status: <b class='{'ok' if status == 'reconciled' else 'bad'}'>{status}</b>. "
        "Amounts in CNY, exact to the cent. Files: <a href='totals.csv'>totals.csv</a>, "
        "<a href='differences.csv'>differences.csv</a>, <a href='exceptions.csv'>exceptions.csv</a>, "
        "<a href='chain.csv'>chain.csv</a>. <a href='../index.html'>All periods</a></p>",
        "<h2>Reconciliation per company</h2>",
        _table(
            [
                "company",
                "status",
                "claims",
                "claims total",
                "posted total",
                "ledger total",
                "explained difference",
                "unexplained difference",
                "claims unmatched",
                "reconciled at",
                "run",
            ],
            summary,
            numeric={2, 3, 4, 5, 6, 7, 8},
        ),
        "<h2>Rollup runs</h2>",
        _table(
            ["company", "version", "action", "claims", "claim lines", "total", "vouchers sent", "at"],
            rollups,
            numeric={3, 4, 5},
        ),
        "<h2>Month-end vouchers in the ERP</h2>",
        _table(["company", "kind", "external ref", "number", "state", "total", "date"], vouchers, numeric={5}),
        "<h2>Totals per account / cost center / project</h2>",
        _table(
            TOTALS_COLUMNS,
            totals,
            numeric={6, 7, 8, 9, 10, 11},
        ),
        "<h2>Differences</h2>",
        _table(
            TOTALS_COLUMNS,
            [row for row in totals if row[12]],
            numeric={6, 7, 8, 9, 10, 11},
        ),
        "<h2>Exception queue history</h2>",
        _table(
            [
                "item",
                "entity",
                "record",
                "reason code",
                "reason",
                "status",
                "decision",
                "decided by",
                "decided at",
                "event at",
                "actor",
                "action",
                "detail",
            ],
            exceptions,
        ),
        f"<h2>Claim → voucher → ledger</h2><p class='note'>{min(chain_count, HTML_ROWS)} of {chain_count} claim "
        "lines shown; <a href='chain.csv'>chain.csv</a> has all. The ERP reports movements per account, cost "
        "center and project, so a claim's ledger line is the clearing / expense line of its dimensions.</p>",
        _table(
            [
                "claim",
                "company",
                "date",
                "line",
                "amount",
                "GL account",
                "cost center",
                "project",
                "claim voucher",
                "number",
                "clearing ledger line",
                "rollup voucher",
                "number",
                "expense ledger line",
                "ledger Dr",
                "ledger Cr",
            ],
            chain,
            numeric={4, 14, 15},
        ),
        "<h2>Data health validations (Great Expectations Data Docs)</h2>",
        "<ul>"
        + "".join(f"<li><a href='{html.escape(href)}'>{html.escape(suite)}</a></li>" for suite, href in links)
        + "</ul>"
        if links
        else "<p class='note'>No validation of this period in the Data Docs yet.</p>",
        "</body></html>",
    ]
    (period_dir / "index.html").write_text("\n".join(parts), encoding="utf-8")
    _index(root)
    return period_dir / "index.html"


def _index(root: Path) -> None:
    periods = sorted((p.name for p in root.iterdir() if (p / "index.html").exists()), reverse=True)
    items = "".join(f"<li><a href='{p}/index.html'>{p}</a></li>" for p in periods)
    (root / "index.html").write_text(
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Auditors' packs</title>{CSS}</head><body>"
        f"<h1>Auditors' packs (month end)</h1><ul>{items}</ul></body></html>",
        encoding="utf-8",
    )
