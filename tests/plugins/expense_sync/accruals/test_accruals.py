"""Travel bookings accrued (预提): the accrual voucher once per booking version, whatever the ERP does
to the answers; a changed booking re-accrued, a cancelled one reversed; the reversal once the trip's
claim is posted, in the accrual's period while it is open, else in the claim's; bad bookings queued.

Judged by what the ERP sandbox holds (its vouchers by external ref, its ledger balances) against real
PostgreSQL, through the real ERP hooks over HTTP."""

from __future__ import annotations

import csv
from decimal import Decimal

import pytest
from accrualkit import accrual, accrue, booking, land_bookings, open_items, reverse, trip_claim, world

from claimkit import CREATE_PATHS, erp_vouchers
from expense_sync import boundaries
from expense_sync.accruals.post import UnsettledAccrualsError
from expense_sync.boundaries import AFTER_CALL, BEFORE_CALL
from expense_sync.hooks.registry import erp_hook
from expense_sync.monthend.manifest import MANIFEST
from expense_sync.monthend.pack import build_pack
from expense_sync.monthend.reconcile import reconcile_period
from expense_sync.monthend.rollup import rollup_period
from monthkit import CHART, accounts, erp_book, make_claims

ACCRUED = {"kingdee": "2241.03", "yonyou": "224103", "sap": "2241030000"}
TRAVEL = {"kingdee": "6602.01", "yonyou": "660201", "sap": "6602010000"}


def close_month(mdm, vendor: str, period: str) -> list[dict]:
    """The month end: the rollup, then the reconciliation."""
    hook, run = erp_hook(vendor), f"expense_rollup_monthly/{period}"
    rollup_period(mdm, hook, period, accounts(vendor), run)
    return reconcile_period(mdm, hook, period, accounts(vendor), run)


def held(sandboxes, vendor: str, ref: str) -> int:
    return len(erp_vouchers(sandboxes, vendor, ref))


def accrued_balance(vendor: str, period: str) -> Decimal:
    """Σ credit − debit on the accrued liabilities account in the ERP ledger of the period."""
    book = erp_book(vendor, period)
    return sum((c - d for (account, *_), (d, c) in book.items() if account == ACCRUED[vendor]), Decimal(0))


@pytest.fixture
def kingdee(mdm, sandboxes):
    world(mdm, "kingdee")
    return "kingdee"


@pytest.mark.parametrize("vendor", ["kingdee", "yonyou", "sap"])
def test_a_booking_is_accrued_once_dr_travel_cr_accrued_liabilities(mdm, sandboxes, vendor):
    world(mdm, vendor)
    land_bookings(mdm, vendor, booking(vendor))
    assert accrue(mdm, vendor)["accrued"] == 1
    accrue(mdm, vendor, "2")  # nothing pending: nothing sent again
    land_bookings(mdm, vendor, booking(vendor))  # the same booking delivered again
    accrue(mdm, vendor, "3")
    assert accrual(mdm)["state"] == "open" and accrual(mdm)["period"] == "2025-05"
    if vendor != "sap":  # SAP keeps a hash of a long ref (fin.voucher ties it)
        assert held(sandboxes, vendor, "AC-ORD-1") == 1
    book = erp_book(vendor, "2025-05")
    chart = CHART[vendor]
    assert book[(TRAVEL[vendor], chart["cost_centers"][0], chart["projects"][1])] == (Decimal("1280.00"), Decimal(0))
    assert accrued_balance(vendor, "2025-05") == Decimal("1280.00")
    assert mdm.execute("SELECT count(*) FROM fin.voucher WHERE kind = 'accrual'").fetchone()[0] == 1


def test_an_answer_lost_after_the_commit_is_adopted_not_sent_twice(mdm, sandboxes, kingdee):
    land_bookings(mdm, kingdee, booking(kingdee))
    sandboxes.control(kingdee).faults(
        {"kind": "slow_commit", "every": 1, "limit": 1, "delay": 2.5, "paths": [CREATE_PATHS[kingdee]]}
    )
    accrue(mdm, kingdee)  # the answer is lost; the look-up finds the voucher and adopts it
    sandboxes.control(kingdee).faults()
    accrue(mdm, kingdee, "2")
    assert held(sandboxes, kingdee, "AC-ORD-1") == 1
    assert accrual(mdm)["state"] == "open"


