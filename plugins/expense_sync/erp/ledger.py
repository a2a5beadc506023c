"""What the engine needs from an ERP: the contract each ERP hook (``hooks/<vendor>/``) implements."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator
from typing import Any, Protocol

from expense_sync.erp.masters import Supplier, TaxCode
from expense_sync.erp.model import Balance, ChartKind, PeriodLedger, Voucher, VoucherStatus


class ErpLedger(Protocol):
    vendor: str
    stats: Any
    # facts of the vendor (class attributes of its hook)
    max_voucher_lines: int  # lines one voucher may carry
    default_company: str  # the book claim vouchers go to unless the Variable names another
    default_posting_accounts: dict[str, str]  # employee_payable and clearing accounts of its chart

    def chart(self, kind: ChartKind, since: dt.datetime | None = None) -> Iterator[dict[str, Any]]:
        """The ERP's own records of one chart (its field names: ``include/mappings/<erp>/`` maps them);
        only those changed since ``since`` when the API can filter so (otherwise all: the caller compares)."""

    def supports_changed_since(self, kind: ChartKind) -> bool:
        """Whether :meth:`chart` honours ``since`` for this kind."""

    def suppliers(self) -> Iterator[Supplier]:
        """The ERP's supplier master, every supplier (disabled ones too, ``active`` False), page by page."""

    def tax_codes(self) -> list[TaxCode]:
        """The ERP's tax codes / VAT rates."""

    def create_voucher(self, voucher: Voucher) -> VoucherStatus:
        """Create the voucher (a draft where the ERP has drafts). Not idempotent: the caller
        records its intent first and, on an unknown outcome, calls :meth:`find_voucher`."""

    def find_voucher(self, external_ref: str, period: str) -> VoucherStatus | None:
        """The voucher carrying ``external_ref`` in ``period``, or ``None``."""

    def voucher_status(self, remote_id: str) -> VoucherStatus:
        """The current state and number of one voucher."""

    def balances(self, company: str, period: str) -> list[Balance]:
        """The period's movements per account and, where the ERP keeps them, cost center/project."""

    def period_vouchers(self, company: str, period: str, known_refs: Collection[str] = ()) -> list[VoucherStatus]:
        """Every voucher of the company's book in ``period``, one status each, with the external ref it
        carries (``known_refs``: our refs, for ERPs that carry a shortened form of them)."""

    def period_ledger(self, company: str, period: str, known_refs: Collection[str] = ()) -> PeriodLedger:
        """:meth:`balances` and :meth:`period_vouchers` together, what the reconciliation reads: from one
        read of the period's entries where the ERP's query serves both (one snapshot, half the calls)."""
