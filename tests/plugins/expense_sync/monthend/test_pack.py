"""The auditors' pack against real PostgreSQL and the ERP sandboxes over HTTP: what it says agrees with
the database to the cent (chain totals, charts, claim-level exceptions, the ERP's approval), and its
manifest and PDF are what they claim to be."""

from __future__ import annotations

import csv
import hashlib
import re
import subprocess
import zlib
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

from psycopg import sql

from expense_sync.claims.post import post_vouchers
from expense_sync.hooks.registry import erp_hook
from expense_sync.monthend import charts
from expense_sync.monthend import pack as pack_module
from expense_sync.monthend.manifest import MANIFEST, verify_manifest
from expense_sync.monthend.pack import build_pack
from expense_sync.monthend.reconcile import reconcile_period
from expense_sync.monthend.rollup import refresh_approvals, rollup_period
from expense_sync.store import sqlfile
from expense_sync.store.queue import resolve_item
from monthkit import CHART, accounts, make_claims

PERIOD = "2025-06"
VENDOR = "kingdee"
RUN = "expense_rollup_monthly/pack"


def close_and_pack(mdm, root: Path) -> Path:
    hook = erp_hook(VENDOR)
    rollup_period(mdm, hook, PERIOD, accounts(VENDOR), RUN)
    reconcile_period(mdm, hook, PERIOD, accounts(VENDOR), RUN)
    return build_pack(mdm, PERIOD, VENDOR, accounts(VENDOR), root).parent


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def amount(value: str) -> Decimal:
    return Decimal(value) if value else Decimal(0)


def test_the_chain_counts_each_ledger_line_once_and_its_totals_tie(mdm, sandboxes, tmp_path):
    make_claims(mdm, sandboxes, VENDOR, PERIOD, count=12)
    pack = close_and_pack(mdm, tmp_path)

    chain = rows(pack / "chain.csv")
    keys = Counter((r["company"], r["gl_account"], r["cost_center"], r["project"]) for r in chain)
    assert max(keys.values()) > 1  # claim lines do share ledger lines: repeating the amount would double-count
    shown = defaultdict(list)
    for r in chain:
        shown[(r["company"], r["gl_account"], r["cost_center"], r["project"])].append(r["expense_ledger_debit"])
    assert all(sum(1 for v in values if v) == 1 for values in shown.values())  # once per ledger line
    ledger = mdm.execute(
        "SELECT l.account, COALESCE(l.project, ''), l.cost_center, l.ledger_debit, l.ledger_credit "
        "FROM fin.reconciliation_latest r JOIN fin.reconciliation_line l USING (reconciliation_id) "
        "WHERE l.account_role = 'expense'"
    ).fetchall()
    by_key = {(a, c, p): (d, cr) for a, p, c, d, cr in ledger}
    for (_, account, cc, project), values in shown.items():
        assert amount(next(v for v in values if v)) == by_key[(account, cc, project)][0]
    claims_total = mdm.execute("SELECT sum(amount) FROM fin.claim_line").fetchone()[0]
    ledger_dr = sum(amount(r["expense_ledger_debit"]) for r in chain)
    assert ledger_dr == sum(d for d, _ in by_key.values()) == claims_total == sum(amount(r["amount"]) for r in chain)
    page = (pack / "index.html").read_text(encoding="utf-8")
    assert f"<td>{len(chain)} lines</td>" in page and f'<td class="num">{claims_total}</td>' in page
    # the page's total row (read apart from chain.csv, before it) is the CSV's sums, cell by cell
    total_row = re.search(r"<tr class=.total.>(.*?)</tr>", page[page.index("Claim → voucher → ledger") :]).group(1)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", total_row)
    ledger_cr = sum(amount(r["expense_ledger_credit"]) for r in chain)
    assert [cells[1], Decimal(cells[4]), Decimal(cells[-2]), Decimal(cells[-1])] == [
        f"{len(chain)} lines", claims_total, ledger_dr, ledger_cr,
    ]  # fmt: skip

    totals = rows(pack / "totals.csv")
    assert {r["explained"] for r in totals if amount(r["difference"]) == 0} == {"no difference"}
    assert "False" not in {r["explained"] for r in totals}