def test_an_unknown_outcome_fails_the_run_and_its_retry_posts_once(mdm, sandboxes, kingdee):
    land_bookings(mdm, kingdee, booking(kingdee), booking(kingdee, "ORD-2", amount=Decimal("300.00")))
    sandboxes.control(kingdee).faults({"kind": "5xx", "every": 1, "limit": 1, "paths": [CREATE_PATHS[kingdee]]})
    with pytest.raises(UnsettledAccrualsError):
        accrue(mdm, kingdee)  # the first booking's outcome stays unknown; the second is accrued
    sandboxes.control(kingdee).faults()
    assert held(sandboxes, kingdee, "AC-ORD-2") == 1
    accrue(mdm, kingdee, "retry")  # Airflow's retry: looked up, not found, sent once
    accrue(mdm, kingdee, "again")
    assert held(sandboxes, kingdee, "AC-ORD-1") == 1 and held(sandboxes, kingdee, "AC-ORD-2") == 1
    assert accrued_balance(kingdee, "2025-05") == Decimal("1580.00")


def test_a_changed_booking_is_reversed_and_accrued_again(mdm, sandboxes, kingdee):
    land_bookings(mdm, kingdee, booking(kingdee))
    accrue(mdm, kingdee)
    land_bookings(mdm, kingdee, booking(kingdee, state="changed", amount=Decimal("960.00")))
    counts = accrue(mdm, kingdee, "2")
    assert counts["superseded"] == 1 and counts["accrued"] == 1
    accrue(mdm, kingdee, "3")
    assert accrual(mdm)["version"] == 2 and accrual(mdm)["ref"] == "AC-ORD-1-V2"
    assert [held(sandboxes, kingdee, r) for r in ("AC-ORD-1", "AC-ORD-1-R1", "AC-ORD-1-V2")] == [1, 1, 1]
    assert accrued_balance(kingdee, "2025-05") == Decimal("960.00")


def test_a_cancelled_booking_is_reversed(mdm, sandboxes, kingdee):
    land_bookings(mdm, kingdee, booking(kingdee))
    accrue(mdm, kingdee)
    land_bookings(mdm, kingdee, booking(kingdee, state="cancelled", amount=Decimal(0)))
    assert accrue(mdm, kingdee, "2")["cancelled"] == 1
    accrue(mdm, kingdee, "3")
    assert accrual(mdm)["state"] == "cancelled" and accrual(mdm)["reversal"] == "AC-ORD-1-R1"
    assert held(sandboxes, kingdee, "AC-ORD-1-R1") == 1
    assert accrued_balance(kingdee, "2025-05") == 0
    land_bookings(mdm, kingdee, booking(kingdee, "ORD-2", state="cancelled", amount=Decimal(0)))
    accrue(mdm, kingdee, "4")  # cancelled before it was ever accrued: nothing posted
    assert accrual(mdm, "ORD-2")["state"] == "cancelled" and accrual(mdm, "ORD-2")["ref"] is None


def test_the_trips_claim_reverses_the_accrual_once_in_its_open_period(mdm, sandboxes, kingdee):
    land_bookings(mdm, kingdee, booking(kingdee), booking(kingdee, "ORD-2", requisition_code="REQ-2"))
    accrue(mdm, kingdee)
    assert reverse(mdm, kingdee) == {}  # no claim posted yet
    trip_claim(mdm, sandboxes, kingdee, "2025-06")
    assert reverse(mdm, kingdee, "2")["reversed"] == 1
    assert reverse(mdm, kingdee, "3") == {}
    assert accrual(mdm)["state"] == "reversed"
    assert accrual(mdm)["reversal_period"] == "2025-05"  # May is not closed: the reversal goes into May
    assert held(sandboxes, kingdee, "AC-ORD-1-R1") == 1
    assert accrual(mdm, "ORD-2")["state"] == "open"  # another requisition's booking stays accrued
    assert accrued_balance(kingdee, "2025-05") == Decimal("1280.00")


