"""Month end against real PostgreSQL and the ERP sandboxes over HTTP: rollup, re-run, correction, reconciliation."""

from __future__ import annotations

from decimal import Decimal

import pytest

from expense_sync.erp.compose import ClaimLine
from expense_sync.hooks.registry import erp_hook
from expense_sync.monthend.reconcile import reconcile_period
from expense_sync.monthend.rollup import rollup_period
from monthkit import CHART, accounts, change_claim, erp_book, expense_by_grain, make_claims, manual_entry

PERIOD = "2025-03"
VENDORS = ["kingdee", "yonyou", "sap"]


def close(mdm, vendor, run="r1"):
    hook = erp_hook(vendor)
    rolled = rollup_period(mdm, hook, PERIOD, accounts(vendor), f"expense_rollup_monthly/{run}")
    reconciled = reconcile_period(mdm, hook, PERIOD, accounts(vendor), f"expense_rollup_monthly/{run}")
    return rolled, reconciled


def ledger(vendor):
    return erp_book(vendor, PERIOD)


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_month_across_cost_centers_closes_with_zero_difference(mdm, sandboxes, vendor):
    claims = make_claims(mdm, sandboxes, vendor, PERIOD, count=9)
    assert len({line.cost_center for c in claims for line in c["lines"]}) >= 2

    rolled, reconciled = close(mdm, vendor)

    total = sum(c["total"] for c in claims)
    assert [(r["action"], r["claims"], Decimal(r["total"])) for r in rolled] == [("posted", 9, total)]
    [result] = reconciled
    assert result["status"] == "reconciled" and Decimal(result["unexplained"]) == 0
    assert (
        Decimal(result["claims_total"]) == Decimal(result["posted_total"]) == Decimal(result["ledger_total"]) == total
    )
    book = ledger(vendor)
    clearing = [v for k, v in book.items() if k[0] == accounts(vendor).clearing]
    assert sum(d for d, _ in clearing) == sum(c for _, c in clearing) == total  # nets to zero
    for grain, amount in expense_by_grain(mdm).items():
        assert book[grain] == (amount, Decimal("0.00")), grain
    assert mdm.execute("SELECT count(*) FROM sync.exception_item WHERE status <> 'resolved'").fetchone()[0] == 0


@pytest.mark.parametrize("vendor", ["kingdee", "sap"])
def test_rerunning_the_month_changes_nothing(mdm, sandboxes, vendor):
    make_claims(mdm, sandboxes, vendor, PERIOD, count=5)
    close(mdm, vendor)
    before_ledger = ledger(vendor)
    before_vouchers = mdm.execute("SELECT external_ref, number FROM fin.voucher ORDER BY 1").fetchall()

    rolled, [result] = close(mdm, vendor, run="r2")

    assert [r["action"] for r in rolled] == ["unchanged"] and rolled[0]["vouchers"] == []
    assert result["status"] == "reconciled"
    assert ledger(vendor) == before_ledger
    assert mdm.execute("SELECT external_ref, number FROM fin.voucher ORDER BY 1").fetchall() == before_vouchers


@pytest.mark.parametrize("vendor", ["kingdee", "yonyou"])
def test_a_claim_changed_after_posting_is_corrected_by_a_reversing_entry(mdm, sandboxes, vendor):
    claims = make_claims(mdm, sandboxes, vendor, PERIOD, count=4)
    close(mdm, vendor)
    chart = CHART[vendor]
    change_claim(
        mdm,
        sandboxes,
        vendor,
        claims[1],
        [ClaimLine(chart["accounts"][2], chart["cost_centers"][1], Decimal("321.09"), None, "改")],
    )

    rolled, [result] = close(mdm, vendor, run="r2")

    company = chart["company"]
    assert rolled[0]["action"] == "reposted" and rolled[0]["version"] == 2
    assert rolled[0]["vouchers"] == [f"RU-{PERIOD}-{company}-1-R1", f"RU-{PERIOD}-{company}-1-V2"]
    assert result["status"] == "reconciled", result
    total = sum(c["total"] for c in claims)
    assert Decimal(result["ledger_total"]) == total
    for grain, amount in expense_by_grain(mdm).items():
        assert ledger(vendor)[grain][0] - ledger(vendor)[grain][1] == amount
    # a third run: nothing more
    rolled, _ = close(mdm, vendor, run="r3")
    assert rolled[0]["action"] == "unchanged"


