"""The OA hooks' approval side (``OaApprovals``) against the DingTalk and WeCom sandboxes over HTTP:
create, the lookup after a create whose answer was lost, people deciding in the OA, the states the
hook reads back, transfer (DingTalk) and its refusal (WeCom)."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from expense_sync.approvals.contract import ApprovalNode, ApprovalRequest, TransferUnsupportedError
from expense_sync.hooks.dingtalk import DingTalkHook
from expense_sync.hooks.errors import (
    AuthenticationError,
    ConfigurationError,
    OutcomeUnknownError,
    VendorRequestError,
)
from expense_sync.hooks.wecom import WeComHook
from testkit import point_connection, serve

CREATE = {"dingtalk": "/v1.0/workflow/processInstances", "wecom": "/cgi-bin/oa/applyevent"}


def people(control, n: int) -> list[str]:
    """``n`` active user ids of the sandbox's company."""
    return [p["userid"] for p in control.state()["people"] if p["active"]][:n]


def request_for(users: list[str], key: str = "FLOW-1:1700000000000") -> ApprovalRequest:
    originator, manager, finance_a, finance_b = users[:4]
    return ApprovalRequest(
        business_key=key,
        title="差旅申请 张三",
        originator=originator,
        department="2",
        nodes=(ApprovalNode("主管", (manager,)), ApprovalNode("财务", (finance_a, finance_b))),
        form=(("金额", "1200.00"), ("事由", "北京出差")),
    )


@pytest.fixture(params=["dingtalk", "wecom"])
def oa(request, sandboxes):
    hook = DingTalkHook() if request.param == "dingtalk" else WeComHook()
    return hook, sandboxes.control(request.param)


def test_a_created_approval_reads_back_with_its_key_and_the_first_nodes_task(oa):
    hook, control = oa
    users = people(control, 5)
    req = request_for(users)

    instance_id = hook.create_approval(req)
    detail = hook.approval(instance_id)

    assert (detail.instance_id, detail.state, detail.business_key) == (instance_id, "running", req.business_key)
    assert [(t.approver, t.state) for t in detail.tasks] == [(users[1], "pending")]
    assert (detail.comment, detail.decided_by, detail.finished_at) == ("", None, None)
    assert hook.approval_state(instance_id) == "running"


def test_a_create_whose_answer_was_lost_is_found_by_its_business_key_and_not_made_twice(oa):
    hook, control = oa
    users = people(control, 5)
    since = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    other = hook.create_approval(request_for(users, key="FLOW-0:1"))  # same originator, another document
    control.faults({"kind": "slow_commit", "every": 1, "limit": 1, "delay": 2.5, "paths": [CREATE[hook.vendor]]})
    req = request_for(users)

    with pytest.raises(OutcomeUnknownError):
        hook.create_approval(req)
    found = hook.find_approval(req, since)

    assert found is not None and found != other
    assert hook.approval(found).business_key == req.business_key
    assert control.stats()["calls"][f"POST {CREATE[hook.vendor]}"] == 2  # committed once, never re-sent
    assert hook.find_approval(request_for(users, key="FLOW-9:9"), since) is None
    assert hook.find_approval(req, dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)) is None  # before since: not it


def test_decisions_in_the_oa_advance_the_nodes_and_approve_the_instance(oa):
    hook, control = oa
    users = people(control, 5)
    instance_id = hook.create_approval(request_for(users))

    control.mutate("decide_task", instance_id=instance_id, approver=users[1], result="agree", comment="同意")
    middle = hook.approval(instance_id)
    assert middle.state == "running"
    assert {t.approver: t.state for t in middle.tasks} == {
        users[1]: "approved",
        users[2]: "pending",
        users[3]: "pending",
    }

    control.mutate("decide_task", instance_id=instance_id, approver=users[3], result="agree", comment="财务已核")
    done = hook.approval(instance_id)

    assert (done.state, done.decided_by, done.comment) == ("approved", users[3], "财务已核")
    assert {t.approver: t.state for t in done.tasks} == {
        users[1]: "approved",
        users[2]: "canceled",
        users[3]: "approved",
    }
    assert done.finished_at is not None and abs(done.finished_at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=2)
    assert hook.approval_state(instance_id) == "approved"


def test_a_refusal_ends_the_instance_with_the_refusers_remark(oa):
    hook, control = oa
    users = people(control, 5)
    instance_id = hook.create_approval(request_for(users))

    control.mutate("decide_task", instance_id=instance_id, approver=users[1], result="refuse", comment="超预算")
    detail = hook.approval(instance_id)

    assert (detail.state, detail.decided_by, detail.comment) == ("rejected", users[1], "超预算")
    assert [(t.approver, t.state) for t in detail.tasks] == [(users[1], "rejected")]
    with pytest.raises(RuntimeError, match="no running task"):  # a decided instance takes no more decisions
        control.mutate("decide_task", instance_id=instance_id, approver=users[2], result="agree")