def test_an_accrual_of_a_closed_period_is_reversed_in_the_claims_period(mdm, sandboxes, kingdee):
    land_bookings(mdm, kingdee, booking(kingdee))
    accrue(mdm, kingdee)
    close_month(mdm, kingdee, "2025-05")
    claim = trip_claim(mdm, sandboxes, kingdee, "2025-06")
    reverse(mdm, kingdee)
    assert accrual(mdm)["reversal_period"] == "2025-06"
    date = mdm.execute("SELECT posting_date FROM fin.voucher WHERE external_ref = 'AC-ORD-1-R1'").fetchone()[0]
    assert date == claim["date"]
    assert accrued_balance(kingdee, "2025-05") == Decimal("1280.00")
    assert accrued_balance(kingdee, "2025-06") == Decimal("-1280.00")


def test_a_booking_in_a_closed_month_is_accrued_in_an_open_one(mdm, sandboxes, kingdee):
    make_claims(mdm, sandboxes, kingdee, "2025-05", count=2)
    close_month(mdm, kingdee, "2025-05")
    land_bookings(mdm, kingdee, booking(kingdee))
    accrue(mdm, kingdee)
    assert accrual(mdm)["period"] > "2025-05"


def test_bad_bookings_are_queued_and_the_batch_goes_on(mdm, sandboxes, kingdee):
    land_bookings(
        mdm,
        kingdee,
        booking(kingdee, "BAD-EMP", staff_id="NOBODY"),
        booking(kingdee, "BAD-CC", cost_center="NO-SUCH-CC"),
        booking(kingdee, "BAD-AMOUNT", amount=Decimal("0.00")),
        booking(kingdee, "BAD-REQ", requisition_code=None),
        booking(kingdee, "GOOD"),
    )
    counts = accrue(mdm, kingdee)
    assert counts["invalid"] == 4 and counts["accrued"] == 1
    assert open_items(mdm, "BAD-EMP") == {"employee_unknown"}
    assert open_items(mdm, "BAD-CC") == {"cost_center_unknown"}
    assert open_items(mdm, "BAD-AMOUNT") == {"amount_invalid"}
    assert open_items(mdm, "BAD-REQ") == {"requisition_missing"}
    assert accrual(mdm, "GOOD")["state"] == "open" and accrual(mdm, "BAD-CC")["state"] == "invalid"
    assert held(sandboxes, kingdee, "AC-BAD-CC") == 0
    # the cost center comes in through the chart sync (合思 item id NO-SUCH-CC): the next run accrues it
    cc = mdm.execute("SELECT cost_center_id FROM mdm.cost_center ORDER BY code LIMIT 1").fetchone()[0]
    mdm.execute("DELETE FROM mdm.crosswalk WHERE entity = 'cost_center' AND canonical_id = %s", (cc,))
    mdm.execute(
        "INSERT INTO mdm.crosswalk (entity, canonical_id, system, external_id) VALUES ('cost_center', %s, 'ekuaibao', "
        "'NO-SUCH-CC')",
        (cc,),
    )
    accrue(mdm, kingdee, "2")
    assert accrual(mdm, "BAD-CC")["state"] == "open" and open_items(mdm, "BAD-CC") == set()
    assert held(sandboxes, kingdee, "AC-BAD-CC") == 1


def test_open_accruals_at_month_end_are_reconciled_and_listed(mdm, sandboxes, kingdee, tmp_path):
    make_claims(mdm, sandboxes, kingdee, "2025-05", count=3)
    land_bookings(
        mdm, kingdee, booking(kingdee), booking(kingdee, "ORD-2", amount=Decimal("420.50"), requisition_code="REQ-2")
    )
    accrue(mdm, kingdee)
    (may,) = close_month(mdm, kingdee, "2025-05")
    assert may["status"] == "reconciled", may
    assert (may["open_accruals"], may["open_accruals_total"], may["accrued_total"]) == (2, "1700.50", "1700.50")
    assert Decimal(may["posted_total"]) == Decimal(may["claims_total"]) == Decimal(may["ledger_total"])
    roles = mdm.execute(
        """SELECT account_role, sum(posted_credit - posted_debit), sum(ledger_credit - ledger_debit)
             FROM fin.reconciliation_line WHERE account = %s GROUP BY 1""",
        (ACCRUED[kingdee],),
    ).fetchall()
    assert roles == [("accrual", Decimal("1700.50"), Decimal("1700.50"))]
    # June: the trip's claim reverses ORD-1 in June (May is closed); ORD-2 stays open
    trip_claim(mdm, sandboxes, kingdee, "2025-06")
    reverse(mdm, kingdee)
    (june,) = close_month(mdm, kingdee, "2025-06")
    assert june["status"] == "reconciled", june
    assert (june["open_accruals"], june["open_accruals_total"], june["accrued_total"]) == (1, "420.50", "-1280.00")
    gaps = mdm.execute("SELECT status FROM fin.reconciliation_latest WHERE posted_difference <> 0").fetchall()
    assert gaps == []
    # the auditors' pack lists them: May both, June the one still open
    for period, wanted in (
        ("2025-05", {"AC-ORD-1": "1280.00", "AC-ORD-2": "420.50"}),
        ("2025-06", {"AC-ORD-2": "420.50"}),
    ):
        page = build_pack(mdm, period, kingdee, accounts(kingdee), tmp_path / "pack")
        with (page.parent / "accruals.csv").open(encoding="utf-8") as f:
            listed = {r["external_ref"]: r["total"] for r in csv.DictReader(f)}
        assert listed == wanted
        assert "open at the period's end" in page.read_text(encoding="utf-8")
        assert "accruals.csv" in (page.parent / MANIFEST).read_text()