def audit_rollups(mdm, sandboxes) -> None:
    """The ERP's accountant audits the rollup vouchers; the month end's re-run learns it from the ERP."""
    refs = [r[0] for r in mdm.execute("SELECT external_ref FROM fin.voucher WHERE kind = 'rollup' AND state = 'draft'")]
    for ref in refs:
        sandboxes.control(VENDOR).mutate("audit_voucher", external_ref=ref)
    assert refs and refresh_approvals(mdm, erp_hook(VENDOR), PERIOD) == {"audited": len(refs)}
    assert refresh_approvals(mdm, erp_hook(VENDOR), PERIOD) == {}  # asked once: nothing awaits approval now


def status_of(pack: Path) -> str:
    page = (pack / "index.html").read_text(encoding="utf-8")
    return re.search(r"Status: <b class='\w+'>([^<]*)</b>", page).group(1)


def test_the_period_is_reconciled_only_once_the_erp_approved_the_rollup(mdm, sandboxes, tmp_path):
    make_claims(mdm, sandboxes, VENDOR, PERIOD, count=4)
    pack = close_and_pack(mdm, tmp_path)
    [(ref, state)] = mdm.execute("SELECT external_ref, state FROM fin.voucher WHERE kind = 'rollup'").fetchall()
    assert state == "draft"
    assert mdm.execute("SELECT status FROM fin.reconciliation_latest").fetchone() == ("reconciled",)
    assert status_of(pack).startswith("not reconciled yet")
    page = (pack / "index.html").read_text(encoding="utf-8")
    assert f"{ref} draft" in page and "awaiting the ERP&#x27;s approval" in page
    assert {r["status"] for r in rows(pack / "totals.csv")} == {"awaiting the ERP's approval"}

    audit_rollups(mdm, sandboxes)
    build_pack(mdm, PERIOD, VENDOR, accounts(VENDOR), tmp_path)

    assert status_of(pack) == "reconciled"
    assert {r["status"] for r in rows(pack / "totals.csv")} == {"reconciled"}
    assert "all approved" in (pack / "index.html").read_text(encoding="utf-8")


def pending_claim(mdm, vendor: str, claim_no: str, period: str) -> None:
    """A validated claim waiting for its voucher, as claim_events leaves it."""
    chart = CHART[vendor]
    claim_id = mdm.execute(
        """INSERT INTO fin.claim (claim_no, flow_id, company, employee_no, title, claim_date, period, currency,
                                  total_amount, expense_state, state, content_hash, raw)
           VALUES (%s, %s, %s, 'E1001', '差旅报销', %s, %s, 'CNY', 88.00, 'paid', 'voucher_pending', 'h', '{}')
           RETURNING claim_id""",
        (claim_no, f"ID{claim_no}", chart["company"], f"{period}-05", period),
    ).fetchone()[0]
    mdm.execute(
        """INSERT INTO fin.claim_line (claim_id, line_no, fee_type_code, gl_account, cost_center, amount)
           VALUES (%s, 1, 'FT01', %s, %s, 88.00)""",
        (claim_id, chart["accounts"][0], chart["cost_centers"][0]),
    )


