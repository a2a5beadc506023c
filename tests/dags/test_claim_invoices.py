"""Invoices and tax end to end, for each ERP: claims filed in the 合思 sandbox with their invoices (its
documented invoice entities), claim_events posting the input VAT to the cent, a second claim of an
invoice already claimed queued as a duplicate, and the month reconciling with the input VAT account."""

from __future__ import annotations

import csv
from decimal import Decimal

import pendulum
import pytest

from claimkit import (
    CLAIMS,
    ERPS,
    PULL,
    audit_in_erp,
    claim_row,
    claimant,
    cost_centers,
    fee_type_off,
    fee_type_on,
    open_claim_items,
    prepare_world,
    run_ok,
    start_receiver,
    voucher_row,
)
from expense_sync.erp.accounts import posting_accounts
from expense_sync.invoices.rules import tax_rules
from opskit import results_dir
from testkit import step_counts

MONTH_END = "expense_rollup_monthly"
DAY = "2026-10-15"
BUYER = "91110108318283928K"  # the sandbox company's 纳税人识别号 (tax_rules.yaml)
HOTEL = "91440300892254961D"  # a seller tax id from 合思's own invoice example


@pytest.fixture
def receiver(mdm, sandboxes):
    running = start_receiver()
    sandboxes.control("ekuaibao").mutate("configure_outbound", url=running.ekuaibao_url)
    yield running
    sandboxes.control("ekuaibao").mutate("configure_outbound", url=None)
    running.stop()


@pytest.fixture(params=ERPS)
def erp(request, dagbag, mdm, sandboxes, monkeypatch, receiver):
    prepare_world(dagbag, mdm, sandboxes, monkeypatch, request.param)
    monkeypatch.setenv("AIRFLOW_VAR_EXPENSE_SYNC_FIRST_PERIOD", "2025-01")
    return request.param


def invoice(sandboxes, object_id: str, **fields) -> str:
    return sandboxes.control("ekuaibao").mutate("seed_invoice", object_id=object_id, **fields)


def claim(sandboxes, mdm, lines: list[dict], title: str) -> str:
    centers = cost_centers(mdm)
    for n, line in enumerate(lines):
        line.setdefault("cost_center", centers[n % len(centers)])
    flow = sandboxes.control("ekuaibao").mutate(
        "seed_claim", staff_code=claimant(mdm), lines=lines, title=title, state="paying", expense_date=DAY
    )
    return flow["form"]["code"]


def vat_debits(voucher: dict, account: str) -> Decimal:
    return sum((Decimal(line["debit"]) for line in voucher["lines"] if line["account"] == account), Decimal(0))


