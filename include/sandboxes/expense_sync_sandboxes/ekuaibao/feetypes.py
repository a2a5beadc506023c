"""合思 fee types (费用类型): a read-only catalogue, as the open API has no call to create or change one.

* ``GET /api/openapi/v1/feeTypes`` → ``{"items": [{id, name, parentId, active, code}]}``, disabled ones
  included, no paging [V];
* ``POST /api/openapi/v2/specifications/feeType/byIdsAndCodes`` ``{ids[], codes[]}`` → the templates
  (trimmed to the header fields here); nothing found → 412 "查询的费用类型不存在, 请输入有效的查询条件" [V].

[I] The seeded catalogue (reset option ``fee_types``): ``"erp"`` (default) is 合思's presets (ids like
``corp:office``, codes ``COSTn``, matching no ERP record) plus, under one parent per ERP, a fee type
for every expense item of the sandbox ERPs' default charts, with the ERP's code — as a tenant
integrated with that ERP sets them up, so that any ERP can be configured against it; ``"preset"``
is the presets alone. People change fee types in the 合思 UI only: the control mutations
``add_fee_type`` (code, name, parent_code), ``disable_fee_type`` and ``enable_fee_type`` (code).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from expense_sync_sandboxes.core import json_response
from expense_sync_sandboxes.ekuaibao import EkuaibaoSandbox, error
from expense_sync_sandboxes.kingdee import chart as kingdee_chart
from expense_sync_sandboxes.sap import chart as sap_chart
from expense_sync_sandboxes.yonyou import chart as yonyou_chart

# local id, name, parent local id, code
PRESETS = [
    ("travel", "差旅", "", "COST1"),
    ("flight", "飞机票", "travel", "COST2"),
    ("train", "火车票", "travel", "COST3"),
    ("hotel", "酒店住宿", "travel", "COST4"),
    ("taxi", "市内打车", "travel", "COST5"),
    ("meal", "餐饮", "", "COST6"),
    ("office", "办公用品", "", "COST7"),
    ("phone", "话费", "", "COST8"),
    ("entertain", "招待", "", "COST9"),
    ("other", "其他", "", "COST10"),
]


def erp_catalogue() -> dict[str, list[tuple[str, str]]]:
    """(code, name) of every expense item in each sandbox ERP's default chart."""
    sap_items = [(a, zh) for a, group, kind, zh, _, flags in sap_chart.BASE_ACCOUNTS if (group, kind) == ("EXPN", "P")]
    extras = sap_chart.EXTRA_EXPENSES
    sap_items += [
        (f"66021{i:03d}00", f"管理费用-{extras[i % len(extras)]}{'' if i < len(extras) else i // len(extras) + 1}")
        for i in range(40 - len(sap_chart.BASE_ACCOUNTS))
    ]
    return {
        "kingdee": [(f"FYXM{i + 1:04d}", name) for i, (name, _) in enumerate(kingdee_chart.EXPENSE_ITEMS)],
        "yonyou": [(code, name) for code, name, _, _ in yonyou_chart.EXPENSE_ITEMS],
        "sap": sap_items,
    }


ERP_GROUPS = {"kingdee": ("金蝶费用项目", "KD"), "yonyou": ("用友费用项目", "YY"), "sap": ("SAP费用科目", "SAP")}


def reset(ekb: EkuaibaoSandbox, catalogue: str = "erp") -> None:
    if catalogue not in ("erp", "preset"):
        raise ValueError("fee_types is 'erp' or 'preset'")
    corp = ekb.corp_id
    ekb.fee_types = {}

    def put(local: str, name: str, parent: str, code: str) -> None:
        fee_id = f"{corp}:{local}"
        ekb.fee_types[fee_id] = {
            "id": fee_id,
            "name": name,
            "parentId": f"{corp}:{parent}" if parent else "",
            "active": True,
            "code": code,
        }

    for row in PRESETS:
        put(*row)
    if catalogue == "erp":
        for erp, items in erp_catalogue().items():
            group_name, group_code = ERP_GROUPS[erp]
            put(erp, group_name, "", group_code)
            for code, name in items:
                put(f"{erp}_{code}", name, erp, code)


def add_routes(ekb: EkuaibaoSandbox) -> None:
    app = ekb.app

    @app.get("/api/openapi/v1/feeTypes")
    async def list_fee_types(request: Request) -> Response:
        ekb.authed(request)
        return json_response({"items": list(ekb.fee_types.values())})

    @app.post("/api/openapi/v2/specifications/feeType/byIdsAndCodes")
    async def fee_types_by_ids(request: Request) -> Response:
        ekb.authed(request)
        raw = await request.body()
        body = await request.json() if raw else {}
        ids, codes = set(body.get("ids") or []), set(body.get("codes") or [])
        found = [
            {**f, "corporationId": ekb.corp_id, "flowType": "feeType"}
            for f in ekb.fee_types.values()
            if f["id"] in ids or f["code"] in codes
        ]
        if not found:
            raise error(412, "查询的费用类型不存在, 请输入有效的查询条件")
        return json_response({"items": found})


# -- control-API mutations (what an admin does in the 合思 UI) -------------------------------------
def _by_code(ekb: EkuaibaoSandbox, code: str) -> dict[str, Any]:
    found = next((f for f in ekb.fee_types.values() if f["code"] == code), None)
    if found is None:
        raise KeyError(f"no fee type with code {code}")
    return found


def add_fee_type(ekb: EkuaibaoSandbox, code: str, name: str, parent_code: str | None = None) -> dict[str, Any]:
    if any(f["code"] == code for f in ekb.fee_types.values()):
        raise ValueError(f"fee type code {code} exists")
    parent = _by_code(ekb, parent_code)["id"] if parent_code else ""
    fee_id = f"{ekb.corp_id}:ft_{code}"
    ekb.fee_types[fee_id] = {"id": fee_id, "name": name, "parentId": parent, "active": True, "code": code}
    return ekb.fee_types[fee_id]


def set_fee_type_active(ekb: EkuaibaoSandbox, code: str, active: bool) -> dict[str, Any]:
    fee_type = _by_code(ekb, code)
    fee_type["active"] = active
    return fee_type


MUTATIONS = {
    "add_fee_type": add_fee_type,
    "disable_fee_type": lambda ekb, code: set_fee_type_active(ekb, code, False),
    "enable_fee_type": lambda ekb, code: set_fee_type_active(ekb, code, True),
}
