"""The sandbox's general ledger: posts journal entries synchronously and serves their items.

A journal entry is checked as S/4HANA checks a ``BKPFF`` posting, and either posted at once (a
document number from the company code's number range, fiscal year = calendar year, variant ``K4``)
or refused with error log items (severity 3). Checks: company code, open posting period, one
currency (the company code's), G/L account exists and is not blocked or marked for deletion, a
cost object on primary-cost accounts, cost center valid on the posting date and not blocked, WBS
element = a released project, debit/credit code consistent with the sign, and **Σ amounts = 0**.

Every posted item is written to the leading ledger ``0L`` and to the parallel ledger ``2L`` [I], so a
reader that does not filter ``Ledger eq '0L'`` counts every amount twice, as it would in S/4HANA.
Log-message type IDs other than ``605(RW)``/``609(RW)`` (success/error) are [I].
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from expense_sync_sandboxes.sap.chart import CONTROLLING_AREA, CURRENCY, Chart

LEDGERS = ("0L", "2L")
LOGICAL_SYSTEM = "SBXCLNT100"
FIRST_DOCUMENT = 100_000_000


@dataclass
class EntryItem:
    gl_account: str
    amount: Decimal
    currency: str
    debit_credit: str | None = None
    text: str = ""
    cost_center: str | None = None
    wbs_element: str | None = None


@dataclass
class Entry:
    """One ``JournalEntry`` of a create request, as parsed from the SOAP body."""

    request_id: str
    company: str
    document_type: str
    posting_date: dt.date
    document_date: dt.date
    created_by: str
    reference_id: str | None = None
    header_text: str | None = None
    items: list[EntryItem] = field(default_factory=list)


@dataclass
class LogItem:
    type_id: str
    severity: int
    note: str


class Refused(Exception):
    def __init__(self, log: list[LogItem]) -> None:
        super().__init__("; ".join(item.note for item in log))
        self.log = log


class Journal:
    def __init__(self, chart: Chart) -> None:
        self.chart = chart
        self.entries: list[dict[str, Any]] = []
        self.items: list[dict[str, Any]] = []
        self.numbers: dict[tuple[str, int], int] = {}
        self.closed: set[tuple[str, str]] = set()  # (company, "YYYY-MM")

    def close_period(self, company: str, period: str) -> list[str]:
        self.closed.add((company, period))
        return sorted(f"{c}/{p}" for c, p in self.closed)

    def post(self, entry: Entry) -> tuple[str, int, list[LogItem]]:
        """Post the entry; return its document number, fiscal year and success log, or raise Refused."""
        errors = self.check(entry)
        if errors:
            raise Refused([LogItem("609(RW)", 3, f"Error in document: BKPFF $ {LOGICAL_SYSTEM}"), *errors])
        year = entry.posting_date.year
        number = self.numbers.get((entry.company, year), FIRST_DOCUMENT) + 1
        self.numbers[(entry.company, year)] = number
        document = f"{number:010d}"
        self.entries.append(
            {
                "CompanyCode": entry.company,
                "FiscalYear": str(year),
                "AccountingDocument": document,
                "AccountingDocumentType": entry.document_type,
                "DocumentReferenceID": entry.reference_id,
                "DocumentHeaderText": entry.header_text,
                "PostingDate": entry.posting_date.isoformat(),
                "DocumentDate": entry.document_date.isoformat(),
                "CreatedByUser": entry.created_by,
                "RequestID": entry.request_id,
                "Items": [{**asdict(item), "amount": str(item.amount)} for item in entry.items],
            }
        )
        for position, item in enumerate(entry.items, start=1):
            for ledger in LEDGERS:
                self.items.append(self._item_row(entry, document, position, item, ledger))
        note = f"Document posted successfully: BKPFF {document}{entry.company}{year} {LOGICAL_SYSTEM}"
        return document, year, [LogItem("605(RW)", 1, note)]

    def check(self, entry: Entry) -> list[LogItem]:
        chart, errors = self.chart, []
        company = next((c for c in chart.companies if c["CompanyCode"] == entry.company), None)
        if company is None:
            return [LogItem("165(F5)", 3, f"Company code {entry.company} does not exist")]
        period = entry.posting_date.strftime("%Y-%m")
        if (entry.company, period) in self.closed:
            errors.append(
                LogItem(
                    "201(F5)", 3, f"Posting period {entry.posting_date.month:03d} {entry.posting_date.year} is not open"
                )
            )
        if not entry.items:
            errors.append(LogItem("706(F5)", 3, "No items were transferred"))
        for position, item in enumerate(entry.items, start=1):
            errors.extend(self._check_item(entry, position, item))
        if sum((item.amount for item in entry.items), Decimal(0)) != 0:
            errors.append(LogItem("702(F5)", 3, "Balance in transaction currency"))
        return errors

    def _check_item(self, entry: Entry, position: int, item: EntryItem) -> list[LogItem]:
        chart, day, errors = self.chart, entry.posting_date, []

        def error(type_id: str, note: str) -> None:
            errors.append(LogItem(type_id, 3, f"Item {position}: {note}"))

        if item.currency != CURRENCY:
            error("076(F5)", f"no exchange rate {item.currency}/{CURRENCY} for {day}")
        sign_ok = {"S": item.amount > 0, "H": item.amount < 0, None: True}.get(item.debit_credit, False)
        if not sign_ok:
            error("108(FINS_ACDOC_CUST)", f"debit/credit code {item.debit_credit} contradicts {item.amount}")
        account = chart.gl_accounts.get(item.gl_account)
        if account is None:
            error("153(F5)", f"Account {item.gl_account} does not exist in company code {entry.company}")
            return errors
        if account["AccountIsBlockedForPosting"] or account["AccountIsMarkedForDeletion"]:
            error("351(F5)", f"Account {item.gl_account} in company code {entry.company} is blocked for posting")
        if item.cost_center:
            period = chart.cost_center_on(item.cost_center, day)
            name = f"{CONTROLLING_AREA}/{item.cost_center}"
            if period is None:
                error("248(KI)", f"Cost center {name} does not exist on {day}")
            elif period["IsBlkdForPrimaryCostsPosting"] == "X":
                error("240(KI)", f"Cost center {name} is blocked against primary cost postings")
        if item.wbs_element:
            project = chart.projects.get(item.wbs_element)
            if project is None or project["ProcessingStatus"] != "10":
                error("051(CJ)", f"WBS element {item.wbs_element} does not exist or is not released")
        if account["GLAccountType"] == "P" and not (item.cost_center or item.wbs_element):
            error("235(KI)", f"Account {item.gl_account} requires an assignment to a CO object")
        return errors

    def _item_row(self, entry: Entry, document: str, position: int, item: EntryItem, ledger: str) -> dict:
        chart, day = self.chart, entry.posting_date
        gl_text = chart.gl_texts.get((item.gl_account, "ZH"), {})
        period = chart.cost_center_on(item.cost_center, day) if item.cost_center else {}
        cc_text = chart.cost_center_texts.get((item.cost_center, "ZH", period.get("ValidityEndDate")), {})
        company = next(c for c in chart.companies if c["CompanyCode"] == entry.company)
        code = item.debit_credit or ("S" if item.amount > 0 else "H")
        return {
            "Ledger": ledger,
            "SourceLedger": ledger,
            "LedgerFiscalYear": str(day.year),
            "ControllingArea": company["ControllingArea"],
            "CompanyCode": entry.company,
            "CompanyCodeName": company["CompanyCodeName"],
            "GLAccount": item.gl_account,
            "GLAccountName": gl_text.get("GLAccountLongName", "")[:30],
            "CostCenter": item.cost_center,
            "CostCenterName": cc_text.get("CostCenterName"),
            "ProfitCenter": period.get("ProfitCenter"),
            "FunctionalArea": period.get("FunctionalArea"),
            "BusinessArea": None,
            "Segment": None,
            "TransactionCurrency": item.currency,
            "AmountInTransactionCurrency": item.amount,
            "CompanyCodeCurrency": company["Currency"],
            "AmountInCompanyCodeCurrency": item.amount,
            "GlobalCurrency": CURRENCY,
            "AmountInGlobalCurrency": item.amount,
            "FiscalPeriod": f"{day.month:03d}",
            "FiscalYearVariant": "K4",
            "FiscalYearPeriod": f"{day.year}{day.month:03d}",
            "ChartOfAccounts": chart.gl_accounts[item.gl_account]["ChartOfAccounts"],
            "ControllingDebitCreditCode": code,
            "Project": item.wbs_element,
            "WBSElement": item.wbs_element,
            "AccountingDocument": document,
            "AccountingDocumentItem": f"{position:06d}",
            "AccountingDocumentType": entry.document_type,
            "DocumentReferenceID": entry.reference_id,
            "AccountingDocumentHeaderText": entry.header_text,
            "PostingDate": day,
            "DocumentDate": entry.document_date,
            "DebitCreditCode": code,
            "DocumentItemText": item.text,
        }
