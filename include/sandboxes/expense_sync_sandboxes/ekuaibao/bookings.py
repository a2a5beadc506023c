"""合思 travel orders (订单管理): what the travel mall pushes to 合思 for an approved application.

Follows docs/vendors/ekuaibao.md, "Travel bookings" ([V] unless marked):

* ``POST /api/openapi/v2.1/datalink/TRAVEL_MANAGEMENT/searchOrders`` ``{entityId, start, count≤100,
  startDate?, endDate?}`` (the window on the **creation** time) → ``{"items": {"total", "data":
  [{"dataLink": {id, useCount, totalCount, ownerId, visibility, E_<entity>_<field>…, active,
  updateTime, createTime, entityId}, "ledger", "planned", "plans", "ledgers"}]}}``, newest code first;
  a wrong ``entityId`` → 400 "业务对象模板不存在", ``count`` > 100 → 400 "单次查询总数不得大于100";
* ``GET /api/openapi/v2/datalink/TRAVEL_MANAGEMENT/byDataLinkIds`` with a JSON body ``{"ids": […]}``
  → ``{"items": [{id, version, active, createTime, updateTime, name, code, form{E_<entity>_…},
  entityId, platformId, ownerId, visibility…}]}``; unknown ids are left out [I];
* the fields are named ``E_<订单管理 entity id>_<name>``; ``entityId`` is the order's own kind (飞机,
  酒店 …), a child of 订单管理 [I: the ids of the example differ that way];
* [I] a new or changed order fires the 业务对象数据变更 outbound message, posted to the configured URL
  as ``{dataLinkId, entityId, name, updateTime}`` (the documents show no body for this kind).

Control mutation: ``seed_booking`` (requisition_code, category: flight | hotel | train | car, amount,
state: confirmed | changed | cancelled, order_id (an existing order: change it), staff_code (default:
the application's submitter), platform) books or changes an order and posts its message.
"""

from __future__ import annotations

import copy
import itertools
from decimal import Decimal
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from expense_sync_sandboxes.core import json_response
from expense_sync_sandboxes.ekuaibao import EkuaibaoSandbox, error
from expense_sync_sandboxes.ekuaibao import flows as fl

ORDER_ENTITY = "5bx0rder5e0000000000"  # 订单管理's 业务对象ID in this tenant [I]
KINDS = {  # category -> (its entity, the field only it has, that field's value, confirmed / cancelled words)
    "flight": ("5bxf1ight0e000000000", "航班号", "CA1501", "出票", "退票"),
    "train": ("5bxtra1n00e000000000", "车次", "G101", "出票", "退票"),
    "hotel": ("5bxh0te100e000000000", "酒店名称", "合思酒店(中关村店)", "确认订单", "退订"),
    "car": ("5bxcar0000e000000000", "车型", "经济型", "已成交", "取消"),
}
PLATFORM_ID = "SBXplatform00"
_serial = itertools.count(1)


def reset(ekb: EkuaibaoSandbox) -> None:
    ekb.orders: dict[str, dict[str, Any]] = {}  # order id -> its dataLink (searchOrders shape)


def field(name: str) -> str:
    return f"E_{ORDER_ENTITY}_{name}"


def by_ids_item(ekb: EkuaibaoSandbox, link: dict[str, Any]) -> dict[str, Any]:
    """An order as ``byDataLinkIds`` serves it: the fields under ``form``."""
    form = {k: copy.deepcopy(v) for k, v in link.items() if k.startswith("E_")}
    return {
        "id": link["id"],
        "version": link["_version"],
        "active": link["active"],
        "createTime": link["createTime"],
        "updateTime": link["updateTime"],
        "name": form[field("name")],
        "nameSpell": "",
        "code": form[field("code")],
        "corporationId": ekb.corp_id,
        "form": form,
        "ledgerAmount": None,
        "ledgerAmountModel": None,
        "totalCount": link["totalCount"],
        "useCount": link["useCount"],
        "entityId": link["entityId"],
        "platformId": PLATFORM_ID,
        "source": "OPENAPI",
        "masterId": None,
        "index": 0,
        "visibility": {
            "fullVisible": False,
            "staffs": list(link["visibility"]["staff"]),
            "roles": None,
            "departments": None,
            "departmentsIncludeChildren": False,
        },
        "visible": True,
        "ownerId": link["ownerId"],
        "operatorId": link["ownerId"],
        "sourceId": None,
        "flowCounts": {},
    }


def served(link: dict[str, Any]) -> dict[str, Any]:
    return {k: copy.deepcopy(v) for k, v in link.items() if not k.startswith("_")}


