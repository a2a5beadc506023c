"""The budget center as S/4HANA keeps it: budget lines as plan data (ACDOCP) read through
``API_FINPLANNINGENTRYITEM_SRV`` / ``A_FinPlanningEntryItem``, and a cost center's owner as the
responsible user of ``A_CostCenter`` (docs/vendors/sap.md "Budget center").

[V] the service and entity set names (SAP Cloud SDK VDM "Financial Planning Entry Item Service",
communication scenario SAP_COM_0087), ``CostCtrResponsibleUser`` on ``A_CostCenter`` (its EDMX).
[I] the properties of ``A_FinPlanningEntryItem`` (named as on the journal items: ``Ledger``,
``CompanyCode``, ``FiscalYear``, ``FiscalPeriod``, ``PlanningCategory``, ``GLAccount``,
``CostCenter``, ``WBSElement``, ``AmountInCompanyCodeCurrency``…) and the planning category
``BUDGET01`` of budget lines; a line for the cost center as a whole has an empty ``GLAccount``. The
actuals are not here: S/4HANA has them on the journal items (``A_JournalEntryItemBasic``), which the
hook reads, so a posted entry lowers the balance by itself. The budget controller has no field on
``A_CostCenter``: the sandbox keeps it (``set_cost_center_holders``) but serves only the owner.
"""

from __future__ import annotations

from typing import Any

from expense_sync_sandboxes.budgetcenter import BudgetCenter
from expense_sync_sandboxes.sap.chart import CONTROLLING_AREA, CURRENCY, OPEN_END, Chart
from expense_sync_sandboxes.sap.edm import EntitySet, Prop, Service

BUDGET_CATEGORY = "BUDGET01"
LEDGER = "0L"


def _dim(name: str, length: int) -> Prop:
    return Prop(name, "Edm.String", length, sap={"display-format": "UpperCase", "aggregation-role": "dimension"})


PLAN_ITEM = EntitySet(
    "A_FinPlanningEntryItem",
    ("ID",),
    (
        Prop("ID", "Edm.String", nullable=False, sap={"sortable": "false", "filterable": "false"}),
        _dim("Ledger", 2),
        _dim("PlanningCategory", 10),
        _dim("CompanyCode", 4),
        _dim("ControllingArea", 4),
        _dim("FiscalYear", 4),
        _dim("FiscalPeriod", 3),
        _dim("FiscalYearPeriod", 7),
        _dim("GLAccount", 10),
        _dim("CostCenter", 10),
        _dim("WBSElement", 24),
        Prop(
            "CompanyCodeCurrency", "Edm.String", 5, sap={"aggregation-role": "dimension", "semantics": "currency-code"}
        ),
        Prop(
            "AmountInCompanyCodeCurrency",
            "Edm.Decimal",
            precision=24,
            scale=3,
            sap={"aggregation-role": "measure", "unit": "CompanyCodeCurrency", "filterable": "false"},
        ),
    ),
    label="Financial Planning Entry Item",
    aggregate=True,
)
PLAN_SERVICE = Service("API_FINPLANNINGENTRYITEM_SRV", (PLAN_ITEM,))


def cost_centers(chart: Chart) -> list[tuple[str, str]]:
    """(company code, cost center) of every open, unblocked cost center: the budgeted ones."""
    return [
        (row["CompanyCode"], row["CostCenter"])
        for (code, end), row in sorted(chart.cost_centers.items())
        if end == OPEN_END and row["IsBlkdForPrimaryCostsPosting"] != "X"
    ]


def plan_rows(center: BudgetCenter) -> list[dict[str, Any]]:
    rows = []
    for n, line in enumerate(center.select(lambda _: True)):
        year, month = line.period.split("-")
        rows.append(
            {
                "ID": f"PLAN{n + 1:08d}",
                "Ledger": LEDGER,
                "PlanningCategory": BUDGET_CATEGORY,
                "CompanyCode": line.company,
                "ControllingArea": CONTROLLING_AREA,
                "FiscalYear": year,
                "FiscalPeriod": f"{int(month):03d}",
                "FiscalYearPeriod": f"{year}{int(month):03d}",
                "GLAccount": line.account or "",
                "CostCenter": line.cost_center,
                "WBSElement": line.project or "",
                "CompanyCodeCurrency": CURRENCY,
                "AmountInCompanyCodeCurrency": line.amount,
            }
        )
    return rows


def apply_holders(chart: Chart, center: BudgetCenter) -> None:
    """Each cost center's owner as the responsible user of every validity period of it."""
    for (code, _), row in chart.cost_centers.items():
        holders = center.holders.get(code)
        row["CostCtrResponsibleUser"] = holders.owner if holders else None
