"""The SAP S/4HANA hook: the chart over OData v2, journal entries over SOAP (the ERP contract), the
budget center over OData v2.

Connection ``erp_sap`` and its extras: :class:`~expense_sync.hooks.sap.client.SapSettings`; wire
facts and [I] choices: ``docs/vendors/sap.md``."""

from __future__ import annotations

from expense_sync.hooks.sap.budget import SapBudget
from expense_sync.hooks.sap.chart import SapChart
from expense_sync.hooks.sap.client import SapSettings
from expense_sync.hooks.sap.ledger import SapLedger
from expense_sync.hooks.sap.masters import SapMasters
from expense_sync.hooks.sap.prerequisites import SapPrerequisites


class SapHook(SapChart, SapMasters, SapBudget, SapLedger, SapPrerequisites):
    """SAP S/4HANA OData + SOAP, behind :class:`expense_sync.erp.ledger.ErpLedger` and
    :class:`expense_sync.erp.budget.ErpBudget`."""

    default_conn_name = "erp_sap"
    hook_name = "SAP S/4HANA"
    vendor = "sap"
    role = "erp"
    quota_qps = 10.0  # requests per second per app; the vendor documents none [I]
    max_voucher_lines = 999  # lines one voucher may carry (the rollup splits above it)
    default_company = "1000"  # company code of the bundled sandbox
    default_posting_accounts = {
        "employee_payable": "2241010000",
        "clearing": "2241090000",
        "input_vat": "2221010100",
        "accrued_liabilities": "2241030000",
        "travel_expense": "6602010000",
    }
    settings_model = SapSettings
