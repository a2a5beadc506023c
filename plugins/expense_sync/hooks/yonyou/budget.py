"""The budget center (预算中心) on the YonBIP gateway: a cost center's budget line and its execution,
and who holds each cost center.

[V] the gateway's envelope and errors (``{"code": "200", "message", "data"}``, HTTP 200 codes,
``wire.py``) and the ``querybd`` paging (``pages.py``). [I] the budget itself: no YonBIP open API
for 预算控制 / 预算执行 was found in the vendor's documents (U8's ``budget/batch_get`` [V, U8 only]
has the same vocabulary: 预算数, 实际发生, 实际占用), so the paths are the extras
``budget_balance_path`` / ``budget_holders_path`` and the fields are::

    balance  {accbookCode, costCenterCode, period, projectCode?, accsubjectCode?}
          → data: [{budgetAmount, executeAmount 执行数, occupyAmount 预占数, controlType rigid|flexible|none, …}]
    holders  querybd body → data: [{code, accbookCode, principalCode 负责人, budgetControllerCode 预算控制人}]

The NC Cloud variant reads no budget (NC's 计划预算 OpenAPI is not known). Details:
``docs/vendors/yonyou.md`` ("Budget center")."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from expense_sync.erp.budget import BudgetBalance, BudgetKey, Control, CostCenterHolders
from expense_sync.hooks.base import VendorHook
from expense_sync.hooks.contract import required
from expense_sync.hooks.errors import ContractError, EntityUnavailableError
from expense_sync.hooks.yonyou.pages import YonbipPaginator

if TYPE_CHECKING:
    from expense_sync.hooks.yonyou.settings import YonyouSettings

CONTROL_TYPES: dict[str, Control] = {"rigid": "forbid", "flexible": "warn", "none": "none"}


def _text(value: Any) -> str | None:
    return str(value).strip() or None if value is not None else None


class YonyouBudget(VendorHook):
    """``budget_balance()`` and ``cost_center_holders()`` of :class:`expense_sync.erp.budget.ErpBudget`
    (YonBIP only)."""

    # the balance counts our vouchers as soon as the ERP holds them (vouchers 00/01 are reserved, 03/04 used) [I]
    budget_counts_drafts = True

    settings: YonyouSettings

    def _bip_budget(self) -> None:
        if self.settings.variant == "ncc":
            raise EntityUnavailableError(
                "the NC Cloud variant of erp_yonyou reads no budget (its 计划预算 OpenAPI is not known)",
                vendor=self.vendor,
            )

    def budget_balance(self, key: BudgetKey) -> BudgetBalance | None:
        """The budget line of exactly this key (``None`` project/account: the line without one)."""
        self._bip_budget()
        path = self.settings.budget_balance_path
        endpoint = f"POST {path}"
        body = {"accbookCode": key.company, "costCenterCode": key.cost_center, "period": key.period}
        if key.project is not None:
            body["projectCode"] = key.project
        if key.account is not None:
            body["accsubjectCode"] = key.account
        rows = required(self.request("POST", path, json=body), "data", vendor=self.vendor, endpoint=endpoint)
        if not isinstance(rows, list) or len(rows) > 1:
            raise ContractError(
                f"field 'data' is not a list of at most one line: {rows!r}"[:300], vendor=self.vendor, endpoint=endpoint
            )
        if not rows:
            return None
        row = rows[0]

        def amount(field: str) -> Decimal:
            return Decimal(str(required(row, field, vendor=self.vendor, endpoint=endpoint)))

        control = str(required(row, "controlType", vendor=self.vendor, endpoint=endpoint))
        if control not in CONTROL_TYPES:
            raise ContractError(f"unknown controlType {control!r}", vendor=self.vendor, endpoint=endpoint)
        return BudgetBalance(
            key=key,
            budget=amount("budgetAmount"),
            used=amount("executeAmount"),
            reserved=amount("occupyAmount"),
            control=CONTROL_TYPES[control],
            budget_period=str(required(row, "period", vendor=self.vendor, endpoint=endpoint)),
            source=f"Yonyou {path}",
        )

    def cost_center_holders(self) -> Iterator[CostCenterHolders]:
        """Every enabled cost center with its 负责人 and 预算控制人 (their 工号), page by page."""
        self._bip_budget()
        path = self.settings.budget_holders_path
        endpoint = f"POST {path}"
        paginator = YonbipPaginator(endpoint=endpoint, size=self.settings.page_size)
        for page in self.paginate("POST", path, paginator, json={"conditions": []}, paging_in="json"):
            for row in page:
                yield CostCenterHolders(
                    cost_center=str(required(row, "code", vendor=self.vendor, endpoint=endpoint)),
                    company=_text(row.get("accbookCode")),
                    owner=_text(row.get("principalCode")),
                    budget_controller=_text(row.get("budgetControllerCode")),
                )
