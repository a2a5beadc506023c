"""Each invoice check of claim validation, through claim_events against the 合思 and Kingdee sandboxes:
one claim per failure, each queued with its reason and detail, while a good claim of the same batch
is posted; the input VAT is decided by the expense (none on entertainment, the printed tax of an
electronic 普票 only on passenger transport)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from claimkit import (
    CLAIMS,
    claim_row,
    claimant,
    cost_centers,
    fee_type_on,
    open_claim_items,
    prepare_world,
    run_ok,
)
from expense_sync.invoices.rules import tax_rules

DAY = "2026-10-15"
BUYER = "91110108318283928K"
OTHER = "91440300892254961D"


@pytest.fixture
def world(dagbag, mdm, sandboxes, monkeypatch):
    prepare_world(dagbag, mdm, sandboxes, monkeypatch, "kingdee")
    return sandboxes.control("ekuaibao")


def special(world, number: str, **fields) -> str:
    args = {
        "category": "DIGITAL_SPECIAL",
        "code": "044032100111",
        "number": number,
        "date": "2026-10-12",
        "net": "1000.00",
        "tax": "60.00",
        "rate": "6%",
        "seller_name": "深圳静安酒店有限公司",
        "seller_tax_id": OTHER,
        "buyer_name": "北京合思信息技术有限公司",
        "buyer_tax_id": BUYER,
        "verified": True,
        **fields,
    }
    return world.mutate("seed_invoice", object_id="invoice", **args)


def file(world, mdm, fee: str, amount: str, invoices: list[str]) -> str:
    line = {"fee_type_code": fee, "amount": amount, "cost_center": cost_centers(mdm)[0], "invoices": invoices}
    flow = world.mutate(
        "seed_claim", staff_code=claimant(mdm), lines=[line], title="发票检查", state="paying", expense_date=DAY
    )
    return flow["form"]["code"]


def test_each_bad_invoice_holds_only_its_claim_with_its_reason(dagbag, mdm, world):
    rules = tax_rules("kingdee", "{}")
    travel, welfare = (
        fee_type_on(mdm, rules.passenger_transport_accounts),
        fee_type_on(mdm, rules.non_deductible_accounts),
    )
    meeting = fee_type_on(mdm, rules.supplier_required_accounts)
    [supplier] = mdm.execute(
        "SELECT credit_code FROM mdm.supplier WHERE active AND credit_code_valid LIMIT 1"
    ).fetchone()
    claims = {
        "buyer_tax_id_mismatch": file(world, mdm, travel, "1060.00", [special(world, "10000001", buyer_tax_id=OTHER)]),
        "tax_arithmetic": file(world, mdm, travel, "1070.00", [special(world, "10000002", tax="70.00")]),
        "special_invoice_not_deductible": file(world, mdm, welfare, "1060.00", [special(world, "10000003")]),
        "invoice_date_invalid": file(world, mdm, travel, "1060.00", [special(world, "10000004", date="2026-10-20")]),
        "special_invoice_no_seller_tax_id": file(
            world, mdm, travel, "1060.00", [special(world, "10000005", seller_tax_id=None)]
        ),
        "seller_not_supplier": file(world, mdm, meeting, "1060.00", [special(world, "10000006")]),
        "tax_exceeds_line": file(world, mdm, travel, "50.00", [special(world, "10000007")]),
    }
    old = file(world, mdm, travel, "1060.00", [special(world, "10000008", date="2025-09-01")])
    from_supplier = file(world, mdm, meeting, "1060.00", [special(world, "10000009", seller_tax_id=supplier)])
    taxi_receipt = world.mutate(
        "seed_invoice", object_id="taxi", code="133022034001", number="19777479", date="2026-10-14", amount="58.00"
    )
    e_normal = world.mutate(
        "seed_invoice",
        object_id="invoice",
        category="DIGITAL_NORMAL",
        code="011001900411",
        number="47211517",
        date="2026-10-11",
        net="94.34",
        tax="5.66",
        rate="6%",
        seller_name="滴滴出行科技有限公司",
        seller_tax_id="91120116340983214B",
        buyer_name="北京合思信息技术有限公司",
        buyer_tax_id=BUYER,
    )
    good = file(world, mdm, travel, "158.00", [taxi_receipt, e_normal])
    dinner = file(
        world,
        mdm,
        welfare,
        "100.00",
        [
            world.mutate(
                "seed_invoice",
                object_id="invoice",
                category="DIGITAL_NORMAL",
                code="011001900411",
                number="47211599",
                date="2026-10-11",
                net="94.34",
                tax="5.66",
                rate="6%",
                seller_name="海底捞餐饮有限公司",
                seller_tax_id="91110105MA0000000X",
                buyer_name="北京合思信息技术有限公司",
                buyer_tax_id=BUYER,
            )
        ],
    )

    run_ok(dagbag, CLAIMS)

    queued = open_claim_items(mdm)
    for reason, claim_no in claims.items():
        assert queued.get(claim_no) == ("quarantine", reason), (reason, queued.get(claim_no))
        assert claim_row(mdm, claim_no)["state"] == "invalid"
    assert queued[old] == ("quarantine", "invoice_date_invalid")
    details = dict(mdm.execute("SELECT record_key, reason FROM sync.exception_item WHERE status <> 'resolved'"))
    assert f"the company is {BUYER}" in details[claims["buyer_tax_id_mismatch"]]
    assert "1 of 1 发票明细 rows: the tax is not the amount × a VAT rate" in details[claims["tax_arithmetic"]]
    assert "claim dated 2026-10-15" in details[claims["invoice_date_invalid"]]
    assert "is not an active supplier" in details[claims["seller_not_supplier"]]

    # the same batch went on: a known supplier passes; a taxi receipt deducts nothing, the electronic
    # 普票 of a ride its printed tax (passenger transport); on welfare, the same kind of 普票 deducts nothing
    for claim_no in (from_supplier, good, dinner):
        assert claim_no not in queued and claim_row(mdm, claim_no)["state"] != "invalid", claim_no
    vat = dict(
        mdm.execute(
            "SELECT c.claim_no, sum(l.input_vat) FROM fin.claim_line l JOIN fin.claim c USING (claim_id) GROUP BY 1"
        )
    )
    assert vat[from_supplier] == Decimal("60.00")
    assert vat[good] == Decimal("5.66") and vat[dinner] == Decimal("0.00")


def test_an_invoice_hesi_did_not_return_holds_its_claim_until_it_does(dagbag, mdm, world):
    travel = fee_type_on(mdm, tax_rules("kingdee", "{}").passenger_transport_accounts)
    invoice_id = special(world, "20000001")
    claim_no = file(world, mdm, travel, "1060.00", [invoice_id])
    world.mutate("delete_invoice", invoice_id=invoice_id)

    run_ok(dagbag, CLAIMS)
    assert open_claim_items(mdm)[claim_no] == ("quarantine", "invoice_unreadable")

    assert special(world, "20000001") == invoice_id  # back in 合思, the document itself unchanged
    counts = run_ok(dagbag, CLAIMS)
    assert claim_no not in open_claim_items(mdm), counts
    assert claim_row(mdm, claim_no)["state"] in ("voucher_created", "voucher_audited")
    [vat] = mdm.execute(
        "SELECT sum(input_vat) FROM fin.claim_line JOIN fin.claim USING (claim_id) WHERE claim_no = %s", (claim_no,)
    ).fetchone()
    assert vat == Decimal("60.00")
