"""claim_events and voucher_status_pull end to end, for each ERP: the 合思 sandbox delivers its real
outbound messages to the webhook receiver, the DAGs run with dag.test() against a real PostgreSQL,
and the ERP sandbox holds exactly one voucher whose number ends up on the 合思 document."""

from decimal import Decimal

import pytest

from claimkit import (
    CLAIMS,
    CREATE_PATHS,
    ERPS,
    PULL,
    audit_in_erp,
    claim_row,
    claimant,
    cost_centers,
    die_at,
    erp_vouchers,
    file_claim,
    flow_of,
    ledger,
    mapped_fee_types,
    open_claim_items,
    prepare_world,
    run_ok,
    start_receiver,
    voucher_row,
)
from expense_sync.boundaries import AFTER_CALL, BEFORE_CALL
from testkit import run_dag, step_counts


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


@pytest.fixture(params=ERPS)
def erp_polled(request, dagbag, mdm, sandboxes, monkeypatch):
    """A synced world whose 合思 sends no webhooks: claims come in through the catch-up poll."""
    prepare_world(dagbag, mdm, sandboxes, monkeypatch, request.param)
    return request.param


def test_a_process_killed_around_the_erp_call_never_makes_a_second_voucher(dagbag, mdm, sandboxes, erp_polled):
    erp = erp_polled
    first = file_claim(sandboxes, mdm, amounts=("880.00",))["form"]["code"]
    assert die_at(BEFORE_CALL, erp, "post") == 137
    assert ledger(mdm, "voucher", first) == "sending" and voucher_row(mdm, first)["state"] == "sending"
    assert erp_vouchers(sandboxes, erp, first) == []  # died before the call: the ERP has nothing

    run_ok(dagbag, CLAIMS)  # the re-run looks the voucher up, finds nothing, creates it once
    assert len(erp_vouchers(sandboxes, erp, first)) == 1
    assert ledger(mdm, "voucher", first) == "done" and voucher_row(mdm, first)["remote_id"]
    assert step_counts(mdm, "post") == {"resent": 1, "created": 1}

    second = file_claim(sandboxes, mdm, amounts=("120.00", "45.10"))["form"]["code"]
    assert die_at(AFTER_CALL, erp, "post") == 137
    assert len(erp_vouchers(sandboxes, erp, second)) == 1  # the ERP holds it; our ledger does not know
    assert ledger(mdm, "voucher", second) == "sending"

    run_ok(dagbag, CLAIMS)  # the re-run finds it by claim number and adopts it
    assert len(erp_vouchers(sandboxes, erp, second)) == 1
    assert step_counts(mdm, "post") == {"adopted": 1}
    adopted = voucher_row(mdm, second)
    assert adopted["remote_id"] and ledger(mdm, "voucher", second) == "done"
    assert claim_row(mdm, second)["state"] in ("voucher_created", "voucher_audited")
    run_ok(dagbag, CLAIMS)
    assert [len(erp_vouchers(sandboxes, erp, c)) for c in (first, second)] == [1, 1]


def test_a_create_answered_too_late_is_adopted_and_a_dropped_one_is_resent(dagbag, mdm, sandboxes, erp_polled):
    erp = erp_polled
    erp_control = sandboxes.control(erp)
    late = file_claim(sandboxes, mdm, amounts=("300.00",))["form"]["code"]
    erp_control.faults({"kind": "slow_commit", "every": 1, "limit": 1, "paths": [CREATE_PATHS[erp]], "delay": 3})
    run_ok(dagbag, CLAIMS)  # the ERP committed, the answer came after the hook's timeout
    assert erp_control.stats()["faults_fired"] == {"slow_commit": 1}
    assert len(erp_vouchers(sandboxes, erp, late)) == 1
    assert step_counts(mdm, "post") == {"adopted": 1}

    dropped = file_claim(sandboxes, mdm, amounts=("99.90",))["form"]["code"]
    erp_control.faults({"kind": "timeout", "every": 1, "limit": 1, "paths": [CREATE_PATHS[erp]], "delay": 3})
    run_ok(dagbag, CLAIMS)  # dropped unprocessed: the task fails, its retry looks up, then creates
    assert erp_control.stats()["faults_fired"] == {"timeout": 1}
    assert len(erp_vouchers(sandboxes, erp, dropped)) == 1
    assert ledger(mdm, "voucher", dropped) == "done"
    assert [len(erp_vouchers(sandboxes, erp, c)) for c in (late, dropped)] == [1, 1]