def test_the_erps_refusals_of_the_periods_claims_are_listed_with_who_released_them_and_why(mdm, sandboxes, tmp_path):
    vendor, period, company = "sap", "2025-07", CHART["sap"]["company"]
    make_claims(mdm, sandboxes, vendor, period, count=2)
    pending_claim(mdm, vendor, "B25070901", period)
    pending_claim(mdm, vendor, "B25080901", "2025-08")  # another month's refusal: not this pack's
    for month in (period, "2025-08"):  # the ERP's accountants closed the months: it refuses their vouchers
        sandboxes.control(vendor).mutate("close_period", company=company, period=month)
    counts = post_vouchers(mdm, erp_hook(vendor), accounts(vendor), "claim_events/refused")
    assert counts["refused"] == 2, counts
    item_id, reason = mdm.execute(
        "SELECT item_id, reason FROM sync.exception_item WHERE record_key = 'B25070901' "
        "AND reason_code = 'voucher_refused'"
    ).fetchone()
    assert reason.startswith("the ERP refused the claim's voucher: ") and len(reason) > 40  # with the ERP's text
    note = "posted by hand in the reopened period (ticket FI-2291)"
    resolve_item(mdm, item_id, decision="released", actor="finance", note=note)

    pack = build_pack(mdm, period, vendor, accounts(vendor), tmp_path).parent

    [item] = rows(pack / "claim_items.csv")
    assert (item["claim_no"], item["reason_code"], item["reason"]) == ("B25070901", "voucher_refused", reason)
    assert (item["status"], item["decision"], item["decided_by"], item["note"]) == (
        "resolved",
        "released",
        "finance",
        note,
    )
    events = [r for r in rows(pack / "exceptions.csv") if r["record_key"] == "B25070901"]
    assert [(e["action"], e["actor"], e["note"]) for e in events] == [
        ("queued", "system", ""),
        ("decided", "finance", note),
    ]
    assert not [r for r in rows(pack / "exceptions.csv") if r["record_key"] == "B25080901"]
    page = (pack / "index.html").read_text(encoding="utf-8")
    assert note in page and "B25080901" not in page


def test_the_charts_draw_the_numbers_of_the_database(mdm, sandboxes, tmp_path, monkeypatch):
    claims = make_claims(mdm, sandboxes, VENDOR, PERIOD, count=10)
    make_claims(mdm, sandboxes, VENDOR, "2025-05", count=3, seed=7, prefix="C")
    pack = close_and_pack(mdm, tmp_path)

    for dimension, column in (("cost_center", "cost_center"), ("category", "gl_account"), ("project", "project")):
        by_month = {
            month: dict(
                mdm.execute(
                    f"SELECT COALESCE(l.{column}, '(no project)'), sum(l.amount) FROM fin.claim c "
                    "JOIN fin.claim_line l USING (claim_id) WHERE c.period = %s GROUP BY 1",
                    (month,),
                ).fetchall()
            )
            for month in (PERIOD, "2025-05")
        }
        expected, before = by_month[PERIOD], by_month["2025-05"]
        numbers = rows(pack / "charts" / f"{dimension}.csv")
        label = next(iter(numbers[0]))
        assert {r[label]: Decimal(r["amount"]) for r in numbers if Decimal(r["amount"])} == expected, dimension
        assert {r[label]: Decimal(r["month before"]) for r in numbers if Decimal(r["month before"])} == before
        assert all(Decimal(r["change"]) == Decimal(r["amount"]) - Decimal(r["month before"]) for r in numbers)
        svg = (pack / "charts" / f"{dimension}.svg").read_text(encoding="utf-8")
        assert svg.startswith("<svg") and len(re.findall(r"role-mark|<path", svg)) >= len(expected)
    trend = {r["period"]: r for r in rows(pack / "charts" / "trend.csv")}
    assert len(trend) == 12 and list(trend)[-1] == PERIOD
    month_total = sum(c["total"] for c in claims)
    may_total = mdm.execute("SELECT sum(total_amount) FROM fin.claim WHERE period = '2025-05'").fetchone()[0]
    assert Decimal(trend[PERIOD]["amount"]) == month_total and Decimal(trend["2025-05"]["amount"]) == may_total
    assert Decimal(trend[PERIOD]["change on the month before"]) == month_total - may_total
    assert Decimal(trend["2025-04"]["amount"]) == 0
    page = (pack / "index.html").read_text(encoding="utf-8")
    assert "charts/cost_center.svg" in page and "charts/trend.svg" in page

    monkeypatch.setattr(charts, "TOP", 1)  # more cost centers than a chart draws: the rest is one bar
    build_pack(mdm, PERIOD, VENDOR, accounts(VENDOR), tmp_path)
    by_cc = mdm.execute(
        "SELECT l.cost_center, sum(l.amount) FROM fin.claim c JOIN fin.claim_line l USING (claim_id) "
        "WHERE c.period = %s GROUP BY 1 ORDER BY 2 DESC",
        (PERIOD,),
    ).fetchall()
    assert len(rows(pack / "charts" / "cost_center.csv")) == len(by_cc) == 3  # the CSV keeps every row
    rest = sum(a for _, a in by_cc[1:])
    page = (pack / "index.html").read_text(encoding="utf-8")
    assert f'<td>2 others</td><td></td><td class="num"></td><td class="num">{rest}</td>' in page
    svg = (pack / "charts" / "cost_center.svg").read_text(encoding="utf-8")
    assert "2 others" in svg and by_cc[0][0] in svg and by_cc[2][0] not in svg


