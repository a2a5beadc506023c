"""The OAs' own example answers of the approval calls (``tests/fixtures/vendor_docs/<vendor>/approval_*``):
the hooks parse each, served at the network edge by a stand-in for the vendor, and the sandboxes
answer the same calls in the same shape.

DingTalk: open.dingtalk.com "发起审批实例", "获取单个审批实例详情", "获取审批实例ID列表", "转交OA审批任务"
(the v1.0 workflow API); WeCom: developer.work.weixin.qq.com 91853 提交审批申请, 91816 批量获取审批单号,
91983 获取审批申请详情. Copies of the pages are named in each fixture's ``source``."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest
import requests
from fastapi import FastAPI, Request
from test_oa_approvals import people
from vendordocs import assert_same_shape, load

from expense_sync.approvals.contract import ApprovalNode, ApprovalRequest
from expense_sync.hooks.dingtalk import DingTalkHook
from expense_sync.hooks.wecom import WeComHook
from expense_sync_sandboxes import dingtalk, wecom
from testkit import point_connection, serve

DING = {n: load("dingtalk", n) for n in ("approval_create", "approval_get", "approval_instance_ids")}
DING["approval_task_redirect"] = load("dingtalk", "approval_task_redirect")
WECOM = {n: load("wecom", n) for n in ("approval_applyevent", "approval_info", "approval_detail")}
TOKEN = {"errcode": 0, "errmsg": "ok", "access_token": "edge-token", "expires_in": 7200}


def documented(docs: dict[str, dict], name: str) -> Any:
    return copy.deepcopy(docs[name]["response"])


def without(answer: Any, *paths: str) -> Any:
    """``answer`` with the arrays at ``paths`` (dotted, ``[]`` for every item) emptied: parts of the
    example the sandbox does not model (cc lists, attachments, images)."""
    answer = copy.deepcopy(answer)

    def clear(node: Any, parts: list[str]) -> None:
        if not parts or node is None:
            return
        head, rest = parts[0], parts[1:]
        if head.endswith("[]"):
            for item in node.get(head[:-2]) or []:
                clear(item, rest)
        elif not rest:
            node[head] = []
        else:
            clear(node.get(head), rest)

    for path in paths:
        clear(answer, path.split("."))
    return answer


@pytest.fixture
def edge(monkeypatch):
    """``edge(vendor, **extra)``: the OA's connection pointed at a stand-in that answers every approval
    call with the documented example (a second page of a listing empty); the bodies it got are in
    ``edge.calls``."""
    servers = []

    def connect(vendor: str, **extra: Any):
        app = FastAPI()

        @app.get("/gettoken")
        @app.get("/cgi-bin/gettoken")
        async def gettoken():
            return TOKEN

        @app.api_route("/{path:path}", methods=["GET", "POST"])
        async def answer(path: str, request: Request):
            body = (await request.json()) if await request.body() else dict(request.query_params)
            connect.calls.append(
                (f"{request.method} /{path}", body, request.headers.get("x-acs-dingtalk-access-token"))
            )
            docs = DING if vendor == "dingtalk" else WECOM
            by_endpoint = {doc["endpoint"]: doc["response"] for doc in docs.values()}
            if path.endswith("instanceIds/query") and body.get("nextToken"):
                return {"result": {"list": []}, "success": True}
            return by_endpoint[f"{request.method} /{path}"]

        url, server, thread = serve(app)
        servers.append((server, thread))
        point_connection(monkeypatch, f"oa_{vendor}", url, login="key", **extra)
        return DingTalkHook() if vendor == "dingtalk" else WeComHook()

    connect.calls = []
    yield connect
    for server, thread in servers:
        server.should_exit = True
        thread.join(5)


def key_request(key: str) -> ApprovalRequest:
    return ApprovalRequest(key, "差旅申请", "manager1", "1", (ApprovalNode("主管", ("a", "b")),))


# -- DingTalk -----------------------------------------------------------------------------------------
def test_dingtalk_parses_the_documented_instance(edge):
    hook = edge("dingtalk", approval_process_code="PROC-FF6Y2xxxx", approval_key_field="组件1")

    detail = hook.approval("111")

    assert (detail.state, detail.business_key, detail.comment, detail.decided_by) == (
        "running",
        "示例值",
        "评论",
        "manager1",
    )
    assert [(t.task_id, t.approver, t.state) for t in detail.tasks] == [("111", "manager1", "transferred")]
    assert detail.finished_at == dt.datetime(2022, 8, 31, 11, 52, tzinfo=dt.UTC)
    assert edge.calls == [("GET /v1.0/workflow/processInstances", {"processInstanceId": "111"}, "edge-token")]


def test_dingtalk_creates_finds_and_transfers_on_the_documented_answers(edge):
    hook = edge("dingtalk", approval_process_code="PROC-FF6Y2xxxx", approval_key_field="组件1")

    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    assert hook.create_approval(key_request("示例值")) == "91ef1076-c3ed-4a78-xxxx-fa29ef2d6252"
    assert hook.find_approval(key_request("示例值"), since) == "123"  # found on the first page: no more asked
    assert hook.find_approval(key_request("FLOW-9:9"), since) is None  # every page read, no instance carries it
    (task,) = hook.approval("123").tasks
    hook.transfer_task("123", task, "manager2", "请代批")

    paths = [call[0] for call in edge.calls]
    assert paths == [
        "POST /v1.0/workflow/processInstances",
        "POST /v1.0/workflow/processes/instanceIds/query",
        "GET /v1.0/workflow/processInstances",
        "POST /v1.0/workflow/processes/instanceIds/query",
        "GET /v1.0/workflow/processInstances",
        "POST /v1.0/workflow/processes/instanceIds/query",
        "GET /v1.0/workflow/processInstances",
        "POST /v1.0/workflow/tasks/redirect",
    ]
    create, first, second, redirect = edge.calls[0], edge.calls[3], edge.calls[5], edge.calls[7]
    assert create[1] == {
        "originatorUserId": "manager1",
        "processCode": "PROC-FF6Y2xxxx",
        "approvers": [{"actionType": "OR", "userIds": ["a", "b"]}],
        "formComponentValues": [{"name": "组件1", "value": "示例值"}],
        "deptId": 1,
    }
    assert (first[1]["nextToken"], first[1]["maxResults"], first[1]["userIds"]) == (0, 20, ["manager1"])
    assert second[1]["nextToken"] == 10  # the documented nextToken "10", sent back as the number it stands for
    assert redirect[1] == {"taskId": 111, "toUserId": "manager2", "operateUserId": "manager1", "remark": "请代批"}


def v1(sandboxes, method: str, path: str, **kw: Any) -> Any:
    base = sandboxes.url("dingtalk")
    token = requests.get(
        base + "/gettoken", params={"appkey": dingtalk.APP_KEY, "appsecret": dingtalk.APP_SECRET}, timeout=10
    ).json()["access_token"]
    return requests.request(method, base + path, headers={"x-acs-dingtalk-access-token": token}, timeout=10, **kw)


def test_the_dingtalk_sandbox_answers_in_the_documented_shapes(sandboxes):
    control = sandboxes.control("dingtalk")
    users = people(control, 6)
    body = {
        "originatorUserId": users[0],
        "processCode": "PROC-EXPENSE-SANDBOX",
        "approvers": [{"actionType": "NONE", "userIds": [users[1]]}, {"actionType": "OR", "userIds": users[2:4]}],
        "formComponentValues": [{"name": "业务单号", "value": "FLOW-1:1"}],
    }
    created = v1(sandboxes, "POST", "/v1.0/workflow/processInstances", json=body).json()
    assert_same_shape(DING["approval_create"]["response"], created, where="sandbox create")
    v1(sandboxes, "POST", "/v1.0/workflow/processInstances", json=body)
    instance_id = created["instanceId"]
    control.mutate("decide_task", instance_id=instance_id, approver=users[1], result="agree", comment="同意")
    got = v1(sandboxes, "GET", "/v1.0/workflow/processInstances", params={"processInstanceId": instance_id}).json()
    task = next(t for t in got["result"]["tasks"] if t["status"] == "RUNNING")
    redirected = v1(
        sandboxes,
        "POST",
        "/v1.0/workflow/tasks/redirect",
        json={"taskId": task["taskId"], "toUserId": users[5], "operateUserId": task["userId"], "remark": "代批"},
    )
    assert_same_shape(DING["approval_task_redirect"]["response"], redirected.json(), where="sandbox redirect")
    got = v1(sandboxes, "GET", "/v1.0/workflow/processInstances", params={"processInstanceId": instance_id}).json()
    not_modelled = (
        "result.ccUserIds",
        "result.attachedProcessInstanceIds",
        "result.operationRecords[].attachments",
        "result.operationRecords[].ccUserIds",
        "result.operationRecords[].images",
    )
    assert_same_shape(without(DING["approval_get"]["response"], *not_modelled), got, where="sandbox get")
    query = {"processCode": "PROC-EXPENSE-SANDBOX", "startTime": 0, "nextToken": 0, "maxResults": 1}
    listed = v1(sandboxes, "POST", "/v1.0/workflow/processes/instanceIds/query", json=query).json()
    assert_same_shape(DING["approval_instance_ids"]["response"], listed, where="sandbox instanceIds/query")
    unknown = v1(sandboxes, "GET", "/v1.0/workflow/processInstances", params={"processInstanceId": "nope"})
    assert (unknown.status_code, unknown.json()["code"]) == (400, "processInstanceNotExist")


# -- WeCom --------------------------------------------------------------------------------------------
def test_wecom_parses_the_documented_application(edge):
    hook = edge(
        "wecom",
        approval_template_id="Bs5KJ2NT4ncf4ZygaE8MB3779yUW8nsMaJd3mmE9v",
        approval_key_control="Text-15111111111",
    )

    detail = hook.approval("201909270002")

    assert (detail.instance_id, detail.state, detail.business_key) == ("201909270002", "running", "文本填写的内容")
    assert [(t.task_id, t.approver, t.state, t.node) for t in detail.tasks] == [
        ("201909270002:0:WuJunJie", "WuJunJie", "pending", 0),
        ("201909270002:0:WangXiaoMing", "WangXiaoMing", "pending", 0),
    ]
    assert (detail.comment, detail.decided_by, detail.finished_at) == ("", None, None)


def test_wecom_creates_and_finds_on_the_documented_answers(edge):
    hook = edge("wecom", approval_template_id="tpl", approval_key_control="Text-15111111111")

    assert hook.create_approval(key_request("文本填写的内容")) == "202001010001"
    found = hook.find_approval(key_request("文本填写的内容"), dt.datetime.now(dt.UTC) - dt.timedelta(days=1))

    assert found == "201909270001"  # the first listed number whose detail carries the key
    create, listing = edge.calls[0][1], edge.calls[1][1]
    assert create["process"] == {"node_list": [{"type": 1, "apv_rel": 2, "userid": ["a", "b"]}]}
    assert create["apply_data"] == {
        "contents": [{"control": "Text", "id": "Text-15111111111", "value": {"text": "文本填写的内容"}}]
    }
    assert (create["use_template_approver"], create["template_id"], create["choose_department"]) == (0, "tpl", 1)
    assert listing["filters"] == [{"key": "template_id", "value": "tpl"}, {"key": "creator", "value": "manager1"}]
    assert (listing["size"], listing["new_cursor"]) == (100, "")


def test_the_wecom_sandbox_answers_in_the_documented_shapes(sandboxes):
    control = sandboxes.control("wecom")
    users = people(control, 5)
    base = sandboxes.url("wecom")
    token = requests.get(
        base + "/cgi-bin/gettoken", params={"corpid": wecom.CORP_ID, "corpsecret": wecom.CORP_SECRET}, timeout=10
    ).json()["access_token"]

    def call(path: str, body: dict) -> dict:
        return requests.post(f"{base}/cgi-bin/oa/{path}", params={"access_token": token}, json=body, timeout=10).json()

    hook_body = {
        "creator_userid": users[0],
        "template_id": "expense-approval-sandbox",
        "use_template_approver": 0,
        "process": {
            "node_list": [
                {"type": 1, "apv_rel": 2, "userid": users[1:3]},
                {"type": 1, "apv_rel": 1, "userid": users[3:5]},
            ]
        },
        "apply_data": {"contents": [{"control": "Text", "id": "Text-business-key", "value": {"text": "FLOW-1:1"}}]},
        "summary_list": [{"summary_info": [{"text": "差旅申请", "lang": "zh_CN"}]}],
    }
    created = call("applyevent", hook_body)
    assert_same_shape(WECOM["approval_applyevent"]["response"], created, where="sandbox applyevent")
    sp_no = created["sp_no"]
    control.mutate("decide_task", instance_id=sp_no, approver=users[1], result="agree", comment="同意")
    control.mutate("comment_approval", instance_id=sp_no, userid=users[0], text="请尽快")
    detail = call("getapprovaldetail", {"sp_no": sp_no})
    not_modelled = ("info.notifyer", "info.comments[].media_id")
    assert_same_shape(without(WECOM["approval_detail"]["response"], *not_modelled), detail, where="sandbox detail")
    now = int(dt.datetime.now(dt.UTC).timestamp())
    listed = call("getapprovalinfo", {"starttime": now - 3600, "endtime": now + 60, "new_cursor": "", "size": 100})
    assert_same_shape(WECOM["approval_info"]["response"], listed, where="sandbox getapprovalinfo")
    assert listed["sp_no_list"] == [sp_no]
    assert call("getapprovaldetail", {"sp_no": "nope"})["errcode"] == 301025
