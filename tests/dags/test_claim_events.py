"""claim_events and voucher_status_pull end to end, for each ERP: the 合思 sandbox delivers its real
outbound messages to the webhook receiver, the DAGs run with dag.test() against a real PostgreSQL,
and the ERP sandbox holds exactly one voucher whose number ends up on the 合思 document."""

from decimal import Decimal

import pytest
from claimkit import (
    CLAIMS,
    ERPS,
    PULL,
    audit_in_erp,
    claim_row,
    erp_vouchers,
    file_claim,
    flow_of,
    open_claim_items,
    prepare_world,
    run_ok,
    start_receiver,
    voucher_row,
)

from testkit import step_counts


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
    return request.param


def inbox(mdm) -> list[tuple]:
    return mdm.execute("SELECT source, event_type, status FROM sync.event_inbox ORDER BY event_id").fetchall()


def test_travel_claim_becomes_one_voucher_whose_number_reaches_the_claim(dagbag, mdm, sandboxes, receiver, erp):
    flow = file_claim(sandboxes, mdm, amounts=("1280.00", "356.50"))
    claim_no = flow["form"]["code"]
    assert [(s, t) for s, t, _ in inbox(mdm)] == [("ekuaibao", "backlog.approving"), ("ekuaibao", "backlog.paying")]
    assert receiver.notified, "the receiver announced the claims asset"

    run_ok(dagbag, CLAIMS, catch_up=False)  # the webhook alone brings the claim in
    assert {status for *_, status in inbox(mdm)} == {"processed"}
    claim = claim_row(mdm, claim_no)
    assert claim["total_amount"] == Decimal("1636.50") and claim["version"] == 1
    lines = mdm.execute(
        "SELECT amount, gl_account IS NOT NULL, cost_center IS NOT NULL FROM fin.claim_line l "
        "JOIN fin.claim c USING (claim_id) WHERE c.claim_no = %s ORDER BY line_no",
        (claim_no,),
    ).fetchall()
    assert lines == [(Decimal("1280.00"), True, True), (Decimal("356.50"), True, True)]
    [held] = erp_vouchers(sandboxes, erp, claim_no)
    voucher = voucher_row(mdm, claim_no)
    assert voucher["total"] == Decimal("1636.50") and voucher["remote_id"]
    assert len(voucher["lines"]) == 3  # Dr clearing per line, Cr employee payable
    assert claim_row(mdm, claim_no)["state"] == ("voucher_audited" if erp == "sap" else "voucher_created")

    audit_in_erp(sandboxes, erp, claim_no, voucher["remote_id"])
    run_ok(dagbag, PULL)
    voucher = voucher_row(mdm, claim_no)
    assert voucher["state"] in ("audited", "posted") and voucher["number"]
    assert claim_row(mdm, claim_no)["state"] == "voucher_audited", "合思 takes the number only once paid"
    assert flow_of(sandboxes, claim_no)["form"]["voucherNo"] == ""
    assert step_counts(mdm, "pull")["write_back"] == {"waiting_for_payment": 1}

    sandboxes.control("ekuaibao").mutate("claim_action", code=claim_no, action="pay")
    run_ok(dagbag, PULL)
    form = flow_of(sandboxes, claim_no)["form"]
    assert form["voucherNo"] == voucher["number"] and form["voucherStatus"] == "已生成"
    assert claim_row(mdm, claim_no)["state"] == "closed"
    assert voucher_row(mdm, claim_no)["written_back_at"] is not None

    run_ok(dagbag, CLAIMS)  # the payment webhook and a catch-up poll change nothing
    assert len(erp_vouchers(sandboxes, erp, claim_no)) == 1
    assert claim_row(mdm, claim_no)["state"] == "closed"
    assert open_claim_items(mdm) == {}
    calls = sandboxes.control("ekuaibao").stats()["calls"]
    before = sum(calls.values())
    run_ok(dagbag, PULL)
    assert sum(sandboxes.control("ekuaibao").stats()["calls"].values()) == before, "nothing open: no vendor call"
    assert held
