"""合思's documented examples for the E-Bot approvals and the travel orders
(tests/fixtures/vendor_docs/ekuaibao: ``ebot_approval``, ``flow_details_requisition``,
``approve_states``, ``datalink_search_orders``, ``datalink_by_ids``, ``flow_comment``): the hook reads each one served
verbatim by a tiny local server (the network edge), and the sandbox answers each endpoint in the same
shape (tests/vendordocs.py). Sources: each fixture's ``source``."""

from __future__ import annotations

import copy
import re
from decimal import Decimal

import pytest
import requests
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from vendordocs import assert_same_shape, load

from expense_sync.hooks.ekuaibao import EkuaibaoHook
from expense_sync.hooks.ekuaibao.approvals import waiting
from expense_sync_sandboxes.ekuaibao import APP_KEY, APP_SECURITY
from expense_sync_sandboxes.ekuaibao.bookings import ORDER_ENTITY
from expense_sync_sandboxes.ekuaibao.flows import OUTBOUND_SIGN_KEY
from testkit import FAST, point_connection, serve

VENDOR = "ekuaibao"
DOCUMENTED_ORDERS = "79180b9ed9cade87e000"  # the 订单管理 entity of the searchOrders example
FIXTURES = (
    "ebot_approval",
    "flow_details_requisition",
    "approve_states",
    "datalink_search_orders",
    "datalink_by_ids",
    "flow_comment",
)
FIELD = re.compile(r"^E_[0-9A-Za-z]+_")
# the order fields the hook reads (hooks/ekuaibao/bookings.py), each in every documented order
READ_FIELDS = (
    "code",
    "name",
    "出行人",
    "订单号",
    "订票人",
    "订单日期",
    "订单状态",
    "订单类型",
    "订单金额",
    "申请单编号",
)


def _documented_app() -> FastAPI:
    app = FastAPI()
    docs = {name: load(VENDOR, name) for name in (*FIXTURES, "get_access_token")}

    def answer(name: str) -> JSONResponse:
        return JSONResponse(docs[name]["response"], docs[name].get("status", 200))

    @app.post("/api/openapi/v1/auth/getAccessToken")
    async def token() -> JSONResponse:
        return answer("get_access_token")

    @app.post("/api/outbound/v1/approval")
    async def ebot() -> JSONResponse:
        return answer("ebot_approval")

    @app.get("/api/openapi/v1.1/flowDetails")
    async def flow() -> JSONResponse:
        return answer("flow_details_requisition")

    @app.get("/api/openapi/v2/approveStates/{ids}")
    async def states() -> JSONResponse:
        return answer("approve_states")

    @app.post("/api/openapi/v2.1/datalink/TRAVEL_MANAGEMENT/searchOrders")
    async def orders(request: Request) -> JSONResponse:
        body = await request.json()
        if body["start"]:  # the example is the whole (short) list
            return JSONResponse({"items": {"total": 3, "data": []}})
        return answer("datalink_search_orders")

    @app.get("/api/openapi/v2/datalink/TRAVEL_MANAGEMENT/byDataLinkIds")
    async def by_ids() -> JSONResponse:
        return answer("datalink_by_ids")

    return app


@pytest.fixture
def documented(monkeypatch):
    url, server, thread = serve(_documented_app())
    point_connection(
        monkeypatch,
        "expense_ekuaibao",
        url,
        login="appKey",
        password="appSecurity",
        outbound_sign_keys=["5hPoHsymNqEf"],
        booking_entity_id=DOCUMENTED_ORDERS,
    )
    yield EkuaibaoHook()
    server.should_exit = True
    thread.join(15)


# -- (a) the hook reads each documented answer -------------------------------------------------------
def test_the_documented_requisition_reads_as_a_waiting_document(documented):
    flow = documented.flow_detail("BOIaVswERctU00")

    doc = waiting(flow, "费用标准检查")

    assert (doc.kind, doc.flow_id, doc.code, doc.amount, doc.currency) == (
        "requisition",
        "BOIaVswERctU00",
        "S20000001",
        Decimal("22"),
        "CNY",
    )
    assert doc.node_id == "FLOW:1803858383:654076721"  # the last log's nextId, as the callback's example
    assert (doc.staff_id, doc.version, doc.cost_center, doc.category) == (
        "djg8LshfUkfM00:Dwk7NVkt7o1E00",
        "1590660638427",
        None,
        None,
    )
    assert documented.waiting_document("BOIaVswERctU00", "费用标准检查") is None  # it is archived: decided


def test_the_documented_stages_and_callback_answer(documented):
    stages = documented.approve_states(["xxx", "ID_3seTcgi0qrg", "ID_3zE5G_07ew0"])
    assert (stages["xxx"], stages["ID_3seTcgi0qrg"], stages["ID_3zE5G_07ew0"]) == ("出纳支付", "完成", "已删除")
    doc = waiting(load(VENDOR, "flow_details_requisition")["response"]["value"], "费用标准检查")

    documented.decide(doc, "accept", "同意")  # {"value": {"code": "204", "message": "EBot执行完成"}}: done


def test_the_documented_orders_read_as_bookings(documented):
    bookings = documented.bookings()

    assert [(b.order_id, b.category, b.state, b.amount, b.requisition_code) for b in bookings] == [
        ("hQYc20Y4W8is00", "car", "confirmed", Decimal("63.80"), "S20001080"),
        ("KnMc20Y4W89o00", "flight", "confirmed", Decimal("517.00"), "S20001081"),
        ("bqAc20Y4W88M00", "flight", "confirmed", Decimal("1807.00"), "S20001096"),
    ]
    assert {b.staff_id for b in bookings} == {""}  # the example names no traveller (出行人 [], 订票人 null)
    assert documented.booking_from_event({"dataLinkId": "gyMbDPToxUnQ00"}) is None  # a 行程管理 instance


