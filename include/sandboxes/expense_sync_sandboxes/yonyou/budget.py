"""The budget center on the YonBIP gateway (docs/vendors/yonyou.md "Budget center").

[I] throughout: no YonBIP open API for the budget (预算控制 / 预算执行) was found in the vendor's
documents, so both paths, bodies and answers are the hook's defaults (configurable there), in the
gateway's documented envelope (``{"code": "200", "message", "data"}``, errors as HTTP 200 codes):

* ``POST /yonbip/fi/bcm/openapi/budget/balance`` ``{accbookCode, costCenterCode, period, projectCode?,
  accsubjectCode?}`` → ``data``: the budget lines of exactly that key (no ``projectCode``: the line
  without a project; likewise the account), each ``{accbookCode, costCenterCode, projectCode,
  accsubjectCode, period, budgetAmount 预算数, executeAmount 执行数 (audited and tallied vouchers),
  occupyAmount 预占数 (saved vouchers plus the line's own reserve), availableAmount 可用数,
  controlType rigid 刚性 | flexible 柔性 | none 不控制}``; a missing ``accbookCode``,
  ``costCenterCode`` or ``period`` → ``{"code": "999", "message": "…不能为空"}``;
* ``POST /yonbip/fi/bcm/openapi/budget/costcenter/holders`` — the ``querybd`` body (``pageIndex``,
  ``pageSize``, ``conditions``) → ``{"code": 200, "data": [...], "total": n}`` with ``{code, name,
  accbookCode, principalCode 负责人, budgetControllerCode 预算控制人, enable}`` per enabled cost center.

The figures follow the ledger: lines carrying the cost center as auxiliary accounting, in the line's
period and book, on its project and account (the account or one under it) where the line names them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from expense_sync_sandboxes.budgetcenter import BudgetCenter, BudgetLine
from expense_sync_sandboxes.yonyou import wire
from expense_sync_sandboxes.yonyou.chart import Chart, select
from expense_sync_sandboxes.yonyou.ledger import Ledger

BALANCE_PATH = "/yonbip/fi/bcm/openapi/budget/balance"
HOLDERS_PATH = "/yonbip/fi/bcm/openapi/budget/costcenter/holders"
BOOK = "0001"
CONTROL_TYPES = {"forbid": "rigid", "warn": "flexible", "none": "none"}
EXECUTED, OCCUPYING = ("03", "04"), ("00", "01")  # 已审核, 已记账 / 暂存, 保存


def cost_centers(chart: Chart) -> list[tuple[str, str]]:
    """(book, code) of every enabled cost center: the budgeted ones."""
    return [(BOOK, code) for code, record in sorted(chart.records["costcenter"].items()) if record["enable"] == 1]


def _aux(body: dict[str, Any], kind: str) -> str | None:
    return next((a["code"] for a in body["auxiliary"] if a["doctype"] == kind), None)


def figures(ledger: Ledger, line: BudgetLine) -> tuple[Decimal, Decimal]:
    """(executed, occupied by vouchers) of a budget line."""
    executed, occupied = Decimal("0"), Decimal("0")
    for voucher in ledger.of_book(code=line.company, start=line.period, end=line.period):  # through the index
        if (voucher["accbook"]["code"], voucher["period"]) != (line.company, line.period):
            continue
        for body in voucher["bodies"]:
            account = body["accsubject"]["code"]
            if _aux(body, "costcenter") != line.cost_center:
                continue
            if line.project is not None and _aux(body, "project") != line.project:
                continue
            if line.account is not None and not account.startswith(line.account):
                continue
            amount = Decimal(body["debit_org"]) - Decimal(body["credit_org"])
            if voucher["status"] in EXECUTED:
                executed += amount
            elif voucher["status"] in OCCUPYING:
                occupied += amount
    return executed, occupied


def balance(line: BudgetLine, ledger: Ledger) -> dict[str, Any]:
    executed, occupied = figures(ledger, line)
    occupied += line.reserved
    return {
        "accbookCode": line.company,
        "costCenterCode": line.cost_center,
        "projectCode": line.project,
        "accsubjectCode": line.account,
        "period": line.period,
        "budgetAmount": wire.money(line.amount),
        "executeAmount": wire.money(executed),
        "occupyAmount": wire.money(occupied),
        "availableAmount": wire.money(line.amount - executed - occupied),
        "controlType": CONTROL_TYPES[line.control],
    }


def add_routes(sandbox) -> None:
    @sandbox.gateway(BALANCE_PATH)
    async def budget_balance(request: Request) -> Response:
        body = await wire.json_body(request)
        for name, label in (("accbookCode", "账簿编码"), ("costCenterCode", "成本中心编码"), ("period", "期间")):
            if not body.get(name):
                return wire.respond({"code": "999", "message": f"{label}不能为空", "data": None})
        center: BudgetCenter = sandbox.budget
        line = center.find(
            str(body["accbookCode"]),
            str(body["costCenterCode"]),
            str(body["period"]),
            body.get("projectCode") or None,
            body.get("accsubjectCode") or None,
        )
        data = [balance(line, sandbox.ledger)] if line else []
        return wire.respond({"code": "200", "message": "查询成功！", "data": data})

    @sandbox.gateway(HOLDERS_PATH)
    async def holders(request: Request) -> Response:
        center: BudgetCenter = sandbox.budget
        records = []
        for code, held in sorted(center.holders.items()):
            record = sandbox.chart.get("costcenter", code) or {}
            if record.get("enable", 1) != 1:
                continue
            records.append(
                {
                    "id": record.get("id"),
                    "code": code,
                    "name": record.get("name"),
                    "accbookCode": BOOK,
                    "principalCode": held.owner,
                    "budgetControllerCode": held.budget_controller,
                    "enable": 1,
                }
            )
        page, total, _, _ = select(records, await wire.json_body(request))
        return wire.respond({"code": 200, "message": "查询成功！", "success": True, "data": page, "total": total})