@pytest.mark.parametrize("vendor", VENDORS)
def test_an_erp_manual_entry_is_an_explained_difference(mdm, sandboxes, vendor):
    make_claims(mdm, sandboxes, vendor, PERIOD, count=3)
    manual_entry(sandboxes, vendor, PERIOD, "500.00")

    _, [result] = close(mdm, vendor)

    assert result["status"] == "reconciled"
    assert Decimal(result["explained"]) == Decimal("1000.00")  # Dr expense and Cr bank
    assert Decimal(result["unexplained"]) == 0
    items = mdm.execute("SELECT reason_code, entity, status FROM sync.exception_item ORDER BY record_key").fetchall()
    assert items and all(i == ("erp_manual_entry", "ledger_line", "open") for i in items)
    # seen again on a re-run, not queued twice
    close(mdm, vendor, run="r2")
    assert mdm.execute("SELECT count(*), max(occurrences) FROM sync.exception_item").fetchone() == (len(items), 2)


def test_a_voucher_missing_in_the_erp_is_unexplained(mdm, sandboxes):
    claims = make_claims(mdm, sandboxes, "yonyou", PERIOD, count=3)
    remote = mdm.execute("SELECT remote_id FROM fin.voucher WHERE voucher_id = %s", (claims[0]["voucher_id"],))
    remote_id = remote.fetchone()[0]
    sandboxes.control("yonyou").mutate("unaudit_voucher", voucher_id=remote_id)  # an accountant voids it
    sandboxes.control("yonyou").mutate("void_voucher", voucher_id=remote_id)

    _, [result] = close(mdm, "yonyou")

    assert result["status"] == "differences" and Decimal(result["unexplained"]) > 0
    causes = {r[0] for r in mdm.execute("SELECT reason_code FROM sync.exception_item WHERE status = 'open'")}
    assert causes == {"missing_in_erp"}
    named = mdm.execute("SELECT record_key FROM sync.exception_item WHERE entity = 'voucher'").fetchall()
    assert named == [(f"{PERIOD}/0001/{claims[0]['claim_no']}",)]  # the claim whose voucher was voided


SAVE = "/k3cloud/Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.Save.common.kdsvc"


def test_a_rollup_answered_too_late_is_found_not_posted_twice(mdm, sandboxes):
    claims = make_claims(mdm, sandboxes, "kingdee", PERIOD, count=4)
    kingdee = sandboxes.control("kingdee")
    hook = erp_hook("kingdee")
    # the Save commits in the ERP but its answer comes after the client's timeout
    kingdee.faults({"kind": "slow_commit", "every": 1, "delay": 2.5, "paths": [SAVE], "limit": 1})
    rolled = rollup_period(mdm, hook, PERIOD, accounts("kingdee"), "expense_rollup_monthly/r1")
    assert rolled[0]["action"] == "posted"  # the lookup after the unknown outcome found it
    refs = [
        v["F_ES_ExternalRef"] for v in kingdee.state()["vouchers"] if (v["F_ES_ExternalRef"] or "").startswith("RU-")
    ]
    assert refs == [f"RU-{PERIOD}-001-1"]
    outbound = mdm.execute("SELECT state FROM sync.outbound WHERE business_key = %s", (refs[0],)).fetchone()
    assert outbound == ("done",)

    # a crash between the call and its record: the row stays 'sending'; the next run looks it up first
    mdm.execute("UPDATE fin.voucher SET state = 'sending' WHERE external_ref = %s", (refs[0],))
    mdm.execute("UPDATE sync.outbound SET state = 'sending' WHERE business_key = %s", (refs[0],))
    _, [result] = close(mdm, "kingdee", run="r2")
    assert result["status"] == "reconciled"
    assert len([v for v in kingdee.state()["vouchers"] if (v["F_ES_ExternalRef"] or "").startswith("RU-")]) == 1
    assert Decimal(result["ledger_total"]) == sum(c["total"] for c in claims)


def test_a_rollup_above_the_erp_line_limit_is_split_into_balanced_vouchers(mdm, sandboxes):
    make_claims(mdm, sandboxes, "kingdee", PERIOD, count=12)
    hook = erp_hook("kingdee")
    rolled = rollup_period(mdm, hook, PERIOD, accounts("kingdee"), "expense_rollup_monthly/r1", max_lines=6)
    refs = rolled[0]["vouchers"]
    assert len(refs) >= 3 and refs[:2] == [f"RU-{PERIOD}-001-1", f"RU-{PERIOD}-001-2"]
    sizes = mdm.execute("SELECT lines, imbalance FROM fin.voucher_balance WHERE kind = 'rollup'").fetchall()
    assert all(n <= 6 and imbalance == 0 for n, imbalance in sizes)
    [result] = reconcile_period(mdm, hook, PERIOD, accounts("kingdee"), "expense_rollup_monthly/r1")
    assert result["status"] == "reconciled"
