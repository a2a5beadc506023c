"""The Kingdee 金蝶云星空 (K3Cloud) WebAPI hook: the ERP chart, GL vouchers, the period's movements and
the budget center.

Wire facts and what stays inferred: ``docs/vendors/kingdee.md``."""

from __future__ import annotations

from decimal import Decimal

from expense_sync.hooks.kingdee.budget import KingdeeBudget
from expense_sync.hooks.kingdee.chart import KingdeeChart
from expense_sync.hooks.kingdee.masters import KingdeeMasters
from expense_sync.hooks.kingdee.settings import KingdeeSettings
from expense_sync.hooks.kingdee.vouchers import KingdeeVouchers


class KingdeeHook(KingdeeChart, KingdeeMasters, KingdeeVouchers, KingdeeBudget):
    """K3Cloud WebAPI, implementing :class:`expense_sync.erp.ledger.ErpLedger` and
    :class:`expense_sync.erp.budget.ErpBudget`."""

    default_conn_name = "erp_kingdee"
    hook_name = "Kingdee K3Cloud"
    vendor = "kingdee"
    role = "erp"
    quota_qps = 10.0  # requests per second per app; the vendor documents none [I]
    max_voucher_lines = 1000  # lines one voucher may carry (the rollup splits above it)
    default_company = "001"  # the account book FAccountBookID of the bundled sandbox
    default_posting_accounts = {
        "employee_payable": "2241.01",
        "clearing": "2241.09",
        "input_vat": "2221.01.01",
        "accrued_liabilities": "2241.03",
        "travel_expense": "6602.01",
    }
    settings_model = KingdeeSettings
    parse_float = Decimal

    settings: KingdeeSettings
