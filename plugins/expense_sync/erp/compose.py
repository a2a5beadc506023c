"""How a claim becomes a voucher: the one place that decides its lines (see V0201's accounting model).

A claim voucher debits the clearing account once per claim line, keeping the line's cost center and
project, and credits the employee payable account with the claim total. The input VAT its invoices
deduct (进项税额, ``fin.claim_line.input_vat``) is debited once per claim to the input VAT account
(应交税费—应交增值税（进项税额）), without dimensions, and is not in the clearing lines. The month-end
rollup moves the clearing amounts to the expense GL accounts; nothing here posts to an expense
account directly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal

from expense_sync.erp.accounts import PostingAccounts
from expense_sync.erp.model import CENT, Voucher, VoucherLine


@dataclass(frozen=True)
class ClaimLine:
    """One line of a claim as stored in ``fin.claim_line``."""

    gl_account: str
    cost_center: str
    amount: Decimal
    project: str | None = None
    description: str = ""
    input_vat: Decimal = Decimal(0)  # deducted input VAT of the line; ``amount`` is what it costs


def claim_voucher(
    *,
    claim_no: str,
    company: str,
    claim_date: dt.date,
    period: str,
    title: str,
    employee_no: str,
    lines: Collection[ClaimLine],
    accounts: PostingAccounts,
    currency: str = "CNY",
    external_ref: str | None = None,
) -> Voucher:
    """The voucher of one claim; ``external_ref`` defaults to the claim number (``…-V2`` for a re-post)."""
    debits = tuple(
        VoucherLine(
            account_code=accounts.clearing,
            debit=line.amount.quantize(CENT),
            cost_center=line.cost_center,
            project=line.project,
            text=(line.description or title)[:80],
        )
        for line in lines
    )
    vat = sum((line.input_vat.quantize(CENT) for line in lines), Decimal("0"))
    if vat and not accounts.input_vat:
        raise ValueError(f"claim {claim_no} deducts input VAT {vat}, but no input_vat account is configured")
    taxes = (VoucherLine(account_code=accounts.input_vat, debit=vat, text=f"进项税额 {claim_no}"[:80]),) if vat else ()
    total = sum((line.debit for line in (*debits, *taxes)), Decimal("0"))
    credit = VoucherLine(account_code=accounts.employee_payable, credit=total, text=f"{employee_no} {title}"[:80])
    return Voucher(
        external_ref=external_ref or claim_no,
        company=company,
        posting_date=claim_date,
        period=period,
        description=f"报销 {claim_no} {title}"[:80],
        lines=(*debits, *taxes, credit),
        currency=currency,
    )
