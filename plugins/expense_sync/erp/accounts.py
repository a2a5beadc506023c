"""The two balance-sheet accounts every voucher we make goes through, per ERP.

* ``employee_payable``: the claim voucher credits it (其他应付款-员工报销款), the employee is owed
  the claim total until 合思 pays;
* ``clearing``: the claim voucher debits it per claim line (费用报销清算); the monthly rollup moves
  the period's amounts to the expense GL accounts, so it nets to zero once a month is closed;
* ``input_vat``: the claim voucher debits it with the input VAT its invoices deduct (应交税费—应交增值税
  （进项税额）); a claim deducting VAT cannot be posted without it;
* ``accrued_liabilities``: a travel booking's accrual voucher credits it (其他应付款—预提费用, the
  企业会计准则 books accrued expenses to a 2241 sub-account since 预提费用 is no first-level account);
  its reversal debits it back once the trip's claim is posted (``expense_sync.accruals``);
* ``travel_expense``: the accrual voucher debits it (管理费用—差旅费), the account travel claims post
  to through the 差旅费 expense category; a booking cannot be accrued without both.

Defaults are the ERP hook's ``default_posting_accounts`` (the bundled sandbox's chart, 企业会计准则
numbering in the ERP's own format); a deployment sets its own in the Airflow Variable ``expense_sync_posting_accounts``
(JSON, e.g. ``{"kingdee": {"employee_payable": "2241.01", "clearing": "2241.09"}}``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from expense_sync.hooks.registry import erp_class

VAR_POSTING_ACCOUNTS = "expense_sync_posting_accounts"


@dataclass(frozen=True)
class PostingAccounts:
    employee_payable: str
    clearing: str
    input_vat: str = ""
    accrued_liabilities: str = ""
    travel_expense: str = ""


def posting_accounts(vendor: str, overrides: str | None = None) -> PostingAccounts:
    """The configured accounts for ``vendor``; ``overrides`` is the Variable's JSON (read when None)."""
    if overrides is None:
        from airflow.sdk import Variable

        overrides = Variable.get(VAR_POSTING_ACCOUNTS, default="{}")
    configured = json.loads(overrides or "{}")
    if not isinstance(configured, dict):
        raise ValueError(f"Variable {VAR_POSTING_ACCOUNTS} must be a JSON object, got {overrides!r}")
    accounts = {**erp_class(vendor).default_posting_accounts, **configured.get(vendor, {})}
    missing = {"employee_payable", "clearing"} - accounts.keys()
    if missing:
        raise ValueError(f"no {', '.join(sorted(missing))} account configured for ERP {vendor!r}")
    return PostingAccounts(
        employee_payable=accounts["employee_payable"],
        clearing=accounts["clearing"],
        input_vat=accounts.get("input_vat") or "",
        accrued_liabilities=accounts.get("accrued_liabilities") or "",
        travel_expense=accounts.get("travel_expense") or "",
    )
