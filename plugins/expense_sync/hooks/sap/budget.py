"""The budget center: a cost center's budget as plan data, its actuals from the journal, its owner.

S/4HANA has no released API answering "the available budget of a cost center" (availability control
for cost centers is customizing, not an API); the closest documented objects are:

* [V] the budget as **plan data** (ACDOCP) through ``API_FINPLANNINGENTRYITEM_SRV`` /
  ``A_FinPlanningEntryItem`` (Financial Planning Entry Item - Read, communication scenario
  SAP_COM_0087; SAP Cloud SDK VDM "Financial Planning Entry Item Service"). [I] its property names
  (``Ledger``, ``PlanningCategory``, ``CompanyCode``, ``FiscalYear``, ``FiscalPeriod``,
  ``GLAccount``, ``CostCenter``, ``WBSElement``, ``AmountInCompanyCodeCurrency``, as on the journal
  items) and the planning category of budget lines (extras ``budget_planning_category``, default
  ``BUDGET01``); a line for the cost center as a whole has an empty ``GLAccount``/``WBSElement``.
* [V] the **used** figure as the posted journal items of the cost center in the period
  (``A_JournalEntryItemBasic``, leading ledger; also on the key's account / WBS element where given),
  so a posted claim lowers the balance at once. [I] nothing is **reserved**: commitments are not
  read; the **control** is the extras' ``budget_control`` (plan data carries none).
* [V] the **owner** as ``CostCtrResponsibleUser`` of ``A_CostCenter`` (API_COSTCENTER_SRV EDMX), the
  validity period holding today; [I] that user id is the 工号. The budget controller has no field
  in the cost center: the extras' ``budget_controllers`` (per cost center) or ``budget_controller``.

Details: ``docs/vendors/sap.md`` ("Budget center")."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from expense_sync.erp.budget import BudgetBalance, BudgetKey, CostCenterHolders
from expense_sync.hooks.contract import required
from expense_sync.hooks.sap.ledger import SapLedger
from expense_sync.hooks.sap.odata import literal, parse_date, split_period

COST_CENTERS = ("API_COSTCENTER_SRV", "A_CostCenter")
HOLDER_FIELDS = (
    "CostCenter,CompanyCode,ValidityStartDate,ValidityEndDate,CostCtrResponsibleUser,IsBlkdForPrimaryCostsPosting"
)


def _text(value: Any) -> str | None:
    return str(value).strip() or None if value is not None else None


class SapBudget(SapLedger):
    """``budget_balance()`` and ``cost_center_holders()`` of :class:`expense_sync.erp.budget.ErpBudget`."""

    # the balance counts our vouchers once the ERP holds them: a journal entry is posted at once [I]
    budget_counts_drafts = True

    def _plan_amount(self, row: dict, endpoint: str) -> Decimal:
        value = required(row, "AmountInCompanyCodeCurrency", vendor=self.vendor, endpoint=endpoint)
        return Decimal(str(value))

    def budget_balance(self, key: BudgetKey) -> BudgetBalance | None:
        """The plan of exactly this key in the budget category, and the actuals posted against it."""
        year, period = split_period(key.period)
        settings = self.settings
        where = (
            f"CompanyCode eq {literal(key.company)} and CostCenter eq {literal(key.cost_center)} and "
            f"FiscalPeriod eq {literal(period)}"
        )
        plan = (
            f"Ledger eq {literal(settings.ledger)} and PlanningCategory eq "
            f"{literal(settings.budget_planning_category)} and FiscalYear eq {literal(year)} and {where} and "
            f"GLAccount eq {literal(key.account or '')} and WBSElement eq {literal(key.project or '')}"
        )
        endpoint = f"GET {settings.plan_service}/{settings.plan_entity_set}"
        params = {"$filter": plan, "$select": "CostCenter,AmountInCompanyCodeCurrency"}
        rows = list(self.odata_rows(settings.plan_service, settings.plan_entity_set, params))
        if not rows:
            return None
        budget = sum((self._plan_amount(row, endpoint) for row in rows), Decimal("0"))
        actual = f"LedgerFiscalYear eq {literal(year)} and {where}"
        if key.account is not None:
            actual += f" and GLAccount eq {literal(key.account)}"
        if key.project is not None:
            actual += f" and WBSElement eq {literal(key.project)}"
        items = self._journal_items(actual, "CostCenter,AmountInCompanyCodeCurrency")
        used = sum((self._amount(row, "AmountInCompanyCodeCurrency") for row in items), Decimal("0"))
        return BudgetBalance(
            key=key,
            budget=budget,
            used=used,
            reserved=Decimal("0"),
            control=settings.budget_control,
            budget_period=key.period,
            source=f"SAP {settings.plan_entity_set} {settings.budget_planning_category} + A_JournalEntryItemBasic",
        )

    def cost_center_holders(self) -> Iterator[CostCenterHolders]:
        """Every cost center valid today and not blocked, with its responsible user as the owner."""
        today = dt.date.today()
        endpoint = "GET {}/{}".format(*COST_CENTERS)
        params = {
            "$filter": f"ControllingArea eq {literal(self.settings.controlling_area)}",
            "$select": HOLDER_FIELDS,
            "$orderby": "CostCenter",
        }
        for row in self.odata_rows(*COST_CENTERS, params):
            start = parse_date(required(row, "ValidityStartDate", vendor=self.vendor, endpoint=endpoint))
            end = parse_date(required(row, "ValidityEndDate", vendor=self.vendor, endpoint=endpoint))
            if start is None or end is None or not start <= today <= end:
                continue
            if _text(row.get("IsBlkdForPrimaryCostsPosting")):
                continue
            code = str(required(row, "CostCenter", vendor=self.vendor, endpoint=endpoint))
            yield CostCenterHolders(
                cost_center=code,
                company=_text(row.get("CompanyCode")),
                owner=_text(row.get("CostCtrResponsibleUser")),
                budget_controller=self.settings.budget_controllers.get(code, self.settings.budget_controller),
            )
