"""The `invoices` suite of the data health checkpoint: the invoices of posted claims pass when sound,
and each expectation fails on what it guards (a duplicate, bad tax arithmetic, input VAT on a type
that allows none, a 专票 without the seller's tax id, a line whose input VAT is not its invoices')."""

from __future__ import annotations

import pytest

from expense_sync.invoices.types import sync_dictionary
from expense_sync.quality.checkpoint import DataHealthCheckFailed, run_checkpoint
from monthkit import make_claims

PERIOD = "2025-06"
INSERT = """INSERT INTO fin.claim_invoice (claim_id, line_no, seq, invoice_id, source_type, category, invoice_type,
            invoice_key, seller_tax_id, net, tax, total, rate, deductible)
            VALUES (%s, 1, %s, %s, 'invoice', %s, %s, %s, %s, %s, %s, %s, %s, %s)"""


@pytest.fixture
def posted(mdm, sandboxes, monkeypatch, tmp_path):
    """Two posted claims, each line 1 with a sound 专票 whose tax it deducts."""
    monkeypatch.setenv("EXPENSE_SYNC_GX_RESULTS_DIR", str(tmp_path))
    claims = make_claims(mdm, sandboxes, "kingdee", PERIOD, count=2)
    sync_dictionary(mdm)
    for n, claim in enumerate(claims, 1):
        key = f"vat_special:044032100111:1000000{n}"
        mdm.execute(
            INSERT,
            (
                claim["claim_id"],
                1,
                key,
                "DIGITAL_SPECIAL",
                "vat_special",
                key,
                "91440300892254961D",
                "100.00",
                "6.00",
                "106.00",
                "0.06",
                "6.00",
            ),
        )
        mdm.execute(
            "UPDATE fin.claim_line SET input_vat = 6.00 WHERE claim_id = %s AND line_no = 1", (claim["claim_id"],)
        )
    return claims


def invoice_failures(name: str) -> list[str]:
    try:
        run_checkpoint("data_health", run_name=name)
    except DataHealthCheckFailed as caught:
        return sorted(f["description"] for f in caught.failures if f["suite"] == "invoices")
    return []


def test_sound_invoices_pass(posted):
    assert invoice_failures("sound") == []


def test_each_expectation_fails_on_what_it_guards(mdm, posted):
    first, second = (c["claim_id"] for c in posted)
    mdm.execute("UPDATE fin.claim_invoice SET invoice_key = 'vat_special:044032100111:10000001'")  # one invoice twice
    mdm.execute("UPDATE fin.claim_invoice SET tax = 7.00, total = 107.00 WHERE claim_id = %s", (first,))
    mdm.execute("UPDATE fin.claim_invoice SET seller_tax_id = NULL WHERE claim_id = %s", (second,))
    mdm.execute(INSERT, (second, 2, "t", None, "taxi", "taxi::19777479", None, None, None, "58.00", None, "1.00"))
    assert invoice_failures("broken") == [
        "A claim line's input VAT on its voucher is the sum its invoices deduct.",  # 6.00 + the taxi's 1.00
        "Every 专用发票 names its seller's tax id.",
        "Input VAT is deducted only on invoice types that allow it.",
        "One invoice reaches one voucher: no invoice key is on two posted claims, or twice on one.",
        "Tax arithmetic: net + tax = total, and the tax is net × a VAT rate, each to the cent.",
    ]
