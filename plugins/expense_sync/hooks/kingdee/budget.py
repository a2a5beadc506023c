"""The budget center (预算中心) through ExecuteBillQuery: a cost center's budget and its use, and who
holds each cost center.

[V] the mechanism: ExecuteBillQuery, FilterString, basedata sub-fields (``FDeptID.FNumber``), the
bare row array (``query.py``). [I] everything budget-specific: K3Cloud's WebAPI documents no
budget-balance service nor the FormIds of its 预算管理 forms, so the hook reads two forms named by
the ``budget_balance_form`` / ``budget_center_form`` extras (default ``BM_BudgetBalance`` and
``BM_BudgetCenter``) with the field keys below; an installation whose budget forms differ maps them
there (or by a 直接SQL账表 / 自定义表单 publishing these keys). ``FControlType`` 1 刚性 (forbid),
2 柔性 (warn), 3 不控制 (none). Details: ``docs/vendors/kingdee.md`` ("Budget center")."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from expense_sync.erp.budget import BudgetBalance, BudgetKey, Control, CostCenterHolders
from expense_sync.hooks.contract import required
from expense_sync.hooks.errors import ContractError
from expense_sync.hooks.kingdee.query import KingdeeQuery, quote
from expense_sync.hooks.kingdee.vouchers import period_parts

BALANCE_FIELDS = (
    "FAccountBookID.FNumber", "FDeptID.FNumber", "FProjectID.FNumber", "FAccountID.FNumber", "FYear", "FPeriod",
    "FBudgetAmount", "FActualAmount", "FOccupyAmount", "FControlType",
)  # fmt: skip
CENTER_FIELDS = ("FNumber", "FPrincipalID.FNumber", "FControllerID.FNumber", "FForbidStatus")
CONTROL_TYPES: dict[str, Control] = {"1": "forbid", "2": "warn", "3": "none"}


def _dimension(field: str, value: str | None) -> str:
    return f"{field} IS NULL" if value is None else f"{field}={quote(value)}"


def _text(value: Any) -> str | None:
    return str(value).strip() or None if value is not None else None


class KingdeeBudget(KingdeeQuery):
    """``budget_balance()`` and ``cost_center_holders()`` of :class:`expense_sync.erp.budget.ErpBudget`."""

    # the balance counts our vouchers once the ERP holds them: saved or submitted reserved, audited used [I]
    budget_counts_drafts = True

    def budget_balance(self, key: BudgetKey) -> BudgetBalance | None:
        """The budget line of exactly this key (``None`` project/account: the line without one)."""
        year, month = period_parts(key.period)
        form = self.settings.budget_balance_form
        endpoint = f"ExecuteBillQuery {form}"
        where = " AND ".join(
            (
                f"FAccountBookID.FNumber={quote(key.company)}",
                f"FDeptID.FNumber={quote(key.cost_center)}",
                f"FYear={year}",
                f"FPeriod={month}",
                _dimension("FProjectID.FNumber", key.project),
                _dimension("FAccountID.FNumber", key.account),
            )
        )
        row = self.query_first(form, BALANCE_FIELDS, where)
        if row is None:
            return None

        def amount(field: str) -> Decimal:
            return Decimal(str(required(row, field, vendor=self.vendor, endpoint=endpoint)))

        control = str(required(row, "FControlType", vendor=self.vendor, endpoint=endpoint))
        if control not in CONTROL_TYPES:
            raise ContractError(f"unknown FControlType {control!r}", vendor=self.vendor, endpoint=endpoint)
        return BudgetBalance(
            key=key,
            budget=amount("FBudgetAmount"),
            used=amount("FActualAmount"),
            reserved=amount("FOccupyAmount"),
            control=CONTROL_TYPES[control],
            budget_period=f"{year}-{month:02d}",
            source=f"Kingdee {form}",
        )

    def cost_center_holders(self) -> Iterator[CostCenterHolders]:
        """Every enabled cost center of the budget center with its 负责人 and 预算控制人 (their 工号)."""
        form = self.settings.budget_center_form
        endpoint = f"ExecuteBillQuery {form}"
        for row in self.query(form, CENTER_FIELDS, "FForbidStatus='A'", "FNumber ASC"):
            yield CostCenterHolders(
                cost_center=str(required(row, "FNumber", vendor=self.vendor, endpoint=endpoint)),
                company=self.settings.account_book,
                owner=_text(row.get("FPrincipalID.FNumber")),
                budget_controller=_text(row.get("FControllerID.FNumber")),
            )