# -- (b) the sandbox answers in the documented shape --------------------------------------------------
def _without_fields(value):
    """``value`` with the business-object fields (``E_<entity>_…``) left out: each entity has its own."""
    if isinstance(value, dict):
        return {k: _without_fields(v) for k, v in value.items() if not FIELD.match(k)}
    if isinstance(value, list):
        return [_without_fields(v) for v in value]
    return value


def _fields(link: dict) -> dict:
    return {FIELD.sub("", k): v for k, v in link.items() if FIELD.match(k)}


# parts of the documented requisition a plain one does not have, each as the page says
CONDITIONAL = {
    "alterFlag": "变更标识: 没有变更过的申请单没有这个字段",
    "linkRequisitionInfo": "补充申请单的原单据ID: a supplementary application only",
    "u_订票人": "a custom field of the example's form template",
}


@pytest.fixture
def sandbox(sandboxes, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_EXPENSE_EKUAIBAO",
        sandboxes.connection("expense_ekuaibao", **FAST, booking_entity_id=ORDER_ENTITY),
    )
    base = sandboxes.url(VENDOR)
    token = requests.post(
        f"{base}/api/openapi/v1/auth/getAccessToken", json={"appKey": APP_KEY, "appSecurity": APP_SECURITY}, timeout=10
    ).json()["value"]["accessToken"]
    hook = EkuaibaoHook()
    hook.create_staffs(
        [{"name": "王芳", "code": "E1001", "cellphone": "13800000001", "defaultDepartment": hook.corporation()}]
    )
    return base, token, sandboxes.control(VENDOR)


def test_the_sandbox_answers_each_documented_endpoint_in_its_shape(sandbox):
    base, token, ekb = sandbox
    trip = {"from": "北京市/海淀区", "to": "上海市/上海市区", "date": "2026-12-08"}
    application = ekb.mutate("seed_application", staff_code="E1001", amount="22", trip=trip, via_ebot=True)
    paying = ekb.mutate(
        "seed_claim", staff_code="E1001", lines=[{"fee_type_code": "FYXM0001", "amount": "5"}], state="paying"
    )
    car = ekb.mutate("seed_booking", requisition_code=application["form"]["code"], category="car", amount="63.80")
    ekb.mutate("seed_booking", requisition_code=application["form"]["code"], category="flight", amount="517")
    q = {"accessToken": token}

    flow = requests.get(f"{base}/api/openapi/v1.1/flowDetails", params={**q, "flowId": application["id"]}, timeout=10)
    documented = copy.deepcopy(load(VENDOR, "flow_details_requisition")["response"])
    for key in CONDITIONAL:
        documented["value"]["form"].pop(key)
    assert_same_shape(documented, flow.json(), where="flowDetails (申请单)")

    said = requests.post(
        f"{base}/api/openapi/v2.2/flow/data/comment/${application['id']}",
        params={**q, "staffId": application["ownerId"]},
        json={"params": {"comment": "审批人变更"}, "name": "freeflow.comment"},
        timeout=10,
    )
    assert_same_shape(load(VENDOR, "flow_comment")["response"], said.json(), where="评论单据")

    ids = f"[{paying['id']},{application['id']},no-such-flow]"
    states = requests.get(f"{base}/api/openapi/v2/approveStates/{ids}", params=q, timeout=10)
    assert_same_shape(load(VENDOR, "approve_states")["response"], states.json(), where="approveStates")

    node = flow.json()["value"]["logs"][-1]["attributes"]["nextId"]
    body = {
        "signKey": OUTBOUND_SIGN_KEY,
        "flowId": application["id"],
        "nodeId": node,
        "action": "accept",
        "comment": "同意",
    }
    decided = requests.post(f"{base}/api/outbound/v1/approval", params=q, json=body, timeout=10)
    assert decided.status_code == 200
    assert_same_shape(load(VENDOR, "ebot_approval")["response"], decided.json(), where="E-Bot callback")
    assert decided.json() == load(VENDOR, "ebot_approval")["response"]

    search = {"entityId": ORDER_ENTITY, "start": 0, "count": 100}
    orders = requests.post(
        f"{base}/api/openapi/v2.1/datalink/TRAVEL_MANAGEMENT/searchOrders", params=q, json=search, timeout=10
    )
    documented_orders = load(VENDOR, "datalink_search_orders")["response"]
    assert_same_shape(_without_fields(documented_orders), _without_fields(orders.json()), where="searchOrders")
    for documented_row, row in zip(documented_orders["items"]["data"], orders.json()["items"]["data"], strict=False):
        want, got = _fields(documented_row["dataLink"]), _fields(row["dataLink"])
        assert_same_shape({k: want[k] for k in READ_FIELDS}, got, where="searchOrders fields")

    by_ids = requests.get(
        f"{base}/api/openapi/v2/datalink/TRAVEL_MANAGEMENT/byDataLinkIds",
        params=q,
        json={"ids": [car["id"]]},
        timeout=10,
    )
    assert_same_shape(
        _without_fields(load(VENDOR, "datalink_by_ids")["response"]),
        _without_fields(by_ids.json()),
        where="byDataLinkIds",
    )
