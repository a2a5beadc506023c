"""The auditors' pack of a period: static HTML, CSV, charts and a PDF that open without a server.

``<results>/auditors_pack/<period>/``:

* ``index.html``: when it was generated; the period's status (``reconciled`` only when the ledger
  agrees *and* the ERP has approved — audited or posted — every month-end voucher; ``no claims in the
  period`` for a green run that had nothing to reconcile); the reconciliation per company (status,
  totals, explained and unexplained difference, the vouchers still awaiting the ERP's approval), its
  lines and differences (a line without a difference needs no explanation and says so); the
  claim-level items of the period's claims (the ERP's refusal text, who released or decided them,
  with their note); the exception queue's history for the period; the chain claim → voucher → ledger
  (the ledger amount once per ledger line, with totals that tie); the charts of the month's expense
  per cost center, category and project and of the twelve months to it, each beside its numbers;
  links to the period's GX validation pages in the Data Docs;
* ``totals.csv``, ``differences.csv``, ``exceptions.csv``, ``claim_items.csv``, ``chain.csv``,
  ``input_vat.csv`` (the input VAT per invoice type and rate), ``invoice_findings.csv`` (invoices
  refused, duplicates among them), ``approval_matrix.csv`` (the approval matrix in force at the
  period's end, every step of every chain: ``include/sql/matrix/pack.sql``): the same
  tables in full (``COPY … TO STDOUT``, streamed: a month of a million claim lines never sits in
  memory); ``charts/``: each chart's SVG and CSV;
* ``accruals.csv``: the travel bookings accrued (预提) and still open at the period's end (their
  section of the page lists them too);
* ``pack.pdf``: the page, printable (WeasyPrint);
* ``MANIFEST.sha256``: the SHA-256 of every other file (``sha256sum -c MANIFEST.sha256``).

``<results>/auditors_pack/index.html`` lists the periods and is linked from the Data Docs index.
Amounts are PostgreSQL numerics written as exact decimals.
"""

from __future__ import annotations

import datetime as dt
import html
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from expense_sync.erp.accounts import PostingAccounts
from expense_sync.monthend.charts import build_charts
from expense_sync.monthend.manifest import MANIFEST, write_manifest
from expense_sync.monthend.page import CSS, chart, table
from expense_sync.monthend.pdf import write_pdf
from expense_sync.monthend.reconcile import NO_CLAIMS
from expense_sync.store import sqlfile

HTML_ROWS = 500  # rows of the chain shown in the page; chain.csv has all of them
SQL = "monthend/pack"  # include/sql/monthend/pack.sql
PDF = "pack.pdf"

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
CHAIN_COLUMNS = [
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
]


def _copy_csv(conn: psycopg.Connection, query: sql.Composable, params: dict[str, Any], path: Path) -> None:
    with conn.cursor() as cur, path.open("wb") as out:
        with cur.copy(sqlfile.step(SQL, "csv").format(query), params) as copy:
            for chunk in copy:
                out.write(chunk)


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


def period_status(summary: list[tuple], last_run: tuple | None) -> str:
    """The period's status: ``reconciled`` only when every company's ledger agrees and the ERP approved
    every month-end voucher; ``no claims in the period`` when the latest reconciliation of the period
    (``sync.run_step``) found nothing to reconcile in a run that did not fail."""
    if summary:
        if any(row[1] != "reconciled" for row in summary):
            return "not reconciled"
        if any(row[8] != "all approved" for row in summary):
            return "not reconciled yet: the ledger agrees, the ERP has not approved the month-end vouchers"
        return "reconciled"
    if last_run is not None:
        _, status, companies, run_status, _ = last_run
        if status == NO_CLAIMS and companies == 0 and run_status != "failed":
            return "no claims in the period"
    return "no reconciliation yet"


def _summary_rows(summary: list[tuple]) -> list[tuple]:
    """The per-company rows as shown: a ledger that agrees is not ``reconciled`` until the ERP approves."""
    return [
        (row[0], "awaiting the ERP's approval" if row[1] == "reconciled" and row[8] != "all approved" else row[1],
         *row[2:])
        for row in summary
    ]  # fmt: skip


