"""voucher_status_pull with dag.test(): cheap when nothing is open, the write-back waits for payment,
and a process killed after the write-back (before the claim is closed) settles on the next pull."""

import pytest

from claimkit import (
    CLAIMS,
    ERPS,
    PULL,
    audit_in_erp,
    claim_row,
    die_at,
    erp_vouchers,
    file_claim,
    flow_of,
    ledger,
    prepare_world,
    run_ok,
    voucher_row,
)
from expense_sync.boundaries import AFTER_CALL
from testkit import step_counts


def vendor_calls(sandboxes) -> int:
    return sum(sum(sandboxes.control(v).stats()["calls"].values()) for v in ("ekuaibao", *ERPS))


def test_nothing_open_means_no_vendor_call(dagbag, mdm, sandboxes):
    before = vendor_calls(sandboxes)
    tasks = run_ok(dagbag, PULL)
    assert tasks == {"pull_voucher_status": "success"}
    assert vendor_calls(sandboxes) == before
    assert mdm.execute("SELECT count(*) FROM sync.run WHERE dag_id = %s", (PULL,)).fetchone()[0] == 0


@pytest.mark.parametrize("erp", ERPS)
def test_killed_after_the_write_back_the_next_pull_closes_the_claim(dagbag, mdm, sandboxes, monkeypatch, erp):
    prepare_world(dagbag, mdm, sandboxes, monkeypatch, erp)
    claim_no = file_claim(sandboxes, mdm, amounts=("666.60",))["form"]["code"]
    run_ok(dagbag, CLAIMS)
    voucher = voucher_row(mdm, claim_no)
    audit_in_erp(sandboxes, erp, claim_no, voucher["remote_id"])

    run_ok(dagbag, PULL)  # audited, but 合思 refuses the number until the claim is paid
    assert claim_row(mdm, claim_no)["state"] == "voucher_audited"
    assert ledger(mdm, "voucher_writeback", claim_no) == "blocked"
    run_ok(dagbag, PULL)  # still not paid: still waiting, not an error
    assert step_counts(mdm, "pull")["write_back"] == {"waiting_for_payment": 1}

    sandboxes.control("ekuaibao").mutate("claim_action", code=claim_no, action="pay")
    assert die_at(AFTER_CALL, erp, "pull") == 137
    number = voucher_row(mdm, claim_no)["number"]
    assert flow_of(sandboxes, claim_no)["form"]["voucherNo"] == number  # 合思 has it; we did not record it
    assert claim_row(mdm, claim_no)["state"] == "voucher_audited"
    assert ledger(mdm, "voucher_writeback", claim_no) == "sending"

    run_ok(dagbag, PULL)  # the write-back overwrites with the same number, then the claim closes
    assert claim_row(mdm, claim_no)["state"] == "closed"
    assert ledger(mdm, "voucher_writeback", claim_no) == "done"
    write_backs = sandboxes.control("ekuaibao").state()["writeBacks"]
    assert {w["voucherNo"] for w in write_backs} == {number} and len(write_backs) == 2
    assert flow_of(sandboxes, claim_no)["form"]["voucherNo"] == number
    assert len(erp_vouchers(sandboxes, erp, claim_no)) == 1


def test_an_archived_document_is_queued_for_a_person_not_waited_for(dagbag, mdm, sandboxes, monkeypatch):
    """合思 takes a voucher number only while the document is ``paid`` (open-platform-docs
    flows/voucher-write-back.md); ``archived`` comes after it for good, so waiting would be for ever."""
    prepare_world(dagbag, mdm, sandboxes, monkeypatch, "kingdee")
    claim_no = file_claim(sandboxes, mdm, amounts=("321.00",))["form"]["code"]
    run_ok(dagbag, CLAIMS)
    audit_in_erp(sandboxes, "kingdee", claim_no, voucher_row(mdm, claim_no)["remote_id"])
    for action in ("pay", "archive"):
        sandboxes.control("ekuaibao").mutate("claim_action", code=claim_no, action=action)
    run_ok(dagbag, CLAIMS)  # 合思's new state reaches the claim
    assert claim_row(mdm, claim_no)["expense_state"] == "archived"

    run_ok(dagbag, PULL)
    assert step_counts(mdm, "pull")["write_back"] == {"refused": 1}
    assert ledger(mdm, "voucher_writeback", claim_no) == "failed"
    reasons = mdm.execute(
        "SELECT reason_code, reason FROM sync.exception_item WHERE record_key = %s AND status = 'open'", (claim_no,)
    ).fetchall()
    assert [code for code, _ in reasons] == ["write_back_refused"] and "archived" in reasons[0][1]
    assert (
        "voucherNo" not in flow_of(sandboxes, claim_no)["form"] or not flow_of(sandboxes, claim_no)["form"]["voucherNo"]
    )