def test_input_vat_is_posted_to_the_cent_a_reused_invoice_is_queued_and_the_month_reconciles(
    dagbag, mdm, sandboxes, erp
):
    rules, accounts = tax_rules(erp, "{}"), posting_accounts(erp, "{}")
    travel = fee_type_on(mdm, rules.passenger_transport_accounts)
    office = fee_type_off(
        mdm, rules.passenger_transport_accounts + rules.non_deductible_accounts + rules.supplier_required_accounts
    )
    hotel_invoice = invoice(
        sandboxes,
        "invoice",
        category="DIGITAL_SPECIAL",
        code="044032100111",
        number="13415524",
        date="2026-10-12",
        net="1000.00",
        tax="60.00",
        rate="6%",
        seller_name="深圳静安酒店有限公司",
        seller_tax_id=HOTEL,
        buyer_name="北京合思信息技术有限公司",
        buyer_tax_id=BUYER,
        verified=True,
    )
    flight = invoice(
        sandboxes,
        "flightItinerary",
        number="7812431511988",
        date="2026-10-10",
        fare="1130.00",
        fuel="60.00",
        caac_fund="50.00",
        passenger="荆雄",
    )
    train = invoice(
        sandboxes, "train", number="10610310291123B054158", date="2026-10-13", amount="553.00", passenger="高美丽"
    )
    plain = invoice(
        sandboxes,
        "invoice",
        category="PAPER_NORMAL",
        code="011001900411",
        number="47211517",
        date="2026-10-11",
        net="131.86",
        tax="17.14",
        rate="13%",
        seller_name="北京京东拓帆贸易有限公司",
        seller_tax_id="91110113MA01ADGN8R",
        buyer_name="北京合思信息技术有限公司",
        buyer_tax_id=BUYER,
    )
    special = claim(
        sandboxes, mdm, [{"fee_type_code": travel, "amount": "1060.00", "invoices": [hotel_invoice]}], "深圳出差住宿"
    )
    tickets = claim(
        sandboxes,
        mdm,
        [
            {"fee_type_code": travel, "amount": "1240.00", "invoices": [flight]},
            {"fee_type_code": travel, "amount": "553.00", "invoices": [train]},
        ],
        "北京—深圳往返",
    )
    normal = claim(sandboxes, mdm, [{"fee_type_code": office, "amount": "149.00", "invoices": [plain]}], "办公用品")
    again = claim(
        sandboxes,
        mdm,
        [{"fee_type_code": travel, "amount": "1060.00", "invoices": [hotel_invoice]}],
        "深圳出差住宿（重复）",
    )

    run_ok(dagbag, CLAIMS)

    # the 专票 deducts its printed tax; 行程单 (1130 + 60) / 1.09 × 9 % = 98.26; 铁路 553 / 1.09 × 9 % = 45.66
    expected = {special: Decimal("60.00"), tickets: Decimal("143.92"), normal: Decimal("0")}
    for claim_no, vat in expected.items():
        voucher = voucher_row(mdm, claim_no)
        assert vat_debits(voucher, accounts.input_vat) == vat, (claim_no, voucher["lines"])
        assert voucher["total"] == claim_row(mdm, claim_no)["total_amount"]
    lines = mdm.execute(
        """SELECT l.amount, l.input_vat FROM fin.claim_line l JOIN fin.claim c USING (claim_id)
            WHERE c.claim_no = %s ORDER BY line_no""",
        (tickets,),
    ).fetchall()
    assert lines == [(Decimal("1141.74"), Decimal("98.26")), (Decimal("507.34"), Decimal("45.66"))]

    assert open_claim_items(mdm)[again] == ("quarantine", "invoice_duplicate")
    assert claim_row(mdm, again)["state"] == "invalid"
    detail = mdm.execute(
        "SELECT reason FROM sync.exception_item WHERE record_key = %s AND status <> 'resolved'", (again,)
    ).fetchone()[0]
    assert f"already claimed on {special}" in detail
    found = mdm.execute(
        """SELECT i.invoice_type, i.deductible, i.finding FROM fin.claim_invoice i JOIN fin.claim c USING (claim_id)
            WHERE c.claim_no = %s""",
        (again,),
    ).fetchall()
    assert [(t, d, f.split(":")[0]) for t, d, f in found] == [("vat_special", Decimal("0"), "invoice_duplicate")]

    for claim_no in expected:
        audit_in_erp(sandboxes, erp, claim_no, voucher_row(mdm, claim_no)["remote_id"])
    run_ok(dagbag, PULL)
    run = dagbag.dags[MONTH_END].test(
        logical_date=pendulum.datetime(2026, 11, 1, 3, tz="Asia/Shanghai"), run_conf={"period": None}
    )
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    assert str(run.state) == "success", states
    assert step_counts(mdm, "reconcile")["status"] == "reconciled"
    [(claims, posted, ledger)] = mdm.execute(
        """SELECT l.claims_amount, l.posted_debit - l.posted_credit, l.ledger_debit - l.ledger_credit
             FROM fin.reconciliation_line l WHERE l.account_role = 'input_vat'"""
    ).fetchall()
    assert claims == posted == ledger == Decimal("203.92")

    pack = results_dir() / "auditors_pack" / "2026-10"
    with (pack / "input_vat.csv").open(encoding="utf-8") as f:
        vat = {(r["invoice_type"], r["rate"]): Decimal(r["deducted"]) for r in csv.DictReader(f)}
    assert vat == {
        ("增值税专用发票", "6 %"): Decimal("60.00"),
        ("航空运输电子客票行程单", ""): Decimal("98.26"),
        ("铁路电子客票", ""): Decimal("45.66"),
        ("增值税普通发票", "13 %"): Decimal("0.00"),
    }
    with (pack / "invoice_findings.csv").open(encoding="utf-8") as f:
        [finding] = list(csv.DictReader(f))
    assert (finding["claim_no"], finding["reason_code"]) == (again, "invoice_duplicate")
    assert "invoice_duplicate" in (pack / "index.html").read_text(encoding="utf-8")