def build_pack(
    conn: psycopg.Connection,
    period: str,
    vendor: str,
    accounts: PostingAccounts,
    root: Path,
    *,
    docs_site: Path | None = None,
    run_names: Sequence[str] = (),
    now: dt.datetime | None = None,
) -> Path:
    """Write the pack of ``period`` under ``root/<period>`` and refresh ``root/index.html``."""
    generated = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    period_dir = root / period
    period_dir.mkdir(parents=True, exist_ok=True)
    params = {"period": period, "vendor": vendor, "prefix": f"{period}/%", "clearing": accounts.clearing}
    with conn.transaction():
        conn.execute(sqlfile.step(SQL, "snapshot"))  # the page and every file read one snapshot of the period
        page = _write_pack(conn, period, vendor, params, period_dir, generated, docs_site, list(run_names))
    write_manifest(period_dir)
    _index(root)
    return page


def _write_pack(
    conn: psycopg.Connection,
    period: str,
    vendor: str,
    params: dict[str, Any],
    period_dir: Path,
    generated: dt.datetime,
    docs_site: Path | None,
    run_names: list[str],
) -> Path:
    """The page, its PDF and the CSVs, read in the caller's transaction. The whole chain (a million
    claim lines at month end) is computed by PostgreSQL on a thread of its own while WeasyPrint renders
    the PDF here: the page needs only the chain's head and totals, which are read first."""
    totals_sql, exceptions_sql, items_sql = (
        sqlfile.step(SQL, name) for name in ("totals", "exceptions", "claim_items")
    )
    vat_sql, findings_sql = sqlfile.step(SQL, "input_vat"), sqlfile.step(SQL, "invoice_findings")
    matrix_sql = sqlfile.step("matrix/pack", "in_force")
    summary = conn.execute(sqlfile.step(SQL, "summary"), params).fetchall()
    last_run = conn.execute(sqlfile.step(SQL, "reconcile_run"), params).fetchone()
    rollups = conn.execute(sqlfile.step(SQL, "rollups"), params).fetchall()
    vouchers = conn.execute(sqlfile.step(SQL, "vouchers"), params).fetchall()
    totals = conn.execute(totals_sql, params).fetchall()
    exceptions = conn.execute(exceptions_sql, params).fetchall()
    items = conn.execute(items_sql, params).fetchall()
    vat = conn.execute(vat_sql, params).fetchall()
    findings = conn.execute(findings_sql, params).fetchall()
    matrix = conn.execute(sqlfile.step(SQL, "first_rows").format(matrix_sql, sql.Literal(HTML_ROWS)), params).fetchall()
    head = sqlfile.step(SQL, "chain_head").format(sql.Literal(HTML_ROWS))
    chain = conn.execute(_chain("chain", head), params).fetchall()
    chain_count, chain_amount, chain_dr, chain_cr = sqlfile.one(conn.execute(_chain("chain_totals"), params))
    charts = build_charts(conn, period, vendor, period_dir)

    status = period_status(summary, last_run)
    links = _validation_links(period_dir, docs_site, run_names)
    stamp = generated.isoformat().replace("+00:00", "Z")
    parts = [
        f"<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'><title>Auditors' pack {period}</title>{CSS}",
        f"<meta name='generated' content='{stamp}'></head><body>",
        f"<h1>Auditors' pack — period {html.escape(period)} — ERP {html.escape(vendor)}</h1>",
        f"<p>Generated at <b><time datetime='{stamp}'>{stamp}</time></b> (UTC). "
        f"Status: <b class='{'ok' if status in ('reconciled', 'no claims in the period') else 'bad'}'>"
        f"{html.escape(status)}</b>. "
        "Amounts in CNY, exact to the cent. Files: <a href='totals.csv'>totals.csv</a>, "
        "<a href='differences.csv'>differences.csv</a>, <a href='claim_items.csv'>claim_items.csv</a>, "
        "<a href='exceptions.csv'>exceptions.csv</a>, <a href='chain.csv'>chain.csv</a>, "
        "<a href='input_vat.csv'>input_vat.csv</a>, <a href='invoice_findings.csv'>invoice_findings.csv</a>, "
        f"<a href='{PDF}'>{PDF}</a> (printable), <a href='{MANIFEST}'>{MANIFEST}</a> (SHA-256 of every file: "
        f"<code>sha256sum -c {MANIFEST}</code> in this folder). <a href='../index.html'>All periods</a></p>",
        _last_run(last_run),
        "<h2>Reconciliation per company</h2>",
        table(
            [
                "company",
                "status",
                "claims",
                "claims total",
                "posted total",
                "ledger total",
                "explained difference",
                "unexplained difference",
                "ERP approval (vouchers not yet audited / posted)",
                "claims unmatched",
                "reconciled at",
                "run",
            ],
            _summary_rows(summary),
            numeric={2, 3, 4, 5, 6, 7, 9},
        ),
        "<h2>Rollup runs</h2>",
        table(
            ["company", "version", "action", "claims", "claim lines", "total", "vouchers sent", "at"],
            rollups,
            numeric={3, 4, 5},
        ),
        "<h2>Month-end vouchers in the ERP</h2>",
        table(["company", "kind", "external ref", "number", "state", "total", "date"], vouchers, numeric={5}),
        "<h2>Totals per account / cost center / project</h2>",
        table(TOTALS_COLUMNS, totals, numeric={6, 7, 8, 9, 10, 11}),
        "<h2>Differences</h2>",
        table(TOTALS_COLUMNS, [row for row in totals if row[12]], numeric={6, 7, 8, 9, 10, 11}),
        "<h2>Claims held by an exception (the ERP's refusals among them)</h2>"
        "<p class='note'>One row per claim-level item of the period's claims: the reason holds the ERP's "
        "refusal text; who released or decided it, and the note they gave.</p>",
        table(
            [
                "claim",
                "company",
                "claim state",
                "system",
                "reason code",
                "reason",
                "status",
                "decision",
                "decided by",
                "note",
                "decided at",
                "first seen",
                "times seen",
            ],
            items,
            numeric={12},
        ),
        "<h2>Input VAT per invoice type and rate</h2>"
        "<p class='note'>The invoices of the period's posted claims. <i>deducted</i> is the input VAT debited "
        "to the input VAT account (the printed tax of a 专用发票; 航空 (票价 + 燃油附加费) ÷ 1.09 × 9 %, 铁路 "
        "票面金额 ÷ 1.09 × 9 %, 公路/水路 ÷ 1.03 × 3 %); nothing on entertainment or welfare.</p>",
        table(
            ["invoice type", "VAT rule", "rate", "invoices", "net", "tax", "total", "deducted"],
            vat,
            numeric={3, 4, 5, 6, 7},
        ),
        "<h2>Invoice findings (duplicates among them)</h2>"
        "<p class='note'>Invoices of the period's claims that validation refused; a duplicate names the claim "
        "already holding the invoice. Each holds its claim in the exception queue.</p>",
        table(
            [
                "claim",
                "claim state",
                "line",
                "invoice",
                "invoice type",
                "invoice date",
                "seller",
                "seller tax id",
                "total",
                "reason code",
                "finding",
            ],
            findings,
            numeric={8},
        ),
        *_matrix_section(matrix),
        _accruals(conn, params, period_dir),
        "<h2>Exception queue history</h2>",
        table(
            [
                "item",
                "system",
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
                "note",
                "detail",
            ],
            exceptions,
        ),
        f"<h2>Claim → voucher → ledger</h2><p class='note'>{min(chain_count, HTML_ROWS)} of {chain_count} claim "
        "lines shown; <a href='chain.csv'>chain.csv</a> has all. The ERP reports movements per account, cost "
        "center and project, so a claim's ledger line is the clearing / expense line of its dimensions; several "
        "claim lines share one ledger line, whose amount is shown once, on the first of them (the totals count "
        "it once).</p>",
        table(
            CHAIN_COLUMNS,
            chain,
            numeric={4, 14, 15},
            total=("total", f"{chain_count} lines", "", "", chain_amount, *[""] * 9, chain_dr, chain_cr),
        ),
        "<h2>Expense distribution and trend</h2>",
        *(chart(c) for c in charts),
        "<h2>Data health validations (Great Expectations Data Docs)</h2>",
        "<ul>"
        + "".join(f"<li><a href='{html.escape(href)}'>{html.escape(suite)}</a></li>" for suite, href in links)
        + "</ul>"
        if links
        else "<p class='note'>No validation of this period in the Data Docs yet.</p>",
        "</body></html>",
    ]
    page = period_dir / "index.html"
    page.write_text("\n".join(parts), encoding="utf-8")
    conn.execute(sqlfile.step(SQL, "chain_drop"))
    with ThreadPoolExecutor(1, thread_name_prefix="pack-chain") as pool:  # the server's work, waited on without the GIL
        chain_table = pool.submit(conn.execute, sqlfile.step(SQL, "chain_table").format(_chain("chain")), params)
        write_pdf(page, period_dir / PDF)
        chain_table.result()
    chain_columns = [c.name for c in conn.execute(sqlfile.step(SQL, "chain_columns")).description or ()][1:]
    chain_rows = sqlfile.step(SQL, "chain_rows").format(sql.SQL(", ").join(map(sql.Identifier, chain_columns)))
    _copy_csv(conn, chain_rows, {}, period_dir / "chain.csv")
    conn.execute(sqlfile.step(SQL, "chain_drop"))
    _copy_csv(conn, totals_sql, params, period_dir / "totals.csv")
    _copy_csv(conn, sqlfile.step(SQL, "differences").format(totals_sql), params, period_dir / "differences.csv")
    _copy_csv(conn, exceptions_sql, params, period_dir / "exceptions.csv")
    _copy_csv(conn, items_sql, params, period_dir / "claim_items.csv")
    _copy_csv(conn, vat_sql, params, period_dir / "input_vat.csv")
    _copy_csv(conn, findings_sql, params, period_dir / "invoice_findings.csv")
    _copy_csv(conn, matrix_sql, params, period_dir / "approval_matrix.csv")
    return page


