"""The 合思 hook's E-Bot side against the sandbox over HTTP: documents waiting at the E-Bot node are
listed and found, the callback accepts or refuses them, a second decision is 合思's "not at that node"
refusal (AlreadyDecidedError), and a decision whose answer was lost is settled by the retry."""

from __future__ import annotations

from decimal import Decimal

import pytest
from fastapi import FastAPI, Request

from expense_sync.approvals.contract import AlreadyDecidedError
from expense_sync.hooks.ekuaibao import EkuaibaoHook
from expense_sync.hooks.errors import ConfigurationError, OutcomeUnknownError, VendorRequestError
from expense_sync_sandboxes.ekuaibao.flows import OUTBOUND_SIGN_KEY
from testkit import FAST, serve

NODE = "OA审批"
CALLBACK = "/api/outbound/v1/approval"


@pytest.fixture
def ekb(sandboxes, monkeypatch):
    """The sandbox with a staff, a cost center and a project; the hook holds the tenant's sign key."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_EXPENSE_EKUAIBAO",
        sandboxes.connection("expense_ekuaibao", **FAST, outbound_sign_keys=[OUTBOUND_SIGN_KEY]),
    )
    hook = EkuaibaoHook()
    corp = hook.corporation()
    hook.create_staffs([{"name": "王芳", "code": "E1001", "cellphone": "13800000001", "defaultDepartment": corp}])
    hook.create_dimension_items(hook.dimension("成本中心")["id"], [{"name": "销售部", "code": "CC01", "parentId": ""}])
    hook.create_dimension_items(hook.dimension("项目")["id"], [{"name": "项目1", "code": "P01", "parentId": ""}])
    return sandboxes.control("ekuaibao")


def _application(ekb, **kw) -> dict:
    lines = [{"fee_type_code": "FYXM0001", "amount": "3200.50", "cost_center": "CC01", "project": "P01"}]
    return ekb.mutate("seed_application", staff_code="E1001", lines=lines, via_ebot=True, **kw)


def _claim(ekb, **kw) -> dict:
    lines = [{"fee_type_code": "FYXM0001", "amount": "880.00", "cost_center": "CC01"}]
    return ekb.mutate("seed_claim", staff_code="E1001", lines=lines, state="approving", **kw)


def _items(ekb) -> dict[str, str]:
    """Dimension item code -> id."""
    return {i["code"]: i["id"] for i in ekb.state()["dimensionItems"]}


def test_documents_at_the_node_are_listed_with_what_routing_needs(ekb):
    application = _application(ekb, title="上海出差申请")
    claim = _claim(ekb, via_ebot=True)
    _claim(ekb)  # submitted the ordinary way: at 财务审批, not at the E-Bot node
    ekb.mutate("seed_application", staff_code="E1001", amount="100", state="draft")
    hook = EkuaibaoHook()

    found = {d.code: d for d in hook.waiting_documents(NODE)}

    assert set(found) == {application["form"]["code"], claim["form"]["code"]}
    doc = found[application["form"]["code"]]
    items = _items(ekb)
    assert (doc.kind, doc.flow_id, doc.title, doc.amount, doc.currency) == (
        "requisition",
        application["id"],
        "上海出差申请",
        Decimal("3200.50"),
        "CNY",
    )
    assert (doc.cost_center, doc.project) == (items["CC01"], items["P01"])  # 合思's item ids, for the crosswalk
    waiting = ekb.state()["ebotWaiting"]
    assert doc.node_id == waiting[application["id"]]["node_id"] and doc.node_id.startswith("FLOW:")
    assert doc.staff_id == application["ownerId"] and doc.employee_no is None
    fee_type = next(f["id"] for f in ekb.state()["feeTypes"] if f["code"] == "FYXM0001")
    assert doc.category == fee_type  # 合思's fee type id, for the crosswalk
    assert doc.submitted_at is not None and doc.submitted_at.tzinfo is not None
    assert found[claim["form"]["code"]].kind == "expense"
    assert found[claim["form"]["code"]].amount == Decimal("880.00")
    assert hook.waiting_documents("另一个节点") == []
    assert hook.waiting_documents(NODE, since="2099-01-01 00:00:00") == []


def test_one_document_is_found_only_while_it_waits_at_that_node(ekb):
    application = _application(ekb)
    hook = EkuaibaoHook()

    doc = hook.waiting_document(application["id"], NODE)

    assert doc is not None and doc.code == application["form"]["code"]
    assert doc.version == str(application["updateTime"])
    assert hook.waiting_document(application["id"], "财务审批") is None
    ekb.mutate("claim_action", code=application["form"]["code"], action="reject")  # a person acted in 合思
    assert hook.waiting_document(application["id"], NODE) is None
    assert hook.waiting_document("no-such-flow", NODE) is None


def test_accept_approves_an_application_and_moves_a_claim_on_to_payment(ekb):
    hook = EkuaibaoHook()
    application, claim = _application(ekb), _claim(ekb, via_ebot=True)

    for flow in (application, claim):
        hook.decide(hook.waiting_document(flow["id"], NODE), "accept", "主管、财务已同意")

    flows = {f["id"]: f for f in ekb.state()["flows"]}
    assert flows[application["id"]]["state"] == "paid"
    assert flows[claim["id"]]["state"] == "paying"
    assert hook.approve_states([claim["id"]]) == {claim["id"]: "出纳支付"}
    last = flows[claim["id"]]["logs"][-1]
    assert (last["action"], last["operatorId"], last["attributes"]["comment"]) == (
        "freeflow.agree",
        "ebot",
        "主管、财务已同意",
    )
    assert [c["action"] for c in ekb.state()["ebotCalls"]] == ["accept", "accept"]
    assert hook.waiting_documents(NODE) == []


def test_refuse_rejects_and_a_second_decision_is_already_decided(ekb):
    hook = EkuaibaoHook()
    doc = hook.waiting_document(_application(ekb)["id"], NODE)

    hook.decide(doc, "refuse", "超出预算")

    assert {f["id"]: f["state"] for f in ekb.state()["flows"]}[doc.flow_id] == "rejected"
    with pytest.raises(AlreadyDecidedError, match="当前的审批节点不为"):
        hook.decide(doc, "accept", "同意")
    with pytest.raises(AlreadyDecidedError):
        hook.decide(doc, "refuse", "超出预算")
    assert len(ekb.state()["ebotCalls"]) == 1


def test_a_resubmitted_document_waits_at_a_new_node_and_the_old_decision_does_not_apply(ekb):
    hook = EkuaibaoHook()
    application = _application(ekb)
    first = hook.waiting_document(application["id"], NODE)
    hook.decide(first, "refuse", "请补充行程")

    ekb.mutate("submit_via_ebot", code=application["form"]["code"])
    second = hook.waiting_document(application["id"], NODE)

    assert second is not None and second.node_id != first.node_id and second.version != first.version
    with pytest.raises(AlreadyDecidedError):
        hook.decide(first, "accept", "同意")
    hook.decide(second, "accept", "同意")
    assert {f["id"]: f["state"] for f in ekb.state()["flows"]}[application["id"]] == "paid"


def test_a_lost_answer_is_unknown_and_the_retry_says_already_decided(ekb):
    hook = EkuaibaoHook()
    doc = hook.waiting_document(_claim(ekb, via_ebot=True)["id"], NODE)
    ekb.faults({"kind": "slow_commit", "every": 1, "limit": 1, "delay": 2.5, "paths": [CALLBACK]})

    with pytest.raises(OutcomeUnknownError):
        hook.decide(doc, "accept", "同意")

    assert {f["id"]: f["state"] for f in ekb.state()["flows"]}[doc.flow_id] == "paying"  # it went through
    assert hook.waiting_document(doc.flow_id, NODE) is None
    with pytest.raises(AlreadyDecidedError):
        hook.decide(doc, "accept", "同意")


def test_a_server_fault_before_the_callback_acted_is_not_retried_blindly(ekb):
    hook = EkuaibaoHook()
    doc = hook.waiting_document(_application(ekb)["id"], NODE)
    ekb.faults({"kind": "5xx", "every": 1, "limit": 1, "paths": [CALLBACK]})

    with pytest.raises(OutcomeUnknownError):
        hook.decide(doc, "accept", "同意")

    assert hook.waiting_document(doc.flow_id, NODE) == doc  # 合思 did nothing: decide again
    hook.decide(doc, "accept", "同意")
    assert {f["id"]: f["state"] for f in ekb.state()["flows"]}[doc.flow_id] == "paid"


def test_a_wrong_sign_key_is_refused_and_no_key_is_a_configuration_error(ekb, sandboxes, monkeypatch):
    doc = EkuaibaoHook().waiting_document(_application(ekb)["id"], NODE)
    other = EkuaibaoHook().waiting_document(_application(ekb)["id"], NODE)
    monkeypatch.setenv(
        "AIRFLOW_CONN_EXPENSE_EKUAIBAO", sandboxes.connection("expense_ekuaibao", **FAST, outbound_sign_keys=["x"])
    )
    with pytest.raises(VendorRequestError, match="签名秘钥错误"):
        EkuaibaoHook().decide(doc, "accept", "同意")
    monkeypatch.setenv("AIRFLOW_CONN_EXPENSE_EKUAIBAO", sandboxes.connection("expense_ekuaibao", **FAST))
    with pytest.raises(ConfigurationError):
        EkuaibaoHook().decide(doc, "accept", "同意")
    assert ekb.state()["ebotCalls"] == [] and doc.flow_id in ekb.state()["ebotWaiting"]
    keys = ["key-of-another-configuration", OUTBOUND_SIGN_KEY]  # each configuration's key, tried in turn
    monkeypatch.setenv(
        "AIRFLOW_CONN_EXPENSE_EKUAIBAO", sandboxes.connection("expense_ekuaibao", **FAST, outbound_sign_keys=keys)
    )
    EkuaibaoHook().decide(other, "accept", "同意")
    assert [c["flowId"] for c in ekb.state()["ebotCalls"]] == [other.flow_id]


def test_the_node_message_is_posted_as_an_e_bot_message(ekb):
    """The E-Bot node's message carries the ids the callback wants and, being no notification, no
    ``action``; it is kept for 合思's retry (``resend_outbound``)."""
    received: list[dict] = []
    app = FastAPI()

    @app.post("/hook")
    async def hook_endpoint(request: Request) -> dict:
        received.append(await request.json())
        return {"code": "1"}

    url, server, thread = serve(app)
    try:
        ekb.mutate("configure_outbound", url=url + "/hook")
        application = _application(ekb)
        ekb.mutate("resend_outbound", code=application["form"]["code"])
    finally:
        ekb.mutate("configure_outbound", url=None)
        server.should_exit = True
        thread.join(15)

    node = ekb.state()["ebotWaiting"][application["id"]]["node_id"]
    expected = {"flowId": application["id"], "nodeId": node, "state": "approving", "code": application["form"]["code"]}
    assert received == [expected, expected]


def test_a_comment_is_on_the_document_and_an_unknown_commenter_is_refused(ekb):
    """评论单据: how the approval engine tells 合思 an OA task changed hands."""
    application = _application(ekb)
    hook = EkuaibaoHook()

    hook.comment(application["id"], application["ownerId"], "审批人变更（财务）：u1 → u2 [expense-sync i:t]")
    hook.comment(application["id"], application["ownerId"], "second")

    assert hook.comments(application["id"]) == ["审批人变更（财务）：u1 → u2 [expense-sync i:t]", "second"]
    assert [d.code for d in hook.waiting_documents(NODE)] == [application["form"]["code"]], "a comment moves nothing"
    with pytest.raises(VendorRequestError, match="staffId不存在"):
        hook.comment(application["id"], "no-such-staff", "x")