def test_landing_counts_versions_and_a_reversed_booking_stays_reversed(mdm, sandboxes, kingdee):
    assert land_bookings(mdm, kingdee, booking(kingdee)) == {"new": 1}
    assert land_bookings(mdm, kingdee, booking(kingdee, raw={"seen": 2})) == {"same": 1}  # the message, not the booking
    assert land_bookings(mdm, kingdee, booking(kingdee, amount=Decimal("1300.00"))) == {"changed": 1}
    assert accrual(mdm)["version"] == 2 and accrual(mdm)["state"] == "pending"
    accrue(mdm, kingdee)
    trip_claim(mdm, sandboxes, kingdee, "2025-06")
    reverse(mdm, kingdee)
    assert land_bookings(mdm, kingdee, booking(kingdee, state="cancelled", amount=Decimal(0))) == {"same": 1}
    assert accrual(mdm)["state"] == "reversed" and accrual(mdm)["version"] == 2
    assert held(sandboxes, kingdee, "AC-ORD-1-V2") == 1 and held(sandboxes, kingdee, "AC-ORD-1") == 0


def test_a_booking_without_cost_center_takes_its_travellers_departments(mdm, sandboxes, kingdee):
    land_bookings(mdm, kingdee, booking(kingdee, cost_center=None))
    accrue(mdm, kingdee)
    assert open_items(mdm, "ORD-1") == {"cost_center_unknown"}  # the department owns none yet
    home = CHART[kingdee]["cost_centers"][1]
    mdm.execute("UPDATE mdm.cost_center SET owner_unit = 'D1' WHERE code = %s", (home,))
    accrue(mdm, kingdee, "2")
    assert accrual(mdm)["state"] == "open" and open_items(mdm, "ORD-1") == set()
    assert (TRAVEL[kingdee], home, CHART[kingdee]["projects"][1]) in erp_book(kingdee, "2025-05")


class Died(BaseException):
    """The process dying at a step boundary (nothing after it runs, nothing is recorded)."""


@pytest.mark.parametrize("boundary", [BEFORE_CALL, AFTER_CALL])
def test_a_process_dying_around_the_erp_call_leaves_one_accrual_and_one_reversal(mdm, sandboxes, kingdee, boundary):
    def die(name: str) -> None:
        if name == boundary:
            raise Died(name)

    land_bookings(mdm, kingdee, booking(kingdee))
    boundaries.install(die)
    try:
        with pytest.raises(Died):
            accrue(mdm, kingdee)
    finally:
        boundaries.install(None)
    accrue(mdm, kingdee, "retry")
    trip_claim(mdm, sandboxes, kingdee, "2025-06")
    boundaries.install(die)
    try:
        with pytest.raises(Died):
            reverse(mdm, kingdee)
    finally:
        boundaries.install(None)
    reverse(mdm, kingdee, "retry")
    reverse(mdm, kingdee, "again")
    assert held(sandboxes, kingdee, "AC-ORD-1") == 1 and held(sandboxes, kingdee, "AC-ORD-1-R1") == 1
    assert accrual(mdm)["state"] == "reversed" and accrued_balance(kingdee, "2025-05") == 0
