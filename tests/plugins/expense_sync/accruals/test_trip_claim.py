"""The trip's claim names its requisition (申请单): 合思 ``form.expenseLink`` / ``form.expenseLinks``.
Parsed from the documented flow, kept in ``fin.claim.requisition_codes`` by the claims intake, and
claim_events reverses the booking's accrual once that claim's voucher is in the ERP."""

from __future__ import annotations

import copy
import datetime as dt

import pytest
from accrualkit import accrual, accrue, booking, land_bookings
from vendordocs import load

from claimkit import CLAIMS, claimant, cost_centers, erp_vouchers, file_claim, prepare_world, run_ok
from expense_sync.claims.parse import parse_flow, requisitions

DOCUMENTED = "ID_3zE5G_00rw0"  # the 申请单 ID of the documented example


def test_the_documented_flow_names_its_requisition():
    flow = load("ekuaibao", "flow_details")["response"]["value"]
    assert parse_flow(flow).requisitions == (DOCUMENTED,)


def test_one_link_several_links_or_none():
    form = copy.deepcopy(load("ekuaibao", "flow_details")["response"]["value"]["form"])
    del form["expenseLinks"]
    assert requisitions(form) == ()
    form["expenseLink"] = DOCUMENTED  # 按申请事项整体报销: one ID (the page's commented alternative)
    assert requisitions(form) == (DOCUMENTED,)
    form["expenseLinks"] = ["ID_B", DOCUMENTED, "", None]  # 按申请明细分别报销: IDs, no repeats, no blanks
    assert requisitions(form) == (DOCUMENTED, "ID_B")
    form["expenseLink"] = {"id": "not a string"}
    assert requisitions(form) == ("ID_B", DOCUMENTED)


@pytest.fixture
def world(dagbag, mdm, sandboxes, monkeypatch):
    prepare_world(dagbag, mdm, sandboxes, monkeypatch, "kingdee")
    return sandboxes.control("ekuaibao")


def test_claim_events_reverses_the_accrual_once_the_trips_claim_is_posted(dagbag, mdm, sandboxes, world):
    employee_no = claimant(mdm)
    staff = mdm.execute(
        """SELECT x.external_id FROM mdm.crosswalk x JOIN mdm.employee e ON e.employee_id = x.canonical_id
            WHERE x.entity = 'employee' AND x.system = 'ekuaibao' AND e.employee_no = %s""",
        (employee_no,),
    ).fetchone()[0]
    # the document the claim links stands in for the 申请单 (this branch's 合思 sandbox has no 申请单):
    # the claim names it by flow id, the booking by its 单据编号
    other = file_claim(sandboxes, mdm, amounts=("88.00",), staff=employee_no)  # names no requisition
    requisition = other["form"]["code"]
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8)))
    trip = booking("kingdee", "ORD-T", staff_id=staff, cost_center=cost_centers(mdm)[0], project=None,
                   requisition_code=requisition, booked_at=today, company=None)  # fmt: skip
    land_bookings(mdm, "kingdee", trip)
    accrue(mdm, "kingdee")
    assert accrual(mdm, "ORD-T")["state"] == "open"

    claim = file_claim(sandboxes, mdm, amounts=("1280.00",), staff=employee_no)
    world.mutate("corrupt_claim", code=claim["form"]["code"], path="form.expenseLinks", value=[other["id"], "ID_GONE"])
    run_ok(dagbag, CLAIMS)

    links = dict(mdm.execute("SELECT claim_no, requisition_codes FROM fin.claim").fetchall())
    assert links == {claim["form"]["code"]: [requisition, "ID_GONE"], requisition: []}
    assert accrual(mdm, "ORD-T")["state"] == "reversed"
    run_ok(dagbag, CLAIMS)  # the next run: nothing reversed twice
    assert len(erp_vouchers(sandboxes, "kingdee", "AC-ORD-T")) == 1
    assert len(erp_vouchers(sandboxes, "kingdee", "AC-ORD-T-R1")) == 1
    runs = [r[0] for r in mdm.execute("SELECT counts FROM sync.run_step WHERE step = 'reverse_accruals'").fetchall()]
    assert len(runs) == 2 and sum(r.get("reversed", 0) for r in runs) == 1, runs
