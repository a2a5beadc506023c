"""A voucher held twice by the ERP is an unexplained difference, named as a duplicate — never an
"ERP manual entry". Two overlapping posting runs (before the per-voucher lock) left claims with two
ERP vouchers carrying the same external ref, and the reconciliation called the surplus explained and
the period reconciled."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from expense_sync.erp.posting import post_voucher, voucher_from_row
from expense_sync.hooks.registry import erp_hook
from expense_sync.monthend.reconcile import reconcile_period
from expense_sync.monthend.rollup import rollup_period
from monthkit import accounts, make_claims

PERIOD = "2025-05"


def close(mdm, vendor):
    hook = erp_hook(vendor)
    rollup_period(mdm, hook, PERIOD, accounts(vendor), "expense_rollup_monthly/r1")
    [result] = reconcile_period(mdm, hook, PERIOD, accounts(vendor), "expense_rollup_monthly/r1")
    return result


def claim_voucher_of(mdm, claim) -> tuple:
    ref, posting_date, lines = mdm.execute(
        "SELECT external_ref, posting_date, lines FROM fin.voucher WHERE voucher_id = %s", (claim["voucher_id"],)
    ).fetchone()
    return voucher_from_row(ref, claim["company"], PERIOD, posting_date, lines, claim["title"]), ref


def open_items(mdm) -> dict[str, str]:
    rows = mdm.execute("SELECT record_key, reason_code FROM sync.exception_item WHERE status = 'open'").fetchall()
    return dict(rows)


@pytest.mark.parametrize("vendor", ["kingdee", "sap"])
def test_a_second_voucher_carrying_a_claims_ref_is_an_unexplained_duplicate(mdm, sandboxes, vendor):
    claims = make_claims(mdm, sandboxes, vendor, PERIOD, count=4)
    voucher, ref = claim_voucher_of(mdm, claims[1])
    erp_hook(vendor).create_voucher(voucher)  # what a second, overlapping run sent

    result = close(mdm, vendor)

    assert result["status"] == "differences", result
    assert result["vouchers_duplicated"] == [ref]
    assert Decimal(result["unexplained"]) > 0 and Decimal(result["explained"]) == 0
    company = claims[1]["company"]
    assert open_items(mdm)[f"{PERIOD}/{company}/{ref}"] == "duplicate_in_erp"
    assert "erp_manual_entry" not in open_items(mdm).values()


def test_a_second_voucher_for_one_claim_is_an_unexplained_duplicate(mdm, sandboxes):
    claims = make_claims(mdm, sandboxes, "kingdee", PERIOD, count=3)
    voucher, ref = claim_voucher_of(mdm, claims[0])
    again = dataclasses.replace(voucher, external_ref=f"{ref}-V2")  # not reversing the first
    post_voucher(mdm, erp_hook("kingdee"), again, kind="claim", run_key="t", claim_id=claims[0]["claim_id"])

    result = close(mdm, "kingdee")

    assert result["status"] == "differences", result
    assert result["vouchers_duplicated"] == [f"{ref}-V2"]
    assert open_items(mdm)[f"{PERIOD}/{claims[0]['company']}/{ref}-V2"] == "duplicate_in_erp"