def add_routes(ekb: EkuaibaoSandbox) -> None:
    app = ekb.app

    @app.post("/api/openapi/v2.1/datalink/TRAVEL_MANAGEMENT/searchOrders")
    async def search_orders(request: Request) -> Response:
        ekb.authed(request)
        raw = await request.body()
        body = await request.json() if raw else {}
        if body.get("entityId") != ORDER_ENTITY:
            raise error(400, "业务对象模板不存在")
        start, count = int(body.get("start") or 0), int(body.get("count") or 0)
        if count > 100:
            raise error(400, "单次查询总数不得大于100")
        orders = list(ekb.orders.values())
        if body.get("startDate"):
            orders = [o for o in orders if o["createTime"] >= fl._ms_of(body["startDate"])]
        if body.get("endDate"):
            orders = [o for o in orders if o["createTime"] <= fl._ms_of(body["endDate"])]
        orders.sort(key=lambda o: o[field("code")], reverse=True)
        data = [
            {"dataLink": served(o), "ledger": {}, "planned": {}, "plans": [], "ledgers": []}
            for o in orders[start : start + count]
        ]
        return json_response({"items": {"total": len(orders), "data": data}})

    @app.get("/api/openapi/v2/datalink/TRAVEL_MANAGEMENT/byDataLinkIds")
    async def by_data_link_ids(request: Request) -> Response:
        ekb.authed(request)
        raw = await request.body()
        ids = (await request.json() if raw else {}).get("ids") or []
        return json_response({"items": [by_ids_item(ekb, ekb.orders[i]) for i in ids if i in ekb.orders]})


def seed_booking(
    ekb: EkuaibaoSandbox,
    requisition_code: str | None = None,
    category: str = "flight",
    amount: str = "0",
    state: str = "confirmed",
    order_id: str | None = None,
    staff_code: str | None = None,
    platform: str = "合思商城",
) -> dict[str, Any]:
    """Book an order against an application (or change / cancel ``order_id``), and post its message."""
    if state not in ("confirmed", "changed", "cancelled"):
        raise ValueError(f"a booking is confirmed, changed or cancelled, not {state!r}")
    stamp = fl.now_ms()
    if order_id is not None:
        link = ekb.orders.get(order_id)
        if link is None:
            raise KeyError(f"no order {order_id}")
        kind = next(k for k, v in KINDS.items() if v[0] == link["entityId"])
    else:
        if category not in KINDS:
            raise ValueError(f"unknown category {category!r}; known: {', '.join(KINDS)}")
        kind = category
        requisition = None
        if requisition_code is not None:
            requisition = next(
                (
                    f
                    for f in ekb.flows.values()
                    if f["formType"] == "requisition" and f["form"]["code"] == requisition_code
                ),
                None,
            )
            if requisition is None:
                raise KeyError(f"no application {requisition_code}")
        staff = next((s for s in ekb.staffs.values() if s["code"] == staff_code), None) if staff_code else None
        if staff_code and staff is None:
            raise KeyError(f"合思 has no staff with code {staff_code}")
        staff_id = staff["id"] if staff else (requisition["ownerId"] if requisition else None)
        if staff_id is None:
            raise ValueError("a booking needs a staff_code or a requisition_code")
        number = f"{14134700000 + next(_serial)}"
        order_id = f"ORD{number}"
        entity, only, value = KINDS[kind][:3]
        link = {
            "id": order_id,
            "useCount": 0,
            "totalCount": 1,
            "ownerId": staff_id,
            "visibility": {"fullVisible": False, "staff": [staff_id], "department": [], "role": []},
            field("code"): number,
            field("name"): f"{kind}-{number}",
            field("票号"): "",
            field("出行人"): [staff_id],
            field("订单号"): number,
            field("订票人"): staff_id,
            field(only): value,
            field("出行类型"): "因公",
            field("支付方式"): "企业支付",
            field("订单日期"): stamp,
            field("订票平台"): platform,
            field("申请单编号"): requisition_code or "",
            "active": True,
            "updateTime": stamp,
            "createTime": stamp,
            "entityId": entity,
            "_version": 0,
        }
        ekb.orders[order_id] = link
    confirmed, cancelled = KINDS[kind][3:]
    word = {"confirmed": confirmed, "changed": "改签", "cancelled": cancelled}[state]
    link[field("订单状态")] = word
    link[field("订单类型")] = word
    link[field("订单金额")] = {**fl.money(Decimal(str(amount))), "standardScale": 2}
    link["updateTime"] = max(stamp, link["createTime"])
    link["_version"] += 1
    message = {
        "dataLinkId": order_id,
        "entityId": link["entityId"],
        "name": link[field("name")],
        "updateTime": link["updateTime"],
    }
    fl._deliver(ekb, message)
    return served(link)


MUTATIONS = {"seed_booking": seed_booking}


def dump(ekb: EkuaibaoSandbox) -> dict[str, Any]:
    return {"orders": [served(o) for o in ekb.orders.values()]}
