"""The 合思 sandbox's E-Bot callback and orders over raw HTTP (no hook): the refusals 合思 documents
come inside HTTP 200, the seeding mutations refuse what 合思 would not hold."""

import pytest
import requests

from expense_sync_sandboxes import ekuaibao
from expense_sync_sandboxes.ekuaibao.bookings import ORDER_ENTITY
from expense_sync_sandboxes.ekuaibao.flows import OUTBOUND_SIGN_KEY

CALLBACK = "/api/outbound/v1/approval"


@pytest.fixture
def ekb(sandboxes):
    base = sandboxes.url("ekuaibao")
    token = requests.post(
        f"{base}/api/openapi/v1/auth/getAccessToken",
        json={"appKey": ekuaibao.APP_KEY, "appSecurity": ekuaibao.APP_SECURITY},
        timeout=10,
    ).json()["value"]
    staff = {"name": "王芳", "code": "E1001", "cellphone": "13800000001", "defaultDepartment": token["corporationId"]}
    requests.post(
        f"{base}/api/openapi/v1.1/staffs/batch/create",
        params={"accessToken": token["accessToken"]},
        json={"staffList": [staff]},
        timeout=10,
    ).raise_for_status()
    control = sandboxes.control("ekuaibao")
    control.base, control.token = base, token["accessToken"]
    return control


def _call(ekb, body, token=None):
    return requests.post(f"{ekb.base}{CALLBACK}", params={"accessToken": token or ekb.token}, json=body, timeout=10)


def test_the_callbacks_refusals_are_codes_inside_http_200(ekb):
    flow = ekb.mutate("seed_application", staff_code="E1001", amount="100", via_ebot=True)
    node = ekb.state()["ebotWaiting"][flow["id"]]["node_id"]
    body = {"signKey": OUTBOUND_SIGN_KEY, "flowId": flow["id"], "nodeId": node, "action": "accept", "comment": "同意"}

    answers = {
        "no comment": _call(ekb, {k: v for k, v in body.items() if k != "comment"}),
        "bad action": _call(ekb, {**body, "action": "approve"}),
        "wrong key": _call(ekb, {**body, "signKey": "x"}),
        "wrong node": _call(ekb, {**body, "nodeId": "FLOW:1:2"}),
    }

    assert {k: (a.status_code, a.json()["value"]["code"]) for k, a in answers.items()} == {
        "no comment": (200, "400"),
        "bad action": (200, "400"),
        "wrong key": (200, "401"),
        "wrong node": (200, "412"),
    }
    assert answers["wrong node"].json()["value"]["message"] == "当前的审批节点不为:FLOW:1:2，请检查"
    assert _call(ekb, body, token="not-a-token").status_code == 403
    assert _call(ekb, {**body, "flowId": "no-such-flow"}).status_code == 412
    assert ekb.state()["ebotCalls"] == []
    assert _call(ekb, body).json() == {"value": {"code": "204", "message": "EBot执行完成"}}


def test_a_document_not_at_an_e_bot_node_cannot_be_decided_there(ekb):
    flow = ekb.mutate("seed_application", staff_code="E1001", amount="100")  # at 财务审批
    body = {"signKey": OUTBOUND_SIGN_KEY, "flowId": flow["id"], "nodeId": "FLOW:1:2", "action": "accept", "comment": ""}

    assert _call(ekb, body).json()["value"]["code"] == "412"
    ekb.mutate("claim_action", code=flow["form"]["code"], action="approve")
    assert {f["id"]: f["state"] for f in ekb.state()["flows"]}[flow["id"]] == "paid"  # a 申请单 is not paid out


def test_seeding_refuses_what_the_tenant_would_not_hold(ekb):
    with pytest.raises(RuntimeError, match="no application"):
        ekb.mutate("seed_booking", requisition_code="S99000001", category="flight", amount="1")
    with pytest.raises(RuntimeError, match="unknown category"):
        ekb.mutate("seed_booking", staff_code="E1001", category="ship", amount="1")
    with pytest.raises(RuntimeError, match="E-Bot"):
        ekb.mutate(
            "seed_claim",
            staff_code="E1001",
            lines=[{"fee_type_code": "FYXM0001", "amount": "1"}],
            state="paid",
            via_ebot=True,
        )
    answer = requests.post(
        f"{ekb.base}/api/openapi/v2.1/datalink/TRAVEL_MANAGEMENT/searchOrders",
        params={"accessToken": ekb.token},
        json={"entityId": ORDER_ENTITY, "start": 0, "count": 101},
        timeout=10,
    )
    assert (answer.status_code, answer.json()["errorMessage"]) == (400, "单次查询总数不得大于100")
