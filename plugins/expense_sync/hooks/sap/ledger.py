"""Vouchers of the ERP contract: post a journal entry over SOAP, read entries and balances back.

Posting and read-back facts (and what stays [I]): ``docs/vendors/sap.md`` (Journal entries)."""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterator
from decimal import Decimal, InvalidOperation

from expense_sync.erp.model import Balance, PeriodLedger, Voucher, VoucherStatus, sum_balances
from expense_sync.hooks.contract import required
from expense_sync.hooks.errors import ContractError, OutcomeUnknownError, VendorRequestError
from expense_sync.hooks.sap import journal
from expense_sync.hooks.sap.client import SapClient
from expense_sync.hooks.sap.odata import literal, split_period
from expense_sync.hooks.sap.services import JOURNAL_ITEMS, JOURNAL_SERVICE

log = logging.getLogger(__name__)


class SapLedger(SapClient):
    """``create_voucher()``, look-ups and ``balances()`` of the ERP contract."""

    def post_journal_entries(self, envelope: bytes) -> list[journal.Confirmation]:
        """Send a ``JournalEntryBulkCreateRequest``; return its confirmations.

        A SOAP service of the ABAP web service runtime takes no CSRF token (the communication
        user's credentials protect it), so none is fetched or sent: ``docs/vendors/sap.md``."""
        path = self.settings.soap_path
        headers = {
            "Content-Type": "text/xml; charset=utf-8",
            "Accept": "text/xml",
            "SOAPAction": f'"{journal.SOAP_ACTION}"',
        }
        text = self.request("POST", path, data=envelope, headers=headers, idempotent=False)
        try:
            return journal.parse_confirmation(text)
        except (ValueError, SyntaxError) as err:
            raise OutcomeUnknownError(
                f"unreadable confirmation ({err}): the entry may have been posted",
                vendor=self.vendor,
                endpoint=f"POST {path}",
                status=200,
            ) from None

    def create_voucher(self, voucher: Voucher) -> VoucherStatus:
        """Post the voucher as a journal entry. SAP posts at once: the status is ``posted``."""
        settings = self.settings
        year, period = split_period(voucher.period)
        if (f"{voucher.posting_date.year:04d}", f"{voucher.posting_date.month:03d}") != (year, period):
            raise VendorRequestError(
                f"voucher {voucher.external_ref}: posting date {voucher.posting_date} "
                f"is not in period {voucher.period}",
                vendor=self.vendor,
            )
        envelope = journal.create_request(
            voucher,
            company=voucher.company or settings.company_code,
            document_type=voucher.voucher_type or settings.document_type,
            created_by=(settings.created_by_user or self.connection.login or "")[:12],
            logical_system=settings.logical_system,
        )
        confirmation = self.post_journal_entries(envelope)[0]
        if confirmation.failed:
            errors = confirmation.errors()
            # "609(RW) Error in document" wraps the specific messages: the code is the first of those.
            specific = [e for e in errors if not e[0].endswith("(RW)")] or errors
            raise VendorRequestError(
                "; ".join(note for _, _, note in errors) or "journal entry refused",
                vendor=self.vendor,
                endpoint=f"POST {settings.soap_path}",
                status=200,
                code=specific[0][0] if specific else None,
            )
        for type_id, severity, note in confirmation.log:
            if severity == 2:
                log.warning("journal entry %s: %s (%s)", confirmation.document, note, type_id)
        remote_id = f"{confirmation.company}/{confirmation.fiscal_year}/{confirmation.document}"
        return VoucherStatus(
            remote_id=remote_id,
            number=confirmation.document,
            state="posted",
            external_ref=voucher.external_ref,
            period=voucher.period,
        )

    def _journal_items(self, condition: str, select: str) -> Iterator[dict]:
        params = {"$filter": f"Ledger eq {literal(self.settings.ledger)} and {condition}", "$select": select}
        return self.odata_rows(JOURNAL_SERVICE, JOURNAL_ITEMS, params)

    def find_voucher(self, external_ref: str, period: str) -> VoucherStatus | None:
        year, fiscal_period = split_period(period)
        reference = literal(journal.reference_id(external_ref))
        rows = self._journal_items(
            f"DocumentReferenceID eq {reference} and LedgerFiscalYear eq "
            f"{literal(year)} and FiscalPeriod eq {literal(fiscal_period)}",
            "CompanyCode,LedgerFiscalYear,AccountingDocument",
        )
        documents = sorted({self._fields(r, "CompanyCode", "LedgerFiscalYear", "AccountingDocument") for r in rows})
        if not documents:
            return None
        if len(documents) > 1:
            log.warning(
                "%d journal entries carry reference %s in %s: %s",
                len(documents),
                external_ref,
                period,
                ", ".join("/".join(d) for d in documents),
            )
        company, fiscal_year, document = documents[0]
        return VoucherStatus(
            remote_id=f"{company}/{fiscal_year}/{document}",
            number=document,
            state="posted",
            external_ref=external_ref,
            period=period,
        )

    def voucher_status(self, remote_id: str) -> VoucherStatus:
        parts = remote_id.split("/")
        if len(parts) != 3:
            raise ValueError(f"remote id must be CompanyCode/FiscalYear/AccountingDocument: {remote_id!r}")
        company, fiscal_year, document = parts
        rows = list(
            self._journal_items(
                f"CompanyCode eq {literal(company)} and LedgerFiscalYear eq {literal(fiscal_year)} and "
                f"AccountingDocument eq {literal(document)}",
                "AccountingDocument,FiscalPeriod,DocumentReferenceID",
            )
        )
        if not rows:
            raise VendorRequestError(
                f"journal entry {remote_id} not found", vendor=self.vendor, endpoint=f"GET {JOURNAL_SERVICE}"
            )
        (fiscal_period,) = self._fields(rows[0], "FiscalPeriod")
        (reference,) = self._fields(rows[0], "DocumentReferenceID", nullable=True)
        return VoucherStatus(
            remote_id=remote_id,
            number=document,
            state="posted",
            external_ref=reference or None,
            period=f"{fiscal_year}-{int(fiscal_period):02d}",
        )

    def period_vouchers(self, company: str, period: str, known_refs: Collection[str] = ()) -> list[VoucherStatus]:
        """Every journal entry of the company code in ``period``; the 16-character DocumentReferenceID
        is read back as the one of ``known_refs`` it carries (see :func:`journal.reference_id`)."""
        year, fiscal_period = split_period(period)
        carried = {journal.reference_id(ref): ref for ref in known_refs}
        rows = self._journal_items(
            f"CompanyCode eq {literal(company)} and LedgerFiscalYear eq {literal(year)} and "
            f"FiscalPeriod eq {literal(fiscal_period)}",
            "CompanyCode,LedgerFiscalYear,AccountingDocument,DocumentReferenceID",
        )
        found: dict[str, VoucherStatus] = {}
        for row in rows:
            company_code, fiscal_year, document = self._fields(
                row, "CompanyCode", "LedgerFiscalYear", "AccountingDocument"
            )
            remote_id = f"{company_code}/{fiscal_year}/{document}"
            (reference,) = self._fields(row, "DocumentReferenceID", nullable=True)
            reference = reference or None
            found.setdefault(
                remote_id,
                VoucherStatus(
                    remote_id=remote_id,
                    number=document,
                    state="posted",
                    external_ref=carried.get(reference, reference) if reference else None,
                    period=period,
                ),
            )
        return list(found.values())

    def period_ledger(self, company: str, period: str, known_refs: Collection[str] = ()) -> PeriodLedger:
        """Two reads of the journal items: the balances' sum per G/L account and the documents' list
        select different fields, and a month's items are few next to Kingdee's entries."""
        return PeriodLedger(self.balances(company, period), self.period_vouchers(company, period, known_refs))

    def balances(self, company: str, period: str) -> list[Balance]:
        """Movements per G/L account, cost center and WBS element; debits and credits apart."""
        year, fiscal_period = split_period(period)
        rows = self._journal_items(
            f"CompanyCode eq {literal(company)} and LedgerFiscalYear eq {literal(year)} and "
            f"FiscalPeriod eq {literal(fiscal_period)}",
            "GLAccount,CostCenter,WBSElement,LedgerFiscalYear,FiscalPeriod,DebitCreditCode,AmountInCompanyCodeCurrency",
        )
        lines = []
        for row in rows:  # the sign says debit or credit
            amount = self._amount(row, "AmountInCompanyCodeCurrency")
            (account,) = self._fields(row, "GLAccount")
            cost_center, wbs_element = self._fields(row, "CostCenter", "WBSElement", nullable=True)
            debit, credit = (amount, Decimal(0)) if amount >= 0 else (Decimal(0), -amount)
            lines.append((account, cost_center or None, wbs_element or None, debit, credit))
        return sum_balances(company, period, lines)

    def _fields(self, row: dict, *names: str, nullable: bool = False) -> tuple:
        """The values of ``names`` on a journal item (each one selected, so each one is there)."""
        endpoint = f"GET {JOURNAL_SERVICE}/{JOURNAL_ITEMS}"
        return tuple(required(row, name, vendor=self.vendor, endpoint=endpoint, nullable=nullable) for name in names)

    def _amount(self, row: dict, name: str) -> Decimal:
        """An ``Edm.Decimal`` measure (a JSON string in OData v2): never read as 0 when absent or unreadable."""
        (value,) = self._fields(row, name)
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            amount = Decimal("NaN")
        if isinstance(value, bool) or not amount.is_finite():
            raise ContractError(
                f"{name} is not a decimal: {value!r}",
                vendor=self.vendor,
                endpoint=f"GET {JOURNAL_SERVICE}/{JOURNAL_ITEMS}",
            )
        return amount
