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
from pathlib import Path
from typing import Any

import psycopg

from expense_sync.erp.accounts import PostingAccounts

HTML_ROWS = 500  # rows of the chain shown in the page; chain.csv has all of them

TOTALS_SQL = """
SELECT r.company, r.status, l.account, l.account_role, l.cost_center, l.project, l.claims_amount,
       l.posted_debit, l.posted_credit, l.ledger_debit, l.ledger_credit, l.difference, l.cause, l.explained
FROM fin.reconciliation_latest r JOIN fin.reconciliation_line l USING (reconciliation_id)
WHERE r.period = %(period)s AND r.erp_vendor = %(vendor)s
ORDER BY r.company, l.account, l.cost_center NULLS FIRST, l.project NULLS FIRST
"""

EXCEPTIONS_SQL = """
SELECT i.item_id, i.entity, i.record_key, i.reason_code, i.reason, i.status, i.decision, i.decided_by,
       i.decided_at, e.at AS event_at, e.actor, e.action, e.detail
FROM sync.exception_item i JOIN sync.exception_event e USING (item_id)
WHERE i.source_system = %(vendor)s AND i.entity IN ('ledger_line', 'claim', 'voucher')
  AND i.record_key LIKE %(prefix)s
ORDER BY i.item_id, e.event_id
"""

# One row per claim line: the claim, its voucher and number, the clearing ledger line it moved, the
# rollup voucher that moved it on to its expense account, and that expense ledger line's amounts.
CHAIN_SQL = """
WITH rollup_lines AS (
    SELECT DISTINCT ON (v.company, l ->> 'account', l ->> 'cost_center', COALESCE(l ->> 'project', ''))
           v.company, l ->> 'account' AS account, l ->> 'cost_center' AS cost_center,
           COALESCE(l ->> 'project', '') AS project, v.external_ref, v.number
    FROM fin.voucher v CROSS JOIN LATERAL jsonb_array_elements(v.lines) l
    WHERE v.erp_vendor = %(vendor)s AND v.period = %(period)s AND v.kind = 'rollup'
      AND (l ->> 'debit')::numeric > 0
      AND NOT EXISTS (SELECT 1 FROM fin.voucher r WHERE r.reverses = v.voucher_id)
    ORDER BY v.company, l ->> 'account', l ->> 'cost_center', COALESCE(l ->> 'project', ''), v.external_ref
), ledger AS (
    SELECT r.company, l.account, l.cost_center, COALESCE(l.project, '') AS project, l.ledger_debit, l.ledger_credit
    FROM fin.reconciliation_latest r JOIN fin.reconciliation_line l USING (reconciliation_id)
    WHERE r.period = %(period)s AND r.erp_vendor = %(vendor)s
)
SELECT c.claim_no, c.company, c.claim_date, l.line_no, l.amount, l.gl_account, l.cost_center, l.project,
       c.voucher_ref AS claim_voucher, c.voucher_number AS claim_voucher_number,
       %(clearing)s || ' / ' || l.cost_center || ' / ' || COALESCE(l.project, '') AS clearing_ledger_line,
       ru.external_ref AS rollup_voucher, ru.number AS rollup_voucher_number,
       l.gl_account || ' / ' || l.cost_center || ' / ' || COALESCE(l.project, '') AS expense_ledger_line,
       g.ledger_debit AS expense_ledger_debit, g.ledger_credit AS expense_ledger_credit
FROM fin.closed_claim c
JOIN fin.claim_line l USING (claim_id)
LEFT JOIN rollup_lines ru
       ON (ru.company, ru.account, ru.cost_center, ru.project)
        = (c.company, l.gl_account, l.cost_center, COALESCE(l.project, ''))
LEFT JOIN ledger g
       ON (g.company, g.account, g.cost_center, g.project)
        = (c.company, l.gl_account, l.cost_center, COALESCE(l.project, ''))
WHERE c.period = %(period)s AND c.erp_vendor = %(vendor)s
ORDER BY c.company, c.claim_no, l.line_no
"""

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


def _copy_csv(conn: psycopg.Connection, query: str, params: dict[str, Any], path: Path) -> None:
    with conn.cursor() as cur, path.open("wb") as out:
        with cur.copy(f"COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER true)", params) as copy:
            for chunk in copy:
                out.write(chunk)


def _table(columns: list[str], rows: list[tuple], numeric: set[int] = frozenset()) -> str:
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
    run_names: list[str] = (),
) -> Path:
    """Write the pack of ``period`` under ``root/<period>`` and refresh ``root/index.html``."""
    period_dir = root / period
    period_dir.mkdir(parents=True, exist_ok=True)
    params = {"period": period, "vendor": vendor, "prefix": f"{period}/%", "clearing": accounts.clearing}
    _copy_csv(conn, TOTALS_SQL, params, period_dir / "totals.csv")
    differences_sql = f"SELECT * FROM ({TOTALS_SQL}) t WHERE cause IS NOT NULL"
    _copy_csv(conn, differences_sql, params, period_dir / "differences.csv")
    _copy_csv(conn, EXCEPTIONS_SQL, params, period_dir / "exceptions.csv")
    _copy_csv(conn, CHAIN_SQL, params, period_dir / "chain.csv")

    summary = conn.execute(
        """SELECT company, status, claims, claims_total, posted_total, ledger_total, explained, unexplained,
                  claims_unmatched, created_at, run_key
             FROM fin.reconciliation_latest WHERE period = %(period)s AND erp_vendor = %(vendor)s ORDER BY company""",
        params,
    ).fetchall()
    rollups = conn.execute(
        """SELECT company, version, action, claims, claim_lines, total, array_to_string(vouchers, ' '), created_at
             FROM fin.rollup_run WHERE period = %(period)s AND erp_vendor = %(vendor)s ORDER BY rollup_run_id""",
        params,
    ).fetchall()
    vouchers = conn.execute(
        """SELECT company, kind, external_ref, number, state, total, posting_date FROM fin.voucher
            WHERE period = %(period)s AND erp_vendor = %(vendor)s AND kind IN ('rollup', 'reversal')
              AND claim_id IS NULL ORDER BY voucher_id""",
        params,
    ).fetchall()
    totals = conn.execute(TOTALS_SQL, params).fetchall()
    exceptions = conn.execute(EXCEPTIONS_SQL, params).fetchall()
    chain = conn.execute(f"{CHAIN_SQL} LIMIT {HTML_ROWS}", params).fetchall()
    chain_count = conn.execute(
        """SELECT count(*) FROM fin.closed_claim c JOIN fin.claim_line l USING (claim_id)
            WHERE c.period = %(period)s AND c.erp_vendor = %(vendor)s""",
        params,
    ).fetchone()[0]

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
