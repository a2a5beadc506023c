"""合思's documented invoice answers (tests/fixtures/vendor_docs/ekuaibao: ``flow_invoice_search``,
``invoice_object_<objectId>``, one per tab of EKB datalink-extend/get-entity-invoice.md, and
``invoice_details_batch``): the hook reads each one, served verbatim by a tiny local server (the
network edge), and the sandbox answers the three endpoints in the same shape (tests/vendordocs.py).
Sources: each fixture's ``source``."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest
import requests
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from vendordocs import assert_same_shape, load, names

from expense_sync.hooks.ekuaibao import EkuaibaoHook
from expense_sync.hooks.ekuaibao.invoices import OBJECT_IDS
from expense_sync_sandboxes.ekuaibao import APP_KEY, APP_SECURITY
from testkit import point_connection, serve

VENDOR = "ekuaibao"
SHA = "b2212a8824c90fecc5fbd91f1dfece9e3e54cde0"
DOCUMENTED_FLOW = "j7sbyDMhYUpU00"


def test_every_invoice_fixture_is_a_documented_tab():
    invoice_fixtures = [n for n in names(VENDOR) if n.startswith("invoice_object_")]
    assert sorted(invoice_fixtures) == sorted(f"invoice_object_{o}" for o in OBJECT_IDS)
    pages = {
        "flow_invoice_search": "get-flow-invoice.md",
        "invoice_details_batch": "get-entity-invoic-details-batch.md",
    }
    for name in [*invoice_fixtures, *pages]:
        doc = load(VENDOR, name)
        page = pages.get(name, "get-entity-invoice.md")
        assert doc["source"].startswith(f"ekuaibao/open-platform-docs@{SHA}:docs/open-api/datalink-extend/{page}")
        assert doc["endpoint"].startswith("POST /api/openapi/v2/extension/")
        if name not in pages:
            object_id = name.removeprefix("invoice_object_")
            assert f"tab {object_id};" in doc["source"]
            assert doc["endpoint"] == f"POST /api/openapi/v2/extension/INVOICE/object/{object_id}/search"
            assert doc["response"]["count"] == len(doc["response"]["items"]) == 1


def _documented_app() -> FastAPI:
    """The documented answers; an entity search answers the documented item only when asked for its
    id (合思 leaves ids it does not know out of its answer: get-entity-invoice.md)."""
    app = FastAPI()

    @app.post("/api/openapi/v1/auth/getAccessToken")
    async def token() -> JSONResponse:
        return JSONResponse(load(VENDOR, "get_access_token")["response"])

    @app.post("/api/openapi/v2/extension/flow/INVOICE/search")
    async def flow_invoices(request: Request) -> JSONResponse:
        body = await request.json()
        answer = load(VENDOR, "flow_invoice_search")["response"]
        return JSONResponse(answer if DOCUMENTED_FLOW in body["codeOrIds"] else {"value": {}})

    @app.post("/api/openapi/v2/extension/INVOICE/object/invoice/detailBatch")
    async def details(request: Request) -> JSONResponse:
        ids = (await request.json())["invoiceIds"]
        rows = load(VENDOR, "invoice_details_batch")["response"]["items"]
        return JSONResponse({"items": [r for r in rows if r["masterId"] in ids]})

    @app.post("/api/openapi/v2/extension/INVOICE/object/{object_id}/search")
    async def entities(object_id: str, request: Request) -> JSONResponse:
        ids = (await request.json())["ids"]
        answer = load(VENDOR, f"invoice_object_{object_id}")["response"]
        items = [i for i in answer["items"] if i["id"] in ids]
        return JSONResponse({"count": len(items), "items": items})

    return app


@pytest.fixture
def documented(monkeypatch):
    url, server, thread = serve(_documented_app())
    point_connection(monkeypatch, "expense_ekuaibao", url, login="appKey", password="appSecurity")
    yield EkuaibaoHook()
    server.should_exit = True
    thread.join(15)


# -- (a) the hook reads each documented answer -------------------------------------------------------
def test_the_hook_reads_the_documented_invoice_refs_of_a_flow(documented):
    refs = documented.flow_invoice_refs([DOCUMENTED_FLOW, "unknown-flow"])

    assert refs["unknown-flow"] == []
    assert [(r["invoiceId"], r["invoiceType"], len(r["invoiceItemId"])) for r in refs[DOCUMENTED_FLOW]] == [
        ("gwobfjObAAno00:3700171320:38415400", "invoice", 7),
        ("5-sbyDJSOI0800", "taxi", 0),
    ]


@pytest.mark.parametrize("object_id", OBJECT_IDS)
def test_the_hook_reads_each_documented_invoice_entity(documented, object_id):
    item = load(VENDOR, f"invoice_object_{object_id}")["response"]["items"][0]

    [entity] = documented.invoice_entities(object_id, [item["id"], "not-known"])

    assert entity == item
    assert entity["entityId"] == entity["entity"]["id"] and entity["entityId"].startswith("system_")


def test_the_documented_fields_we_read_are_where_the_docs_put_them(documented):
    def one(object_id: str) -> dict:
        item = load(VENDOR, f"invoice_object_{object_id}")["response"]["items"][0]
        return documented.invoice_entities(object_id, [item["id"]])[0]

    def amount(entity: dict, key: str) -> Decimal:
        return Decimal(entity[key]["standard"])

    vat = one("invoice")
    p = "E_system_发票主体_"
    assert (vat["id"], vat[p + "发票代码"], vat[p + "发票号码"], vat[p + "发票类别"]) == (
        "djg8LshfUkfM00:044032100111:13415524",
        "044032100111",
        "13415524",
        "DIGITAL_NORMAL",
    )
    assert [amount(vat, p + k) for k in ("发票金额", "税额", "价税合计")] == [Decimal("171.00"), 0, Decimal("171.00")]
    assert (vat[p + "验真"], vat[p + "发票日期"], vat[p + "销售方纳税人识别号"]) == (
        True,
        1662652800000,
        "91440300892254961D",
    )
    assert (vat["flowId"], vat["flowForm"]["code"], vat["active"]) == ("ID01vmXWPHarK6", "B23001249", False)

    train = one("train")
    assert (train["E_system_火车票_号码"], amount(train, "E_system_火车票_金额")) == ("B054158", Decimal("443.00"))
    assert (train["E_system_火车票_乘车人姓名"], train["E_system_火车票_乘车时间"]) == ("高美丽", 1700644140000)

    flight = one("flightItinerary")
    f = "E_system_航空运输电子客票行程单_"
    parts = [amount(flight, f + k) for k in ("票价", "燃油附加费", "民航发展基金", "保险费")]
    assert parts == [Decimal("1120.00"), Decimal("80.00"), Decimal("50.00"), 0]
    assert sum(parts) == amount(flight, f + "金额")  # the documented total is the sum of its parts
    assert (flight[f + "电子客票号码"], flight[f + "填开日期"]) == ("7812431511988", 1679241600000)

    car = one("passengerCar")
    assert (car["E_system_客运汽车发票_发票号码"], amount(car, "E_system_客运汽车发票_金额")) == ("03720884", 77)


def test_the_hook_reads_the_documented_invoice_detail_rows_with_their_tax_rate(documented):
    first, second = "djg8LshfUkfM00:033002100311:23272058", "djg8LshfUkfM00:044031900111:69872971"

    rows = documented.invoice_details([first, second, "ID01t7pX8ylwkL"])

    assert [len(rows[first]), len(rows[second]), rows["ID01t7pX8ylwkL"]] == [2, 1, []]
    [row] = rows[second]
    assert (row["id"], row["E_system_发票明细_税率"], row["E_system_发票明细_金额"]["standard"]) == (
        "ID_3tlmF6$S1bg",
        "13%",
        "4423.89",
    )
    assert row["E_system_发票明细_税额"]["standard"] == "575.11" and rows[first][0]["E_system_发票明细_单价"] is None


def test_a_documented_claim_whose_invoice_entities_are_not_returned_keeps_them_with_entity_none(documented):
    invoices = documented.claim_invoices(DOCUMENTED_FLOW)

    assert [(i["invoiceId"], i["invoiceType"], i["entity"]) for i in invoices] == [
        ("gwobfjObAAno00:3700171320:38415400", "invoice", None),
        ("5-sbyDJSOI0800", "taxi", None),
    ]
    assert len(invoices[0]["invoiceItemId"]) == 7


# -- (b) the sandbox answers in the documented shape --------------------------------------------------
# Tenant- and state-specific parts of the documented entities' ``flowForm`` (the claim's header):
# custom fields (``u_*``, ``E_system_rank``) and the header fields only some documents carry
# (a payment plan, the time it entered 待支付, 不计税金额).
TENANT_FLOW_FORM = ("u_", "E_system_rank", "payPlan", "timeToEnterPendingPayment", "noTaxAmount")


def _documented_entity(object_id: str) -> dict:
    answer = copy.deepcopy(load(VENDOR, f"invoice_object_{object_id}")["response"])
    for item in answer["items"]:
        item["flowForm"] = {k: v for k, v in item["flowForm"].items() if not k.startswith(TENANT_FLOW_FORM)}
    return answer


SEEDS = {
    "invoice": {
        "category": "PAPER_SPECIAL",
        "code": "044031900111",
        "number": "69872971",
        "date": "2026-11-02",
        "net": "1000.00",
        "tax": "130.00",
        "rate": "13%",
        "seller_name": "深圳示例科技有限公司",
        "seller_tax_id": "91440300MA5F000001",
        "buyer_name": "示例集团",
        "buyer_tax_id": "91110108318283928K",
        "verified": True,
    },
    "train": {"number": "B054158", "date": "2026-11-03", "amount": "553.00", "passenger": "王芳"},
    "flightItinerary": {
        "number": "7812431511988",
        "date": "2026-11-04",
        "fare": "1120.00",
        "fuel": "80.00",
        "caac_fund": "50.00",
        "passenger": "王芳",
    },
    "passengerCar": {"number": "03720884", "code": "121001871113", "date": "2026-11-05", "amount": "77.00"},
    "taxi": {"number": "19777479", "code": "133022034001", "date": "2026-11-05", "amount": "35.00"},
    "fixed": {"number": "00053373", "code": "15101138J003", "date": "2026-11-05", "amount": "10.00"},
    "other": {"number": "1", "date": "2026-11-06", "amount": "10.00"},
}


@pytest.fixture
def seeded(sandboxes):
    """A paid claim with one invoice of each type the sandbox seeds: (base URL, token, flow, ids)."""
    control = sandboxes.control(VENDOR)
    base = sandboxes.url(VENDOR)
    hook = EkuaibaoHook()
    corp = hook.corporation()
    hook.create_staffs([{"name": "王芳", "code": "E1001", "cellphone": "13800000001", "defaultDepartment": corp}])
    hook.create_dimension_items(hook.dimension("成本中心")["id"], [{"name": "销售部", "code": "CC01", "parentId": ""}])
    ids = {
        object_id: control.mutate("seed_invoice", object_id=object_id, **fields) for object_id, fields in SEEDS.items()
    }
    lines = [
        {"fee_type_code": "COST2", "amount": "100.00", "cost_center": "CC01", "invoices": [i]} for i in ids.values()
    ]
    flow = control.mutate("seed_claim", staff_code="E1001", lines=lines, state="paid")
    token = requests.post(
        f"{base}/api/openapi/v1/auth/getAccessToken", json={"appKey": APP_KEY, "appSecurity": APP_SECURITY}, timeout=10
    ).json()["value"]["accessToken"]
    return base, token, flow, ids


def _post(base: str, token: str, path: str, body: dict) -> requests.Response:
    return requests.post(f"{base}{path}", params={"accessToken": token}, json=body, timeout=10)


def test_the_sandbox_answers_the_flow_invoice_search_in_its_documented_shape(seeded):
    base, token, flow, ids = seeded

    answer = _post(
        base, token, "/api/openapi/v2/extension/flow/INVOICE/search", {"type": "id", "codeOrIds": [flow["id"]]}
    )

    assert answer.status_code == 200, answer.text
    documented = load(VENDOR, "flow_invoice_search")["response"]
    assert_same_shape(documented["value"]["j7sbyDMhYUpU00"], answer.json()["value"][flow["id"]], where="flow/INVOICE")
    assert [r["invoiceType"] for r in answer.json()["value"][flow["id"]]] == list(SEEDS)
    by_code = _post(
        base,
        token,
        "/api/openapi/v2/extension/flow/INVOICE/search",
        {"type": "code", "codeOrIds": [flow["form"]["code"]]},
    )
    assert by_code.json()["value"] == {flow["form"]["code"]: answer.json()["value"][flow["id"]]}
    refused = _post(base, token, "/api/openapi/v2/extension/flow/INVOICE/search", {"type": "name", "codeOrIds": ["x"]})
    assert (refused.status_code, refused.json()["errorMessage"]) == (400, "不支持此类型type=name")


@pytest.mark.parametrize("object_id", list(SEEDS))
def test_the_sandbox_answers_each_seeded_invoice_type_in_its_documented_shape(seeded, object_id):
    base, token, flow, ids = seeded
    path = f"/api/openapi/v2/extension/INVOICE/object/{object_id}/search"

    answer = _post(base, token, path, {"ids": [ids[object_id], "not-known"]})

    assert answer.status_code == 200, answer.text
    assert_same_shape(_documented_entity(object_id), answer.json(), where=f"INVOICE/object/{object_id}")
    [item] = answer.json()["items"]
    assert (item["id"], item["flowId"], item["active"], answer.json()["count"]) == (
        ids[object_id],
        flow["id"],
        False,
        1,
    )
    paged = _post(base, token, path, {"index": 1, "count": 10})
    assert paged.json()["count"] == 1 and paged.json()["items"][0]["id"] == ids[object_id]


def test_the_sandbox_answers_the_detail_batch_in_its_documented_shape(seeded):
    base, token, _, ids = seeded

    answer = _post(
        base, token, "/api/openapi/v2/extension/INVOICE/object/invoice/detailBatch", {"invoiceIds": [ids["invoice"]]}
    )

    assert answer.status_code == 200, answer.text
    assert_same_shape(load(VENDOR, "invoice_details_batch")["response"], answer.json(), where="detailBatch")
    [row] = answer.json()["items"]
    assert (row["masterId"], row["E_system_发票明细_税率"], row["active"]) == (ids["invoice"], "13%", False)


def test_the_sandbox_refuses_what_the_docs_refuse(seeded):
    base, token, _, _ = seeded
    unknown = _post(base, token, "/api/openapi/v2/extension/INVOICE/object/boat/search", {"ids": ["x"]})
    empty = _post(base, token, "/api/openapi/v2/extension/INVOICE/object/invoice/search", {"ids": [], "codes": []})
    assert (unknown.status_code, unknown.json()["errorMessage"]) == (400, "不支持的业务对象「boat」")
    assert (empty.status_code, empty.json()["errorMessage"]) == (400, "查询参数不能为空!!!")


def test_a_claim_line_with_invoices_has_the_documented_invoice_form(seeded):
    base, token, flow, ids = seeded
    answer = requests.get(
        f"{base}/api/openapi/v1.1/flowDetails", params={"accessToken": token, "flowId": flow["id"]}, timeout=10
    ).json()
    documented = load(VENDOR, "flow_details")["response"]["value"]["form"]["details"][0]["feeTypeForm"]
    keys = ("invoice", "invoiceForm")
    shown = [{k: d["feeTypeForm"][k] for k in keys} for d in answer["value"]["form"]["details"]]
    # one list: a ticket's ref has no 发票明细 ids ("非增值税发票 明细数据为空"), the 专票's has
    assert_same_shape([{k: documented[k] for k in keys}], shown, where="feeTypeForm invoices")
    first = answer["value"]["form"]["details"][0]["feeTypeForm"]["invoiceForm"]["invoices"][0]
    assert first["invoiceId"] == ids["invoice"] and first["taxAmount"]["standard"] == 130.0  # a 专票: its tax