def test_replayed_webhooks_and_reruns_make_one_voucher(dagbag, mdm, sandboxes, receiver, monkeypatch):
    prepare_world(dagbag, mdm, sandboxes, monkeypatch, "kingdee")
    claim_no = file_claim(sandboxes, mdm)["form"]["code"]
    for _ in range(3):  # 合思 retries its outbound message; the receiver stores the event once
        sandboxes.control("ekuaibao").mutate("resend_outbound", code=claim_no)
    assert len(inbox(mdm)) == 2
    run_ok(dagbag, CLAIMS)
    run_ok(dagbag, CLAIMS)
    assert len(erp_vouchers(sandboxes, "kingdee", claim_no)) == 1
    assert mdm.execute("SELECT count(*) FROM fin.voucher").fetchone()[0] == 1
    assert mdm.execute("SELECT attempts FROM sync.outbound WHERE entity = 'voucher'").fetchone()[0] == 1


def test_invalid_claims_and_disagreements_are_queued_without_a_voucher(dagbag, mdm, sandboxes, monkeypatch):
    prepare_world(dagbag, mdm, sandboxes, monkeypatch, "kingdee")
    ekb, dingtalk = sandboxes.control("ekuaibao"), sandboxes.control("dingtalk")
    good = file_claim(sandboxes, mdm, amounts=("200.00",))["form"]["code"]
    unmapped = file_claim(sandboxes, mdm, amounts=("50.00",), fee_types=["COST7"])["form"][
        "code"
    ]  # 办公用品: no category
    centers = cost_centers(mdm)
    ekb.mutate("set_budget", cost_center=centers[1], amount="1000.00")
    over = sandboxes.control("ekuaibao").mutate(
        "seed_claim",
        staff_code=claimant(mdm),
        lines=[{"fee_type_code": mapped_fee_types(mdm)[0], "amount": "1500.00", "cost_center": centers[1]}],
        state="paying",
    )["form"]["code"]
    dingtalk.mutate("start_approval", instance_id="PROC-REFUSED", state="refuse")
    dingtalk.mutate("start_approval", instance_id="PROC-RUNNING", state="running")
    refused = file_claim(sandboxes, mdm, amounts=("10.00",), oa_instance="PROC-REFUSED")["form"]["code"]
    running = file_claim(sandboxes, mdm, amounts=("20.00",), oa_instance="PROC-RUNNING")["form"]["code"]
    unknown = file_claim(sandboxes, mdm, amounts=("25.00",), oa_instance="PROC-NOWHERE")["form"]["code"]
    leaver = claimant(mdm, 3)
    late = file_claim(sandboxes, mdm, amounts=("30.00",), staff=leaver)["form"]["code"]
    mdm.execute(
        "UPDATE mdm.employee SET active = false, deactivated_at = now() - interval '40 days' WHERE employee_no = %s",
        (leaver,),
    )

    run_ok(dagbag, CLAIMS)
    assert open_claim_items(mdm) == {
        unmapped: ("quarantine", "fee_type_unmapped"),
        over: ("quarantine", "budget_exceeded"),
        refused: ("conflict", "oa_disagrees"),
        late: ("quarantine", "employee_inactive"),
        unknown: ("conflict", "oa_approval_missing"),
    }
    states = dict(mdm.execute("SELECT claim_no, state FROM fin.claim").fetchall())
    assert states == {
        good: "voucher_created",
        unmapped: "invalid",
        over: "invalid",
        refused: "invalid",
        running: "received",  # the OA approval is still running: it waits
        late: "invalid",
        unknown: "invalid",
    }
    assert [c for c in states if erp_vouchers(sandboxes, "kingdee", c)] == [good]
    assert step_counts(mdm, "validate")["waiting_for_oa"] == 1

    dingtalk.mutate("set_approval", instance_id="PROC-RUNNING", state="agree")
    ekb.mutate("set_budget", cost_center=centers[1], amount="5000.00")
    run_ok(dagbag, CLAIMS)  # the next run re-validates: the budget was raised, the OA approved
    assert set(open_claim_items(mdm)) == {unmapped, refused, late, unknown}
    assert len(erp_vouchers(sandboxes, "kingdee", over)) == 1 and len(erp_vouchers(sandboxes, "kingdee", running)) == 1


