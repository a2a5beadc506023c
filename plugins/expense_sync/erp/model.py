"""Canonical ERP records: chart of accounts and dimensions, vouchers, statuses and balances.

Every ERP hook (Kingdee, Yonyou, SAP) speaks its vendor's API and translates to and from these
types, so the sync engine, the voucher push and the month-end rollup never see a vendor shape.
Money is always :class:`decimal.Decimal` (never float), in yuan with two decimals.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

ChartKind = Literal["gl_account", "expense_item", "cost_center", "project"]
CHART_KINDS: tuple[ChartKind, ...] = ("gl_account", "expense_item", "cost_center", "project")

VoucherState = Literal["draft", "submitted", "audited", "posted", "void", "error"]
CENT = Decimal("0.01")


@dataclass(frozen=True)
class VoucherLine:
    """One line of a voucher. Exactly one of ``debit`` / ``credit`` is non-zero; both are ≥ 0."""

    account_code: str
    debit: Decimal = Decimal("0")
    credit: Decimal = Decimal("0")
    cost_center: str | None = None
    project: str | None = None
    text: str = ""

    def __post_init__(self) -> None:
        for amount in (self.debit, self.credit):
            if not isinstance(amount, Decimal):
                raise TypeError("voucher amounts must be Decimal")
            if amount < 0 or amount != amount.quantize(CENT):
                raise ValueError(f"voucher amounts are non-negative with at most 2 decimals, got {amount}")
        if (self.debit == 0) == (self.credit == 0):
            raise ValueError("a voucher line is either a debit or a credit")


@dataclass(frozen=True)
class Voucher:
    """A journal voucher to create in the ERP.

    :param external_ref: our business key (claim number, or the rollup key of a month-end summary);
        the ERP voucher carries it so that a retry can find the voucher instead of creating another
    :param company: accounting book (Kingdee ``FAccountBookID`` / Yonyou ``accbookCode``) or company
        code (SAP ``CompanyCode``)
    :param posting_date: the voucher date
    :param period: the fiscal period ``YYYY-MM``
    :param description: header text (摘要)
    :param lines: balanced lines (Σ debit = Σ credit)
    :param currency: ISO currency code
    :param voucher_type: the voucher word / document type (e.g. ``记``, Yonyou ``voucherTypeCode``,
        SAP ``SA``); ``None`` means the hook's configured default
    """

    external_ref: str
    company: str
    posting_date: dt.date
    period: str
    description: str
    lines: tuple[VoucherLine, ...]
    currency: str = "CNY"
    voucher_type: str | None = None

    def __post_init__(self) -> None:
        if not self.lines:
            raise ValueError("a voucher needs lines")
        if self.total_debit != self.total_credit:
            raise ValueError(f"unbalanced voucher {self.external_ref}: {self.total_debit} ≠ {self.total_credit}")

    @property
    def total_debit(self) -> Decimal:
        return sum((line.debit for line in self.lines), Decimal("0"))

    @property
    def total_credit(self) -> Decimal:
        return sum((line.credit for line in self.lines), Decimal("0"))


@dataclass(frozen=True)
class VoucherStatus:
    """What the ERP says about one voucher.

    :param remote_id: the ERP's internal id (Kingdee ``FVOUCHERID``, Yonyou ``voucherId``,
        SAP ``CompanyCode/FiscalYear/AccountingDocument``)
    :param number: the voucher number people see (Kingdee ``记-12`` / ``FBillNo``, Yonyou
        ``billCode``, SAP ``AccountingDocument``); ``None`` while the ERP has not assigned one
    :param state: the normalized state; ``audited`` and ``posted`` are final for write-back
    :param external_ref: our business key as stored on the voucher
    :param period: the fiscal period ``YYYY-MM``
    :param raw_state: the vendor's own state code, for the audit trail
    """

    remote_id: str
    number: str | None
    state: VoucherState
    external_ref: str | None = None
    period: str | None = None
    raw_state: str | None = None


@dataclass(frozen=True)
class Balance:
    """Period movement of one account (and dimension combination) in the ERP ledger."""

    company: str
    period: str
    account_code: str
    debit: Decimal
    credit: Decimal
    cost_center: str | None = None
    project: str | None = None


@dataclass(frozen=True)
class PeriodLedger:
    """What the ERP holds for one book and period: its movements summed per account and dimensions, and
    every voucher of the period with the external ref it carries."""

    balances: list[Balance]
    vouchers: list[VoucherStatus]


Movement = tuple[str, "str | None", "str | None", Decimal, Decimal]  # account, cost center, project, debit, credit


def sum_balances(company: str, period: str, movements: Iterable[Movement]) -> list[Balance]:
    """Ledger lines summed per (account, cost center, project), to the cent, in a stable order."""
    totals: dict[tuple[str, str | None, str | None], list[Decimal]] = {}
    for account, cost_center, project, debit, credit in movements:
        sums = totals.setdefault((account, cost_center or None, project or None), [Decimal(0), Decimal(0)])
        sums[0] += debit
        sums[1] += credit
    return [
        Balance(
            company=company,
            period=period,
            account_code=account,
            debit=debit.quantize(CENT),
            credit=credit.quantize(CENT),
            cost_center=cost_center,
            project=project,
        )
        for (account, cost_center, project), (debit, credit) in sorted(
            totals.items(), key=lambda item: tuple(part or "" for part in item[0])
        )
    ]
