"""The budget center as two K3Cloud forms read through ExecuteBillQuery (docs/vendors/kingdee.md "Budget").

[I] throughout: K3Cloud's WebAPI documents no budget-balance service, so the sandbox serves the
closest documented mechanism, ExecuteBillQuery, over two forms whose FormIds and field keys are the
hook's defaults (configurable there):

* ``BM_BudgetBalance`` 预算余额: ``FID``, ``FAccountBookID`` (账簿), ``FDeptID`` (the cost center, a
  BD_Department), ``FProjectID`` (BD_Project or null), ``FAccountID`` (BD_Account or null),
  ``FYear``, ``FPeriod``, ``FBudgetAmount`` 预算数, ``FActualAmount`` 实际数 (audited vouchers),
  ``FOccupyAmount`` 占用数 (the line's own reserve plus saved and submitted vouchers),
  ``FAvailableAmount`` 可用余额 and ``FControlType`` (1 刚性, 2 柔性, 3 不控制);
* ``BM_BudgetCenter`` 预算中心: ``FID``, ``FNumber`` (the cost center's BD_Department number),
  ``FName``, ``FPrincipalID`` 负责人 and ``FControllerID`` 预算控制人, each a BD_Empinfo reference
  whose ``FNumber`` is the 工号 (or null), ``FForbidStatus``.

The actuals follow the voucher book: lines on the cost center (FFLEX5) in the line's FYEAR/FPERIOD,
on its project (FF100002) and account (the account or a child of it) where the line names them,
debit minus credit.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from expense_sync_sandboxes.budgetcenter import BudgetCenter, BudgetLine
from expense_sync_sandboxes.kingdee.chart import Chart
from expense_sync_sandboxes.kingdee.vouchers import VoucherBook

BALANCE_FORM, CENTER_FORM = "BM_BudgetBalance", "BM_BudgetCenter"
CONTROL_TYPES = {"forbid": "1", "warn": "2", "none": "3"}
BALANCE_FIELDS = (
    "FID", "FAccountBookID", "FDeptID", "FProjectID", "FAccountID", "FYear", "FPeriod", "FBudgetAmount",
    "FActualAmount", "FOccupyAmount", "FAvailableAmount", "FControlType",
)  # fmt: skip
CENTER_FIELDS = ("FID", "FNumber", "FName", "FPrincipalID", "FControllerID", "FForbidStatus")


def ref(number: str | None, name: str = "", pk: int = 0) -> dict[str, Any] | None:
    return None if number is None else {"Id": pk, "FNumber": number, "FName": name}


def cost_centers(chart: Chart) -> list[tuple[str, str]]:
    """(account book, department number) of every active cost center: the budgeted ones."""
    return [("001", d["FNumber"]) for d in chart.forms["BD_Department"] if d["FForbidStatus"] == "A"]


def _on_account(number: str | None, account: str | None) -> bool:
    return account is None or number == account or (number or "").startswith(account + ".")


def figures(book: VoucherBook, line: BudgetLine) -> tuple[Decimal, Decimal]:
    """(actual, occupied by vouchers) of a budget line: audited lines, then saved and submitted ones."""
    year, month = map(int, line.period.split("-"))
    actual, occupied = Decimal("0"), Decimal("0")
    balances = book.index.budget.get((year, month, line.company, line.cost_center), {})
    for (project, account, audited), amount in balances.items():  # running balances, kept at write time
        if line.project is not None and project != line.project:
            continue
        if not _on_account(account, line.account):
            continue
        if audited:
            actual += amount
        else:
            occupied += amount
    return actual, occupied


def balance_rows(center: BudgetCenter, chart: Chart, book: VoucherBook) -> list[dict[str, Any]]:
    rows = []
    for n, line in enumerate(center.select(lambda _: True)):
        actual, occupied = figures(book, line)
        occupied += line.reserved
        dept = chart.get("BD_Department", line.cost_center) or {}
        year, month = map(int, line.period.split("-"))
        rows.append(
            {
                "Id": 900_001 + n,
                "FID": 900_001 + n,
                "FAccountBookID": ref(line.company, "示范公司总账", 1),
                "FDeptID": ref(line.cost_center, dept.get("FName", ""), dept.get("Id", 0)),
                "FProjectID": ref(line.project),
                "FAccountID": ref(line.account),
                "FYear": year,
                "FPeriod": month,
                "FBudgetAmount": line.amount,
                "FActualAmount": actual,
                "FOccupyAmount": occupied,
                "FAvailableAmount": line.amount - actual - occupied,
                "FControlType": CONTROL_TYPES[line.control],
            }
        )
    return rows


def center_rows(center: BudgetCenter, chart: Chart) -> list[dict[str, Any]]:
    rows = []
    for n, (number, holders) in enumerate(sorted(center.holders.items())):
        dept = chart.get("BD_Department", number) or {}
        rows.append(
            {
                "Id": 950_001 + n,
                "FID": 950_001 + n,
                "FNumber": number,
                "FName": dept.get("FName", number),
                "FPrincipalID": ref(holders.owner, pk=960_001 + n),
                "FControllerID": ref(holders.budget_controller, pk=970_001 + n),
                "FForbidStatus": dept.get("FForbidStatus", "A"),
            }
        )
    return rows


def rows(
    center: BudgetCenter, chart: Chart, book: VoucherBook, form: str
) -> tuple[list[dict[str, Any]], tuple[str, ...]] | None:
    """The records and field keys of a budget form, or ``None`` for another form."""
    if form.lower() == BALANCE_FORM.lower():
        return balance_rows(center, chart, book), BALANCE_FIELDS
    if form.lower() == CENTER_FORM.lower():
        return center_rows(center, chart), CENTER_FIELDS
    return None
