"""Demo data for a 合思 sandbox served standalone: a small travel-expense tenant, so that an SDK or
a hook run against ``python -m expense_sync_sandboxes serve --port ekuaibao=…`` finds something.

Departments, staff, cost centers and projects (custom dimension items), and travel claims with
lines on the sandbox's fee types: some approved (``paying``, ``paid``), one still ``approving``.
Each line carries its invoices (:data:`INVOICES`): 行程单, 铁路电子客票, 专票 and 普票, a taxi receipt;
the 北京 trip claims the 上海 trip's hotel 专票 again (a duplicate across claims, as an auditor finds them).
Reset option ``demo`` (the standalone default; ``--empty`` and every test reset start empty).
"""

from __future__ import annotations

from typing import Any

from expense_sync_sandboxes.ekuaibao import EkuaibaoSandbox, contacts, dimensions, flows, invoices

DEPARTMENTS = [("D100", "销售部"), ("D200", "研发部"), ("D300", "财务部")]
STAFF = [  # code, name, cellphone, department code
    ("E1001", "王芳", "13800000001", "D100"),
    ("E1002", "李强", "13800000002", "D100"),
    ("E2001", "张伟", "13800000003", "D200"),
    ("E3001", "刘洋", "13800000004", "D300"),
]
COST_CENTERS = [("CC100", "销售部成本中心"), ("CC200", "研发部成本中心"), ("CC300", "财务部成本中心")]
PROJECTS = [("PJ001", "华东市场拓展"), ("PJ002", "新一代报销平台")]
# staff, title, date, state, header cost center, lines (fee type name, amount, line cost center, project)
CLAIMS: list[tuple[str, str, str, str, str | None, list[tuple[str, str, str | None, str | None]]]] = [
    (
        "E1001",
        "上海出差报销",
        "2026-11-03",
        "paying",
        None,
        [
            ("飞机票", "1280.00", "CC100", "PJ001"),
            ("酒店住宿", "856.00", "CC100", "PJ001"),
            ("市内打车", "96.50", "CC100", None),
        ],
    ),
    (
        "E2001",
        "深圳客户现场支持",
        "2026-11-10",
        "paid",
        "CC200",  # a form template with the cost center on the header
        [("火车票", "553.00", None, "PJ002"), ("酒店住宿", "640.00", None, "PJ002"), ("餐饮", "210.00", "CC100", None)],
    ),
    ("E1002", "北京展会差旅", "2026-11-18", "paying", None, [("飞机票", "1960.00", "CC100", "PJ001")]),
    ("E3001", "杭州审计出差", "2026-11-24", "approving", "CC300", [("火车票", "155.50", None, None)]),
]


BUYER = ("北京合思信息技术有限公司", "91110108318283928K")  # the buyer of 合思's own documented examples
HOTEL = ("上海静安宾馆有限公司", "91440300892254961D")
# (claim index, line index) -> the invoices of that line, (object id, fields); "dup" reuses the one named
INVOICES: dict[tuple[int, int], list[tuple[str, dict[str, Any]]]] = {
    (0, 0): [
        (
            "flightItinerary",
            {
                "number": "7812431511988",
                "date": "2026-11-02",
                "fare": "1180.00",
                "fuel": "50.00",
                "caac_fund": "50.00",
                "passenger": "王芳",
            },
        )
    ],
    (0, 1): [
        (
            "invoice",
            {
                "category": "DIGITAL_SPECIAL",
                "code": "031002300111",
                "number": "08812345",
                "date": "2026-11-03",
                "net": "807.55",
                "tax": "48.45",
                "rate": "6%",
                "seller_name": HOTEL[0],
                "seller_tax_id": HOTEL[1],
                "buyer_name": BUYER[0],
                "buyer_tax_id": BUYER[1],
                "verified": True,
            },
        )
    ],
    (0, 2): [("taxi", {"code": "131001970101", "number": "19777479", "date": "2026-11-03", "amount": "96.50"})],
    (1, 0): [
        ("train", {"number": "10610310291123B054158", "date": "2026-11-09", "amount": "553.00", "passenger": "张伟"})
    ],
    (1, 1): [
        (
            "invoice",
            {
                "category": "FULL_DIGITAl_SPECIAL",
                "code": None,
                "number": "24442000000012345678",
                "date": "2026-11-10",
                "net": "603.77",
                "tax": "36.23",
                "rate": "6%",
                "seller_name": "深圳南山酒店有限公司",
                "seller_tax_id": "91440300MA5FN0QX1T",
                "buyer_name": BUYER[0],
                "buyer_tax_id": BUYER[1],
                "verified": True,
            },
        )
    ],
    (1, 2): [
        (
            "invoice",
            {
                "category": "DIGITAL_NORMAL",
                "code": "044031900111",
                "number": "69872971",
                "date": "2026-11-10",
                "net": "198.11",
                "tax": "11.89",
                "rate": "6%",
                "seller_name": "深圳粤菜餐饮有限公司",
                "seller_tax_id": "91440300MA5GR8UT3J",
                "buyer_name": BUYER[0],
                "buyer_tax_id": BUYER[1],
            },
        )
    ],
    (2, 0): [("dup", {"of": (0, 1)})],
}


def _invoices(ekb: EkuaibaoSandbox, claim: int, line: int, made: dict[tuple[int, int], list[str]]) -> list[str]:
    ids = []
    for object_id, fields in INVOICES.get((claim, line), []):
        ids += made[fields["of"]] if object_id == "dup" else [invoices.seed_invoice(ekb, object_id, **fields)]
    made[(claim, line)] = ids
    return ids


def _fee_type_code(ekb: EkuaibaoSandbox, name: str) -> str:
    return next(f["code"] for f in ekb.fee_types.values() if f["name"] == name)  # a preset (feetypes.PRESETS)


def seed(ekb: EkuaibaoSandbox) -> None:
    departments = {
        code: contacts.create_department(ekb, {"name": name, "code": code, "parentId": ekb.corp_id})["id"]
        for code, name in DEPARTMENTS
    }
    for code, name, phone, department in STAFF:
        contacts.upsert_new_staff(
            ekb, {"name": name, "code": code, "cellphone": phone, "defaultDepartment": departments[department]}
        )
    for category, items in (("成本中心", COST_CENTERS), ("项目", PROJECTS)):
        category_id = next(c["id"] for c in ekb.dimension_categories.values() if c["name"] == category)
        for code, name in items:
            dimensions.create_item(ekb, {"dimensionId": category_id, "code": code, "name": name, "parentId": ""})
    made: dict[tuple[int, int], list[str]] = {}
    for n, (staff, title, day, state, header_cost_center, lines) in enumerate(CLAIMS):
        rows: list[dict[str, Any]] = []
        for m, (fee_type, amount, cost_center, project) in enumerate(lines):
            row: dict[str, Any] = {"fee_type_code": _fee_type_code(ekb, fee_type), "amount": amount}
            row.update({"invoices": ids} if (ids := _invoices(ekb, n, m, made)) else {})
            row.update({"cost_center": cost_center} if cost_center else {})
            row.update({"project": project} if project else {})
            rows.append(row)
        flows.seed_claim(
            ekb,
            staff_code=staff,
            lines=rows,
            title=title,
            expense_date=day,
            state=state,
            header_cost_center=header_cost_center,
        )
