"""What the budget check and the approval matrix need from an ERP's budget center (预算中心).

Each ERP hook (``hooks/<erp>/budget.py``) implements :class:`ErpBudget` over its vendor's budget or
funds-availability API and says in ``docs/vendors/<erp>.md`` which parts are confirmed by the vendor's
documents and which are inferred ([I]). Amounts are Decimal in the book's currency.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, Protocol

Control = Literal["forbid", "warn", "none"]  # over budget: refuse (刚性), warn (柔性), not controlled


@dataclass(frozen=True)
class BudgetKey:
    """What a balance is asked for: the cost center, and the project and GL account where the ERP
    budgets that finely (``None``: the cost center's budget as a whole)."""

    company: str
    cost_center: str
    period: str  # "YYYY-MM"; the ERP answers the budget period (month, quarter or year) holding it
    project: str | None = None
    account: str | None = None


@dataclass(frozen=True)
class BudgetBalance:
    key: BudgetKey
    budget: Decimal  # the amount budgeted for the period
    used: Decimal  # actuals (posted)
    reserved: Decimal  # committed / occupied (pre-allocated, approving)
    control: Control
    budget_period: str  # the ERP's own period the figures are for ("2026-12", "2026Q4", "2026")
    source: str  # the ERP object the figures come from (for the auditors), e.g. "Kingdee BM_BudgetBalance"

    @property
    def available(self) -> Decimal:
        return self.budget - self.used - self.reserved


@dataclass(frozen=True)
class CostCenterHolders:
    """Who answers for a cost center in the ERP's budget center, by 工号 (employee number)."""

    cost_center: str
    company: str | None
    owner: str | None  # 负责人
    budget_controller: str | None  # 预算控制人 / finance controller


class ErpBudget(Protocol):
    vendor: str

    def budget_balance(self, key: BudgetKey) -> BudgetBalance | None:
        """The budget and its use for ``key``, or ``None`` when the ERP budgets nothing there."""

    def cost_center_holders(self) -> Iterator[CostCenterHolders]:
        """Every cost center's owner and budget controller, as the ERP's budget center holds them."""