def _chain(step: str, head: sql.Composable | None = None) -> sql.Composed:
    """Step ``chain`` or ``chain_totals`` over the chain's sources: every claim line, or ``head``."""
    return sqlfile.step(SQL, step).format(sqlfile.step(SQL, "chain_sources").format(head or sql.SQL("")))


def _matrix_section(matrix: list[tuple]) -> list[str]:
    """The approval matrix in force at the period's end: its version, then its first rows."""
    head = "<h2>Approval matrix in force (主管 → 财务 → 总监)</h2>"
    if not matrix:
        return [head, "<p class='note'>No approval matrix was derived before the period ended.</p>"]
    version, derived = matrix[0][0], matrix[0][1]
    note = (
        f"<p class='note'>Version {version}, derived {html.escape(str(derived))}; the first {len(matrix)} steps "
        "shown, <a href='approval_matrix.csv'>approval_matrix.csv</a> has all. "
        "A band holds the amounts above its low and up to its high; 主管 is the submitter's manager in the "
        "OA; nobody approves their own document (their step goes to their manager).</p>"
    )
    columns = ["company", "cost center", "category", "above", "up to", "step", "role", "approver", "name", "active"]
    return [head, note, table(columns, [row[2:] for row in matrix], numeric={3, 4})]


ACCRUAL_COLUMNS = ["accrual voucher", "company", "period", "number", "booking", "requisition", "employee",
                   "cost center", "project", "category", "amount", "currency"]  # fmt: skip


