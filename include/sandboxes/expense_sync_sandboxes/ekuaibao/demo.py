"""Demo data for a 合思 sandbox served standalone: a small travel-expense tenant, so that an SDK or
a hook run against ``python -m expense_sync_sandboxes serve --port ekuaibao=…`` finds something.

Departments, staff, cost centers and projects (custom dimension items), and travel claims with
lines on the sandbox's fee types: some approved (``paying``, ``paid``), one still ``approving``.
Reset option ``demo`` (the standalone default; ``--empty`` and every test reset start empty).
"""

from __future__ import annotations

from typing import Any

from expense_sync_sandboxes.ekuaibao import EkuaibaoSandbox, contacts, dimensions, flows

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
    for staff, title, day, state, header_cost_center, lines in CLAIMS:
        rows: list[dict[str, Any]] = []
        for fee_type, amount, cost_center, project in lines:
            row: dict[str, Any] = {"fee_type_code": _fee_type_code(ekb, fee_type), "amount": amount}
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
