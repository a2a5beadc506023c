"""合思 budgets (预算): one budget package whose leaf nodes control cost-center dimension items.

Paths and shapes follow docs/vendors/research.md §1.7:

* ``GET /api/openapi/v2/budgets`` → ``{"items": [{id, version, active, name, period{annual, period,
  startTime, endTime}, isCalcEnd}]}``;
* ``GET /api/openapi/v2/budgets/$<id>/query?nodeId=&start&count`` → ``{"value": {"nodes": [node and its
  direct children], "monies": [{nodeId, periodTime, budgetMoney, confirmedMoney, occupiedMoney}]}}``;
  no ``nodeId`` means the root; unknown budget → 400 "不存在的预算包".

Execution is computed from the claims the tenant holds: ``confirmedMoney`` = paid or archived claims'
lines on the node's cost center, ``occupiedMoney`` = those approving or waiting for payment (so a
claim counts in its own budget, as in 合思). Amounts are strings. [I] a node's ``content`` is
``[{dimensionType: "DIMENSION", dimensionId: <成本中心 category>, contentId: <item id>}]``.

Control mutation ``set_budget`` (cost_center, amount, control=ALLOW|FORBID) adds or changes the leaf
node of a cost center.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from expense_sync_sandboxes.core import json_response
from expense_sync_sandboxes.ekuaibao import EkuaibaoSandbox, error, strip_ref

BUDGET_ID = "BUDGET_2026_COST_CENTER"
ROOT_NODE = "NODE_ROOT"
CONFIRMED = ("paid", "archived")
OCCUPIED = ("approving", "paying", "PROCESSING", "pending")


def reset(ekb: EkuaibaoSandbox) -> None:
    ekb.budget_nodes: dict[str, dict[str, Any]] = {}


def _spent(ekb: EkuaibaoSandbox, item_id: str, states: tuple[str, ...]) -> Decimal:
    total = Decimal("0")
    for flow in ekb.flows.values():
        if flow["active"] and flow["state"] in states:
            for detail in flow["form"]["details"]:
                if detail["feeTypeForm"].get("u_costCenter") == item_id:
                    total += Decimal(detail["feeTypeForm"]["amount"]["standard"])
    return total


def _root(ekb: EkuaibaoSandbox) -> dict[str, Any]:
    total = sum((Decimal(n["moneys"][0]["budgetMoney"]) for n in ekb.budget_nodes.values()), Decimal("0"))
    return {
        "nodeId": ROOT_NODE,
        "code": "ROOT",
        "name": "全公司费用预算",
        "parentId": "",
        "isLeaf": not ekb.budget_nodes,
        "content": [],
        "moneys": [{"periodTime": "1", "budgetMoney": f"{total:.2f}"}],
        "control": "IGNORED",
        "overControllerRate": 100,
    }


def _monies(ekb: EkuaibaoSandbox, node: dict[str, Any]) -> dict[str, Any]:
    item = node["content"][0]["contentId"] if node["content"] else None
    confirmed = _spent(ekb, item, CONFIRMED) if item else Decimal("0")
    occupied = _spent(ekb, item, OCCUPIED) if item else Decimal("0")
    return {
        "nodeId": node["nodeId"],
        "periodTime": "1",
        "budgetMoney": node["moneys"][0]["budgetMoney"],
        "confirmedMoney": f"{confirmed:.2f}",
        "occupiedMoney": f"{occupied:.2f}",
    }


def add_routes(ekb: EkuaibaoSandbox) -> None:
    app = ekb.app

    @app.get("/api/openapi/v2/budgets")
    async def budgets(request: Request) -> Response:
        ekb.authed(request)
        return json_response(
            {
                "items": [
                    {
                        "id": BUDGET_ID,
                        "version": 1,
                        "active": True,
                        "name": "2026年度成本中心预算",
                        "period": {"annual": "2026", "period": "YEAR", "startTime": None, "endTime": None},
                        "isCalcEnd": False,
                    }
                ]
            }
        )

    @app.get("/api/openapi/v2/budgets/{ref}/query")
    async def query(ref: str, request: Request) -> Response:
        ekb.authed(request)
        if strip_ref(ref) != BUDGET_ID:
            raise error(400, "不存在的预算包")
        node_id = request.query_params.get("nodeId") or ROOT_NODE
        if node_id == ROOT_NODE:
            nodes = [_root(ekb), *ekb.budget_nodes.values()]
        elif node_id in ekb.budget_nodes:
            nodes = [ekb.budget_nodes[node_id]]
        else:
            raise error(400, f"预算节点不存在: {node_id}")
        q = request.query_params
        start, count = int(q.get("start", 0)), min(100, int(q.get("count", 100)))
        head, children = nodes[:1], nodes[1:][start : start + count]
        shown = head + children
        return json_response({"value": {"nodes": shown, "monies": [_monies(ekb, n) for n in shown]}})


def set_budget(ekb: EkuaibaoSandbox, cost_center: str, amount: str, control: str = "ALLOW") -> dict[str, Any]:
    from expense_sync_sandboxes.ekuaibao.flows import _dimension_item

    item = _dimension_item(ekb, "成本中心", cost_center)
    category = next(c["id"] for c in ekb.dimension_categories.values() if c["name"] == "成本中心")
    node_id = f"NODE_{cost_center}"
    ekb.budget_nodes[node_id] = {
        "nodeId": node_id,
        "code": cost_center,
        "name": f"成本中心{cost_center}",
        "parentId": ROOT_NODE,
        "isLeaf": True,
        "content": [{"dimensionType": "DIMENSION", "dimensionId": category, "contentId": item, "mustLeaf": True}],
        "moneys": [{"periodTime": "1", "budgetMoney": f"{Decimal(str(amount)):.2f}"}],
        "control": control,
        "overControllerRate": 100,
    }
    return ekb.budget_nodes[node_id]


MUTATIONS = {"set_budget": set_budget}