def test_changed_and_withdrawn_claims(dagbag, mdm, sandboxes, monkeypatch):
    prepare_world(dagbag, mdm, sandboxes, monkeypatch, "kingdee")
    ekb = sandboxes.control("ekuaibao")
    posted = file_claim(sandboxes, mdm, amounts=("400.00", "100.00"))["form"]["code"]
    bad = file_claim(sandboxes, mdm, amounts=("50.00",), fee_types=["COST7"])["form"]["code"]
    run_ok(dagbag, CLAIMS)
    assert open_claim_items(mdm) == {bad: ("quarantine", "fee_type_unmapped")}

    ekb.mutate("edit_claim_amount", code=posted, line=2, amount="150.00")  # no webhook: the poll sees it
    ekb.mutate("claim_action", code=bad, action="reject")
    run_ok(dagbag, CLAIMS)
    claim = claim_row(mdm, posted)
    assert (claim["version"], claim["state"], claim["total_amount"]) == (2, "voucher_created", Decimal("500.00"))
    assert claim["raw"]["form"]["expenseMoney"]["standard"] == "550.00"
    assert open_claim_items(mdm) == {posted: ("conflict", "changed_after_voucher")}  # nothing re-posted silently
    assert len(erp_vouchers(sandboxes, "kingdee", posted)) == 1
    assert voucher_row(mdm, posted)["total"] == Decimal("500.00")
    assert claim_row(mdm, bad)["state"] == "cancelled"
    assert step_counts(mdm, "collect")["cancelled"] == 1


def test_a_refused_voucher_waits_for_a_person_before_it_is_sent_again(dagbag, mdm, sandboxes, monkeypatch):
    import datetime as dt

    from expense_sync.store.queue import resolve_item

    prepare_world(dagbag, mdm, sandboxes, monkeypatch, "sap")
    claim_no = file_claim(sandboxes, mdm, amounts=("70.00",))["form"]["code"]
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8)))
    sandboxes.control("sap").mutate("close_period", company="1000", period=f"{today:%Y-%m}")  # the claim's month

    def soap_posts() -> int:
        calls = sandboxes.control("sap").stats()["calls"]
        return sum(n for key, n in calls.items() if key.startswith("POST /sap/bc/srt"))

    state, tasks = run_dag(dagbag, CLAIMS)  # the refusal makes the run red (expense_sync.outcomes)
    assert state == "failed" and tasks["post_vouchers"] == "success" and tasks["summarize"] == "failed", tasks
    assert open_claim_items(mdm) == {claim_no: ("quarantine", "voucher_refused")}
    assert claim_row(mdm, claim_no)["state"] == "invalid" and voucher_row(mdm, claim_no)["state"] == "error"
    assert ledger(mdm, "voucher", claim_no) == "failed" and soap_posts() == 1
    run_ok(dagbag, CLAIMS)  # nothing new: green
    assert soap_posts() == 1, "a refused voucher is not sent again on its own"

    item = mdm.execute("SELECT item_id FROM sync.exception_item WHERE reason_code = 'voucher_refused'").fetchone()[0]
    assert resolve_item(mdm, item, decision="retry", actor="li.na", note="period reopened")
    state, tasks = run_dag(dagbag, CLAIMS)  # resolved: validated and sent again (the period is still closed)
    assert state == "failed" and tasks["summarize"] == "failed", "refused again: a new item, a red run"
    assert soap_posts() == 2
    assert erp_vouchers(sandboxes, "sap", claim_no) == []


def test_a_malformed_document_is_queued_and_the_claims_beside_it_still_become_vouchers(
    dagbag, mdm, sandboxes, receiver, monkeypatch
):
    prepare_world(dagbag, mdm, sandboxes, monkeypatch, "kingdee")
    monkeypatch.setenv("AIRFLOW_VAR_EXPENSE_SYNC_INBOX_MAX_ATTEMPTS", "2")
    good = file_claim(sandboxes, mdm, amounts=("200.00",))["form"]["code"]
    bad = file_claim(sandboxes, mdm, amounts=("50.00",))["form"]["code"]
    sandboxes.control("ekuaibao").mutate("corrupt_claim", code=bad, path="form.expenseDate", value=1e22)

    def bad_events() -> list[tuple]:
        return mdm.execute(
            "SELECT status, attempts, last_error LIKE %s FROM sync.event_inbox WHERE payload ->> 'code' = %s",
            (f"{bad}: expenseDate: %", bad),
        ).fetchall()

    run_ok(dagbag, CLAIMS, catch_up=False)  # one inbox batch: the good claim is posted, the bad one queued
    assert open_claim_items(mdm) == {bad: ("quarantine", "document_malformed")}
    assert claim_row(mdm, good)["state"] == "voucher_created" and len(erp_vouchers(sandboxes, "kingdee", good)) == 1
    assert bad_events() == [("new", 1, True), ("new", 1, True)]
    run_ok(dagbag, CLAIMS)  # the Variable's second attempt gives the events up; the catch-up queues it again
    assert bad_events() == [("failed", 2, True), ("failed", 2, True)]
    assert open_claim_items(mdm) == {bad: ("quarantine", "document_malformed")}
    assert dict(mdm.execute("SELECT claim_no, state FROM fin.claim").fetchall()) == {good: "voucher_created"}
    assert len(erp_vouchers(sandboxes, "kingdee", good)) == 1
