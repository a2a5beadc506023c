"""合思 budgets (预算): the balance left per controlled dimension item.

Endpoints and the balance formula: ``docs/vendors/ekuaibao.md``."""

from __future__ import annotations

from decimal import Decimal

from expense_sync.hooks.ekuaibao.client import PAGE_SIZE, EkuaibaoClient


class BudgetsApi(EkuaibaoClient):
    """Budget packages and their nodes."""

    def budget_balances(self) -> dict[str, Decimal]:
        """Balance (budgetMoney − confirmedMoney − occupiedMoney) per controlled dimension item
        (``contentId``), over the leaf nodes of every published budget package."""
        balances: dict[str, Decimal] = {}
        for budget in self.request("GET", "/api/openapi/v2/budgets").get("items") or []:
            if not budget.get("active"):
                continue
            start = 0
            while True:
                value = self.request(
                    "GET",
                    f"/api/openapi/v2/budgets/${budget['id']}/query",
                    params={"start": start, "count": PAGE_SIZE},
                )["value"]
                nodes, monies = value.get("nodes") or [], {m["nodeId"]: m for m in value.get("monies") or []}
                children = nodes[1:]
                for node in children:
                    money = monies.get(node["nodeId"])
                    if not node.get("isLeaf") or money is None:
                        continue
                    balance = Decimal(str(money["budgetMoney"])) - Decimal(str(money.get("confirmedMoney") or 0))
                    balance -= Decimal(str(money.get("occupiedMoney") or 0))
                    for content in node.get("content") or []:
                        key = content["contentId"]
                        balances[key] = min(balance, balances.get(key, balance))
                if len(children) < PAGE_SIZE:
                    break
                start += len(children)
        return balances