def _accruals(conn: psycopg.Connection, params: dict[str, Any], period_dir: Path) -> str:
    """``accruals.csv`` and the page's section: the accruals open at the period's end."""
    query = sqlfile.step("accruals/accruals", "open_at")
    wanted = {**params, "company": None}
    _copy_csv(conn, query, wanted, period_dir / "accruals.csv")
    rows = conn.execute(query, wanted).fetchall()
    total = sum((row[10] for row in rows), Decimal(0))
    return (
        "<h2>Travel bookings accrued (预提), open at the period's end</h2><p class='note'>Accrual vouchers "
        "(Dr travel expense / Cr accrued liabilities) of this period or earlier that no claim has reversed by "
        "its end; <a href='accruals.csv'>accruals.csv</a>. Each is reversed once the trip's claim is posted.</p>"
        + table(ACCRUAL_COLUMNS, rows, numeric={10}, total=("total", f"{len(rows)} open", *[""] * 8, total, ""))
    )


def _last_run(last_run: tuple | None) -> str:
    if last_run is None:  # reconciled outside a month-end run (or never): the tables say what there is
        return ""
    run_key, status, companies, run_status, at = last_run
    return (
        f"<p class='note'>Latest reconciliation: run {html.escape(run_key)} ({html.escape(run_status)}) at "
        f"{html.escape(str(at))}: {html.escape(str(status))}, {companies} compan{'y' if companies == 1 else 'ies'}.</p>"
    )


def _index(root: Path) -> None:
    periods = sorted((p.name for p in root.iterdir() if (p / "index.html").exists()), reverse=True)
    items = "".join(f"<li><a href='{p}/index.html'>{p}</a></li>" for p in periods)
    (root / "index.html").write_text(
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Auditors' packs</title>{CSS}</head><body>"
        f"<h1>Auditors' packs (month end)</h1><ul>{items}</ul></body></html>",
        encoding="utf-8",
    )
