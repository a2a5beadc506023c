"""A month-end rollup interrupted at any point, then run again (Airflow's retry, or a re-run), leaves
the month in the ledger exactly once. The interruption: the ERP answers 5xx without processing the
voucher's Save, or the process dies just before or just after the ERP call — on the first rollup
voucher, on the re-post (``-V2``) of a changed month, and on the reversal between them.

The ERP's own balances are the judge: for every (account, cost center, project) the ledger's net
expense equals the claims', and each external ref is held once."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest

from claimkit import CREATE_PATHS
from expense_sync import boundaries
from expense_sync.boundaries import AFTER_CALL, BEFORE_CALL
from expense_sync.erp.compose import ClaimLine
from expense_sync.hooks.errors import OutcomeUnknownError
from expense_sync.hooks.registry import erp_hook
from expense_sync.hooks.sap.journal import reference_id
from expense_sync.monthend.rollup import rollup_period
from monthkit import CHART, accounts, change_claim, erp_book, expense_by_grain, make_claims

PERIOD = "2025-04"


class Died(BaseException):
    """The process dying at a step boundary (nothing after it runs, nothing is recorded)."""


def rollup(mdm, vendor, run):
    return rollup_period(mdm, erp_hook(vendor), PERIOD, accounts(vendor), f"expense_rollup_monthly/{run}")


def interrupted(mdm, sandboxes, vendor, run, how: str, nth: int) -> None:
    """One rollup run interrupted at the ``nth`` ERP write (5xx, or a death before/after the call)."""
    if how == "5xx":
        sandboxes.control(vendor).faults({"kind": "5xx", "every": nth, "paths": [CREATE_PATHS[vendor]], "limit": 1})
        with pytest.raises(OutcomeUnknownError):
            rollup(mdm, vendor, run)
        sandboxes.control(vendor).faults()
        return
    boundary = {"die_before": BEFORE_CALL, "die_after": AFTER_CALL}[how]
    reached = Counter()

    def die(name: str) -> None:
        reached[name] += 1
        if name == boundary and reached[name] == nth:
            raise Died(name)

    boundaries.install(die)
    try:
        with pytest.raises(Died):
            rollup(mdm, vendor, run)
    finally:
        boundaries.install(None)


def erp_refs(mdm, sandboxes, vendor) -> Counter:
    state = sandboxes.control(vendor).state()
    if vendor == "kingdee":
        refs = [v.get("F_ES_ExternalRef") for v in state["vouchers"]]
    elif vendor == "yonyou":
        refs = [(v.get("external") or {}).get("dataId") for v in state["vouchers"]]
    else:  # SAP's 16-character DocumentReferenceID carries a longer ref as its hash
        ours = {reference_id(r[0]): r[0] for r in mdm.execute("SELECT external_ref FROM fin.voucher").fetchall()}
        refs = [ours.get(e.get("DocumentReferenceID")) for e in state["journal_entries"]]
    return Counter(r for r in refs if r and r.startswith("RU-"))


def assert_month_in_ledger_once(mdm, sandboxes, vendor) -> None:
    book = erp_book(vendor, PERIOD)
    for grain, amount in expense_by_grain(mdm).items():
        debit, credit = book.get(grain, (Decimal(0), Decimal(0)))
        assert debit - credit == amount, (grain, debit, credit, amount)
    held = erp_refs(mdm, sandboxes, vendor)
    assert held and max(held.values()) == 1, held
    states = mdm.execute("SELECT external_ref, state FROM fin.voucher WHERE kind IN ('rollup', 'reversal')")
    assert all(state not in ("sending", "error") for _, state in states.fetchall())


@pytest.mark.parametrize("how", ["5xx", "die_before", "die_after"])
@pytest.mark.parametrize("vendor", ["kingdee", "sap"])
def test_an_interrupted_first_rollup_is_completed_by_the_next_run(mdm, sandboxes, vendor, how):
    make_claims(mdm, sandboxes, vendor, PERIOD, count=5)
    interrupted(mdm, sandboxes, vendor, "r1", how, nth=1)

    [result] = rollup(mdm, vendor, "r2")

    assert (result["action"], result["version"]) == ("posted", 1), result
    assert_month_in_ledger_once(mdm, sandboxes, vendor)
    assert [r["action"] for r in rollup(mdm, vendor, "r3")] == ["unchanged"]
    assert_month_in_ledger_once(mdm, sandboxes, vendor)


@pytest.mark.parametrize(
    ("vendor", "how"), [("kingdee", "5xx"), ("kingdee", "die_before"), ("yonyou", "die_after"), ("sap", "die_before")]
)
def test_an_interrupted_repost_of_a_changed_month_is_completed_by_the_next_run(mdm, sandboxes, vendor, how):
    claims = make_claims(mdm, sandboxes, vendor, PERIOD, count=4)
    rollup(mdm, vendor, "r1")
    chart = CHART[vendor]
    line = ClaimLine(chart["accounts"][2], chart["cost_centers"][1], Decimal("321.09"), None, "改")
    change_claim(mdm, sandboxes, vendor, claims[1], [line])
    interrupted(mdm, sandboxes, vendor, "r2", how, nth=2)  # the 1st write reverses RU-…-1, the 2nd posts -V2

    [result] = rollup(mdm, vendor, "r3")

    assert result["version"] == 2 and result["action"] == "reposted", result
    assert_month_in_ledger_once(mdm, sandboxes, vendor)
    assert [r["action"] for r in rollup(mdm, vendor, "r4")] == ["unchanged"]


@pytest.mark.parametrize("how", ["5xx", "die_before", "die_after"])
def test_an_interrupted_reversal_is_completed_by_the_next_run(mdm, sandboxes, how):
    claims = make_claims(mdm, sandboxes, "kingdee", PERIOD, count=4)
    rollup(mdm, "kingdee", "r1")
    chart = CHART["kingdee"]
    line = ClaimLine(chart["accounts"][0], chart["cost_centers"][0], Decimal("77.70"), None, "改")
    change_claim(mdm, sandboxes, "kingdee", claims[0], [line])
    interrupted(mdm, sandboxes, "kingdee", "r2", how, nth=1)

    [result] = rollup(mdm, "kingdee", "r3")

    assert result["version"] == 2 and result["action"] == "reposted", result
    assert_month_in_ledger_once(mdm, sandboxes, "kingdee")
