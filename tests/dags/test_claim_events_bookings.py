"""claim_events with a travel booking, end to end: the 合思 sandbox books a flight against a 申请单 and
delivers its 业务对象数据变更 message to the webhook receiver; the run accrues it in Kingdee once; the
trip's claim (linked to the 申请单) is posted by a later run, which reverses the accrual once.

Needs the 合思 booking hook and sandbox (branch ek-approvals: ``seed_application``, ``seed_booking``,
the connection's ``booking_entity_id``)."""

from __future__ import annotations

import pytest

from claimkit import (
    CLAIMS,
    claimant,
    cost_centers,
    erp_vouchers,
    file_claim,
    prepare_world,
    run_ok,
    start_receiver,
)
from expense_sync_sandboxes.ekuaibao.bookings import ORDER_ENTITY


@pytest.fixture
def ekb(dagbag, mdm, sandboxes, monkeypatch):
    prepare_world(dagbag, mdm, sandboxes, monkeypatch, "kingdee", booking_entity_id=ORDER_ENTITY)
    running = start_receiver()
    control = sandboxes.control("ekuaibao")
    control.mutate("configure_outbound", url=running.ekuaibao_url)
    yield control
    control.mutate("configure_outbound", url=None)
    running.stop()


def test_a_booking_event_is_accrued_once_and_the_trips_claim_reverses_it(dagbag, mdm, sandboxes, ekb):
    staff = claimant(mdm)
    # 合思's orders carry no cost center: the traveller's department owns one in the master data
    mdm.execute(
        """UPDATE mdm.cost_center SET owner_unit = (
               SELECT u.code FROM mdm.employee e JOIN mdm.org_unit u USING (org_unit_id) WHERE e.employee_no = %s)
            WHERE code = %s""",
        (staff, cost_centers(mdm)[0]),
    )
    application = ekb.mutate("seed_application", staff_code=staff, amount="5000", state="paid")
    order = ekb.mutate(
        "seed_booking", requisition_code=application["form"]["code"], category="flight", amount="1280.00"
    )
    events = mdm.execute("SELECT event_type, status FROM sync.event_inbox WHERE event_type = 'dataLink'").fetchall()
    assert events == [("dataLink", "new")]

    run_ok(dagbag, CLAIMS, catch_up=False)  # the message alone brings the booking in
    assert mdm.execute("SELECT status FROM sync.event_inbox WHERE event_type = 'dataLink'").fetchall() == [
        ("processed",)
    ]
    state, ref = mdm.execute(
        "SELECT a.state, v.external_ref FROM fin.accrual a JOIN fin.voucher v ON v.voucher_id = a.voucher_id"
    ).fetchone()
    assert (state, ref) == ("open", f"AC-{order['id']}")

    claim = file_claim(sandboxes, mdm, amounts=("1280.00",), staff=staff)
    ekb.mutate("corrupt_claim", code=claim["form"]["code"], path="form.expenseLinks", value=[application["id"]])
    run_ok(dagbag, CLAIMS)
    run_ok(dagbag, CLAIMS)  # and again: nothing more

    assert mdm.execute("SELECT state FROM fin.accrual").fetchall() == [("reversed",)]
    assert len(erp_vouchers(sandboxes, "kingdee", ref)) == 1
    assert len(erp_vouchers(sandboxes, "kingdee", f"{ref}-R1")) == 1
