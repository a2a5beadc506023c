"""EkuaibaoHook's invoices (发票) against the 合思 sandbox over HTTP: a claim's invoices in order with
their entities (a 专票, a 全电 invoice, a train ticket, a flight itinerary), an invoice 合思 no
longer has, the 发票明细 rows with their tax rate, the ≤100 chunks, and faults on the invoice routes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from expense_sync.hooks.ekuaibao import EkuaibaoHook
from expense_sync.hooks.errors import TransientVendorError

VENDOR = "ekuaibao"
FLOW_SEARCH = "/api/openapi/v2/extension/flow/INVOICE/search"
ENTITY_SEARCH = "/api/openapi/v2/extension/INVOICE/object/*/search"
DETAIL_BATCH = "/api/openapi/v2/extension/INVOICE/object/invoice/detailBatch"
SPECIAL = {
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
}
FULL_DIGITAL = {
    "category": "FULL_DIGITAl_NORMAL",
    "code": None,
    "number": "24442000000074288816",
    "date": "2026-11-02",
    "net": "94.34",
    "tax": "5.66",
    "rate": "6%",
    "seller_name": "东莞小勺餐饮有限公司",
    "seller_tax_id": "91441900MA5F000002",
    "buyer_name": "示例集团",
    "buyer_tax_id": "91110108318283928K",
    "verified": False,
}


@pytest.fixture
def hook(sandboxes):
    hook = EkuaibaoHook()
    corp = hook.corporation()
    hook.create_staffs([{"name": "王芳", "code": "E1001", "cellphone": "13800000001", "defaultDepartment": corp}])
    hook.create_dimension_items(hook.dimension("成本中心")["id"], [{"name": "销售部", "code": "CC01", "parentId": ""}])
    return hook


def seed(sandboxes, object_id: str, **fields) -> str:
    return sandboxes.control(VENDOR).mutate("seed_invoice", object_id=object_id, **fields)


def file_claim(sandboxes, *lines: dict) -> dict:
    lines_ = [{"fee_type_code": "COST2", "amount": "100.00", "cost_center": "CC01", **line} for line in lines]
    return sandboxes.control(VENDOR).mutate("seed_claim", staff_code="E1001", lines=lines_, state="paid")


@pytest.fixture
def claim(sandboxes, hook):
    """A claim: line 1 a 专票 and a 全电 invoice, line 2 a train ticket, line 3 a flight itinerary and a
    taxi receipt 合思 then loses; (flow, {name: invoice id})."""
    ids = {
        "special": seed(sandboxes, "invoice", **SPECIAL),
        "full": seed(sandboxes, "invoice", **FULL_DIGITAL),
        "train": seed(sandboxes, "train", number="B054158", date="2026-11-03", amount="553.00", passenger="王芳"),
        "flight": seed(
            sandboxes,
            "flightItinerary",
            number="7812431511988",
            date="2026-11-04",
            fare="1120.00",
            fuel="80.00",
            caac_fund="50.00",
            passenger="王芳",
        ),
        "taxi": seed(sandboxes, "taxi", number="19777479", code="133022034001", date="2026-11-05", amount="35.00"),
    }
    flow = file_claim(
        sandboxes,
        {"invoices": [ids["special"], ids["full"]], "deductible_tax": {ids["full"]: "5.66"}},
        {"invoices": [ids["train"]]},
        {"invoices": [ids["flight"], ids["taxi"]]},
    )
    assert sandboxes.control(VENDOR).mutate("delete_invoice", invoice_id=ids["taxi"]) is True
    return flow, ids


def money(entity: dict, key: str) -> Decimal:
    return Decimal(entity[key]["standard"])


# -- (c) a claim's invoices ---------------------------------------------------------------------------
def test_a_claims_invoices_come_in_order_with_their_entities(sandboxes, hook, claim):
    flow, ids = claim

    invoices = hook.claim_invoices(flow["id"])

    assert [(i["invoiceId"], i["invoiceType"]) for i in invoices] == [
        (ids["special"], "invoice"),
        (ids["full"], "invoice"),
        (ids["train"], "train"),
        (ids["flight"], "flightItinerary"),
        (ids["taxi"], "taxi"),
    ]
    special, full, train, flight, taxi = (i["entity"] for i in invoices)
    p = "E_system_发票主体_"
    assert ids["special"] == "SBXcorp0001:044031900111:69872971"
    assert (special[p + "发票类别"], special[p + "发票代码"], special[p + "发票号码"]) == (
        "PAPER_SPECIAL",
        "044031900111",
        "69872971",
    )
    assert [money(special, p + k) for k in ("发票金额", "税额", "价税合计")] == [
        Decimal("1000.00"),
        Decimal("130.00"),
        Decimal("1130.00"),
    ]
    assert (special[p + "销售方纳税人识别号"], special[p + "购买方纳税人识别号"], special[p + "验真"]) == (
        "91440300MA5F000001",
        "91110108318283928K",
        True,
    )
    assert (money(special, "E_税额"), special["E_是否抵扣"]) == (Decimal("130.00"), True)  # 专票: deductible
    assert len(invoices[0]["invoiceItemId"]) == 1  # its 发票明细 row
    # 全电: no 发票代码, the 20-digit number, the id <corp>::<number> (get-entity-invoice-img.md)
    assert ids["full"] == "SBXcorp0001::24442000000074288816"
    assert (full[p + "发票代码"], full[p + "发票号码"], full[p + "验真"]) == ("", "24442000000074288816", False)
    assert money(full, "E_税额") == 0  # 普票: nothing deductible on the entity
    assert (train["E_system_火车票_号码"], money(train, "E_system_火车票_金额")) == ("B054158", Decimal("553.00"))
    assert train["E_system_火车票_乘车人姓名"] == "王芳" and invoices[2]["invoiceItemId"] == []
    f = "E_system_航空运输电子客票行程单_"
    assert [money(flight, f + k) for k in ("票价", "燃油附加费", "民航发展基金", "保险费", "金额")] == [
        Decimal("1120.00"),
        Decimal("80.00"),
        Decimal("50.00"),
        0,
        Decimal("1250.00"),
    ]
    assert flight[f + "电子客票号码"] == "7812431511988"
    assert taxi is None  # 合思 no longer returns it: kept, with no entity, for the caller to queue
    assert all(
        e["flowId"] == flow["id"] and e["flowForm"]["code"] == flow["form"]["code"] for e in invoices_of(invoices)
    )


def invoices_of(invoices: list[dict]) -> list[dict]:
    return [i["entity"] for i in invoices if i["entity"] is not None]


def test_the_claim_carries_the_refs_and_their_deductible_tax(sandboxes, hook, claim):
    flow, ids = claim
    details = hook.flow_detail(flow["id"])["form"]["details"]

    forms = [d["feeTypeForm"] for d in details]

    assert [f["invoice"] for f in forms] == ["1", "1", "1"]
    assert [[r["invoiceId"] for r in f["invoiceForm"]["invoices"]] for f in forms] == [
        [ids["special"], ids["full"]],
        [ids["train"]],
        [ids["flight"], ids["taxi"]],
    ]
    taxes = [r["taxAmount"]["standard"] for f in forms for r in f["invoiceForm"]["invoices"]]
    assert taxes == [130.0, 5.66, 0, 0, 0]  # 专票: its tax; 全电 普票: as set; tickets: 0
    assert {f["invoiceForm"]["type"] for f in forms} == {"exist"}
    plain = file_claim(sandboxes, {})
    assert hook.flow_detail(plain["id"])["form"]["details"][0]["feeTypeForm"]["invoiceForm"] == {"type": "noWrite"}
    assert hook.claim_invoices(plain["id"]) == []


def test_the_detail_rows_give_the_tax_rate(sandboxes, hook, claim):
    flow, ids = claim

    rows = hook.invoice_details([ids["special"], ids["full"], ids["train"], ids["taxi"]])

    [special], [full] = rows[ids["special"]], rows[ids["full"]]
    assert (special["E_system_发票明细_税率"], money(special, "E_system_发票明细_税额")) == ("13%", Decimal("130.00"))
    assert (full["E_system_发票明细_税率"], money(full, "E_system_发票明细_金额")) == ("6%", Decimal("94.34"))
    assert rows[ids["train"]] == [] and rows[ids["taxi"]] == []  # a ticket has none; a lost invoice neither
    assert [special["id"], full["id"]] == [
        r["invoiceItemId"][0] for r in hook.flow_invoice_refs([flow["id"]])[flow["id"]][:2]
    ]


def test_an_edited_invoice_is_read_as_edited(sandboxes, hook, claim):
    flow, ids = claim
    sandboxes.control(VENDOR).mutate(
        "edit_invoice", invoice_id=ids["train"], fields={"E_system_火车票_乘车人姓名": "李雷"}
    )

    train = hook.invoice_entities("train", [ids["train"]])[0]

    assert train["E_system_火车票_乘车人姓名"] == "李雷"
    assert hook.invoice_entities("invoice", [ids["train"]]) == []  # another type's id: not found


def test_unknown_flows_have_no_refs_and_many_flows_and_ids_are_batched(sandboxes, hook, claim):
    flow, ids = claim
    flows = [flow["id"], *(f"unknown-{n}" for n in range(150))]

    refs = hook.flow_invoice_refs(flows)

    assert len(refs[flow["id"]]) == 5 and all(refs[f] == [] for f in flows[1:])
    many = [ids["special"], *(f"SBXcorp0001:000000000000:{n:08d}" for n in range(150)), ids["full"]]
    before = sandboxes.control(VENDOR).stats()["calls"].get(f"POST {ENTITY_SEARCH.replace('*', 'invoice')}", 0)
    entities = hook.invoice_entities("invoice", many)  # the sandbox refuses more than 100 ids a call
    calls = sandboxes.control(VENDOR).stats()["calls"][f"POST {ENTITY_SEARCH.replace('*', 'invoice')}"]
    assert [e["id"] for e in entities] == [ids["special"], ids["full"]] and calls - before == 2


# -- (d) faults on the invoice routes -----------------------------------------------------------------
@pytest.mark.parametrize("kind", ["5xx", "throttle", "html_throttle", "timeout", "token_expired"])
def test_faults_on_the_invoice_routes_are_retried(sandboxes, hook, claim, kind):
    flow, _ = claim
    sandboxes.control(VENDOR).faults(
        {"kind": kind, "every": 1, "limit": 1, "delay": 2.5, "paths": [FLOW_SEARCH]},
        {"kind": kind, "every": 1, "limit": 1, "delay": 2.5, "paths": [ENTITY_SEARCH]},
        {"kind": kind, "every": 1, "limit": 1, "delay": 2.5, "paths": [DETAIL_BATCH]},
    )

    invoices = hook.claim_invoices(flow["id"])
    rows = hook.invoice_details([invoices[0]["invoiceId"]])

    assert len(invoices) == 5 and sum(i["entity"] is not None for i in invoices) == 4
    assert len(rows[invoices[0]["invoiceId"]]) == 1
    assert sum(sandboxes.control(VENDOR).stats()["faults_fired"].values()) == 3


@pytest.mark.parametrize("path", [FLOW_SEARCH, ENTITY_SEARCH, DETAIL_BATCH])
def test_a_route_that_keeps_failing_raises(sandboxes, hook, claim, path):
    flow, ids = claim
    sandboxes.control(VENDOR).faults({"kind": "5xx", "every": 1, "paths": [path]})

    with pytest.raises(TransientVendorError) as failed:
        hook.claim_invoices(flow["id"])
        hook.invoice_details([ids["special"]])

    assert failed.value.status == 500