def test_a_withdrawn_instance_reads_as_withdrawn(oa):
    hook, control = oa
    users = people(control, 5)
    instance_id = hook.create_approval(request_for(users))

    control.mutate("withdraw_approval", instance_id=instance_id)

    detail = hook.approval(instance_id)
    assert detail.state == "withdrawn"
    assert [t.state for t in detail.tasks] == ["canceled"]


def test_an_unknown_instance_is_a_refusal(oa):
    hook, _ = oa
    with pytest.raises(VendorRequestError) as refused:
        hook.approval("no-such-instance")
    assert refused.value.code in ("processInstanceNotExist", 301025)


def test_dingtalk_transfers_a_waiting_task_to_another_approver(sandboxes):
    hook, control = DingTalkHook(), sandboxes.control("dingtalk")
    users = people(control, 6)
    instance_id = hook.create_approval(request_for(users))
    (task,) = hook.approval(instance_id).tasks

    hook.transfer_task(instance_id, task, users[5], "主管休假，请代为审批")
    after = hook.approval(instance_id)

    assert [(t.approver, t.state) for t in after.tasks] == [(users[1], "transferred"), (users[5], "pending")]
    with pytest.raises(VendorRequestError) as again:  # the old task is no longer waiting
        hook.transfer_task(instance_id, task, users[4], "")
    assert again.value.code == "task.status.error"

    control.mutate("decide_task", instance_id=instance_id, approver=users[5], result="agree", comment="代批")
    assert {t.approver: t.state for t in hook.approval(instance_id).tasks}[users[5]] == "approved"


def test_wecom_refuses_to_transfer_and_says_a_person_must(sandboxes):
    hook, control = WeComHook(), sandboxes.control("wecom")
    users = people(control, 6)
    instance_id = hook.create_approval(request_for(users))
    (task,) = hook.approval(instance_id).tasks
    before = control.stats()["calls"]

    with pytest.raises(TransferUnsupportedError, match="WeCom app"):
        hook.transfer_task(instance_id, task, users[5], "")
    assert control.stats()["calls"] == before  # nothing was sent


def test_without_the_template_the_hook_refuses_to_create(sandboxes, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_OA_DINGTALK", sandboxes.connection("oa_dingtalk", approval_process_code=None))
    with pytest.raises(ConfigurationError, match="approval_process_code"):
        DingTalkHook().create_approval(request_for(["a", "b", "c", "d"]))


def test_the_existing_approval_states_still_read_through_the_new_api(sandboxes):
    """``start_approval`` instances (no nodes) read through ``approval_state``, as claims validation does."""
    hook, control = DingTalkHook(), sandboxes.control("dingtalk")
    control.mutate("start_approval", instance_id="PROC-OLD", state="agree")
    assert hook.approval_state("PROC-OLD") == "approved"
    assert control.stats()["calls"].get("GET /v1.0/workflow/processInstances") == 1


def test_dingtalk_v1_errors_are_told_apart(monkeypatch):
    """HTTP 400 InvalidAuthentication: a new token and the call again; 403 QpmLimitForAppkeyAndApi:
    throttled, retried after the wait; 403 otherwise: refused, not retried; 400 otherwise: a refusal
    naming DingTalk's code (the answers of the global error-code page, served at the network edge)."""
    answers = [
        (400, {"code": "InvalidAuthentication", "message": "不合法的access_token"}),
        (403, {"code": "Forbidden.AccessDenied.QpmLimitForAppkeyAndApi", "message": "限流"}),
        (200, {"result": {"status": "RUNNING", "tasks": [], "operationRecords": []}, "success": "true"}),
        (403, {"code": "Forbidden.AccessDenied.AccessTokenPermissionDenied", "message": "没有调用该接口的权限"}),
        (400, {"code": "processInstanceNotExist", "message": "审批实例不存在"}),
    ]
    app, tokens = FastAPI(), []

    @app.get("/gettoken")
    async def gettoken():
        tokens.append(len(tokens))
        return {"errcode": 0, "errmsg": "ok", "access_token": f"t{len(tokens)}", "expires_in": 7200}

    @app.get("/v1.0/workflow/processInstances")
    async def get():
        status, body = answers.pop(0)
        return JSONResponse(body, status_code=status)

    url, server, thread = serve(app)
    try:
        point_connection(monkeypatch, "oa_dingtalk", url, throttle_wait=0.01)
        hook = DingTalkHook()
        assert hook.approval("x").state == "running"
        assert (len(tokens), hook.stats["token_refusals"], hook.stats["throttled"]) == (2, 1, 1)
        with pytest.raises(AuthenticationError):
            hook.approval("x")
        with pytest.raises(VendorRequestError) as refused:
            hook.approval("x")
        assert (refused.value.status, refused.value.code) == (400, "processInstanceNotExist")
        assert answers == []
    finally:
        server.should_exit = True
        thread.join(5)