def pdf_page_count(data: bytes) -> int:
    """/Count of the page tree, read from the PDF's objects (plain or in compressed object streams)."""
    texts = [data]
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            texts.append(zlib.decompress(stream))
        except zlib.error:
            continue
    counts = [int(m) for t in texts for m in re.findall(rb"/Type\s*/Pages\b[^>]*?/Count\s+(\d+)", t, re.S)]
    counts += [int(m) for t in texts for m in re.findall(rb"/Count\s+(\d+)[^>]*?/Type\s*/Pages\b", t, re.S)]
    return max(counts, default=0)


def test_the_manifest_detects_tampering_and_the_pdf_is_a_pdf(mdm, sandboxes, tmp_path):
    make_claims(mdm, sandboxes, VENDOR, PERIOD, count=5)
    pack = close_and_pack(mdm, tmp_path)

    page = (pack / "index.html").read_text(encoding="utf-8")
    assert re.search(r"Generated at <b><time datetime='\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ'>", page)
    listed = dict(reversed(line.split("  ", 1)) for line in (pack / MANIFEST).read_text().splitlines())
    files = {p.relative_to(pack).as_posix() for p in pack.rglob("*") if p.is_file() and p.name != MANIFEST}
    assert set(listed) == files and {"index.html", "pack.pdf", "chain.csv", "charts/trend.svg"} <= files
    for name, hexdigest in listed.items():
        assert hashlib.sha256((pack / name).read_bytes()).hexdigest() == hexdigest, name
    assert verify_manifest(pack) == []
    assert subprocess.run(["sha256sum", "--quiet", "-c", MANIFEST], cwd=pack).returncode == 0

    pdf = (pack / "pack.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert pdf_page_count(pdf) > 0

    with (pack / "totals.csv").open("a", encoding="utf-8") as f:
        f.write("001,reconciled,6602.01,expense,,,1.00\n")  # a line slipped in after the fact
    (pack / "charts" / "extra.csv").write_text("x\n")
    assert verify_manifest(pack) == ["changed: totals.csv", "not listed: charts/extra.csv"]
    assert subprocess.run(["sha256sum", "--quiet", "-c", MANIFEST], cwd=pack, capture_output=True).returncode != 0


def test_the_chains_head_is_the_first_rows_of_the_whole_chain(mdm, sandboxes, tmp_path):
    """The page shows the chain's head, read apart from chain.csv: for any length, the head's rows are
    the whole chain's first rows, the ledger amount on the same row (a ledger line's first claim line)."""
    make_claims(mdm, sandboxes, VENDOR, PERIOD, count=12)
    close_and_pack(mdm, tmp_path)
    params = {"period": PERIOD, "vendor": VENDOR, "prefix": f"{PERIOD}/%", "clearing": accounts(VENDOR).clearing}
    whole = mdm.execute(pack_module._chain("chain"), params).fetchall()
    assert len(whole) > 12 and sum(1 for r in whole if r[14] is not None) < len(whole)  # shared ledger lines
    for size in (1, 2, 5, 13, len(whole), len(whole) + 5):
        head = sqlfile.step(pack_module.SQL, "chain_head").format(sql.Literal(size))
        assert mdm.execute(pack_module._chain("chain", head), params).fetchall() == whole[:size]
