"""SOAP messages of SAP's ``JournalEntryCreateRequestConfirmation_In``: build the request, read the answer.

Message shapes, lengths and how a long reference is carried: ``docs/vendors/sap.md`` (Journal entries).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass, field
from xml.etree import ElementTree as ET

from expense_sync.erp.model import Voucher

NS_SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
NS_SFIN = "http://sap.com/xi/SAPSCORE/SFIN"
SOAP_ACTION = (
    "http://sap.com/xi/SAPSCORE/SFIN/JournalEntryCreateRequestConfirmation_In/"
    "JournalEntryCreateRequestConfirmation_InRequest"
)
REFERENCE_ID_LENGTH = 16
HEADER_TEXT_LENGTH = 25
ITEM_TEXT_LENGTH = 50

ET.register_namespace("soapenv", NS_SOAP)
ET.register_namespace("sfin", NS_SFIN)


def reference_id(external_ref: str) -> str:
    """The ``DocumentReferenceID`` that carries ``external_ref``: itself, or ``~`` + 15 hex digits of its SHA-256."""
    if len(external_ref) <= REFERENCE_ID_LENGTH:
        return external_ref
    return "~" + hashlib.sha256(external_ref.encode()).hexdigest()[: REFERENCE_ID_LENGTH - 1].upper()


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    node = ET.SubElement(parent, tag, attrs)
    if text is not None:
        node.text = text
    return node


def create_request(
    voucher: Voucher,
    *,
    company: str,
    document_type: str,
    created_by: str,
    logical_system: str | None = None,
    now: dt.datetime | None = None,
) -> bytes:
    """The SOAP envelope that posts one voucher as one journal entry."""
    created = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    envelope = ET.Element(f"{{{NS_SOAP}}}Envelope")
    ET.SubElement(envelope, f"{{{NS_SOAP}}}Header")
    body = ET.SubElement(envelope, f"{{{NS_SOAP}}}Body")
    bulk = ET.SubElement(body, f"{{{NS_SFIN}}}JournalEntryBulkCreateRequest")
    header = _sub(bulk, "MessageHeader")
    _sub(header, "ID", uuid.uuid4().hex)
    _sub(header, "CreationDateTime", created)
    request = _sub(bulk, "JournalEntryCreateRequest")
    header = _sub(request, "MessageHeader")
    _sub(header, "ID", uuid.uuid4().hex)
    _sub(header, "CreationDateTime", created)
    entry = _sub(request, "JournalEntry")
    _sub(entry, "OriginalReferenceDocumentType", "BKPFF")
    if logical_system:
        _sub(entry, "OriginalReferenceDocumentLogicalSystem", logical_system)
    _sub(entry, "BusinessTransactionType", "RFBU")
    _sub(entry, "AccountingDocumentType", document_type)
    _sub(entry, "DocumentReferenceID", reference_id(voucher.external_ref))
    if voucher.description:
        _sub(entry, "DocumentHeaderText", voucher.description[:HEADER_TEXT_LENGTH])
    _sub(entry, "CreatedByUser", created_by)
    _sub(entry, "CompanyCode", company)
    _sub(entry, "DocumentDate", voucher.posting_date.isoformat())
    _sub(entry, "PostingDate", voucher.posting_date.isoformat())
    for position, line in enumerate(voucher.lines, start=1):
        item = _sub(entry, "Item")
        _sub(item, "ReferenceDocumentItem", str(position))
        _sub(item, "GLAccount", line.account_code)
        amount = f"{line.debit:.2f}" if line.debit else f"-{line.credit:.2f}"
        _sub(item, "AmountInTransactionCurrency", amount, currencyCode=voucher.currency)
        _sub(item, "DebitCreditCode", "S" if line.debit else "H")
        text = line.text or voucher.description
        if text:
            _sub(item, "DocumentItemText", text[:ITEM_TEXT_LENGTH])
        if line.cost_center or line.project:
            assignment = _sub(item, "AccountAssignment")
            if line.cost_center:
                _sub(assignment, "CostCenter", line.cost_center)
            if line.project:
                _sub(assignment, "WBSElement", line.project)
    return ET.tostring(envelope, encoding="utf-8", xml_declaration=True)


@dataclass
class Confirmation:
    """The answer to one journal entry of a create request."""

    document: str
    company: str
    fiscal_year: str
    severity: int
    log: list[tuple[str, int, str]] = field(default_factory=list)  # (TypeID, SeverityCode, Note)

    @property
    def failed(self) -> bool:
        return self.severity >= 3 or not self.document.strip("0 ")

    def errors(self) -> list[tuple[str, int, str]]:
        return [item for item in self.log if item[1] >= 3] or self.log


def _text(node: ET.Element | None, path: str) -> str:
    found = node.find(path) if node is not None else None
    return (found.text or "").strip() if found is not None else ""


def _severity(node: ET.Element | None, path: str) -> int:
    value = _text(node, path)
    if not value.isdigit():
        raise ValueError(f"{path} is missing or not a number: {value!r}")
    return int(value)


def parse_confirmation(text: str | bytes) -> list[Confirmation]:
    """The confirmations of a synchronous answer, in request order. ``ValueError`` (the outcome is
    then unknown) if there are none, or if one lacks what we rely on: a log item's ``SeverityCode``,
    and on an entry not refused, its ``AccountingDocument``, ``CompanyCode`` and ``FiscalYear``."""
    root = ET.fromstring(text)
    bulk = root.find(f"{{{NS_SOAP}}}Body/{{{NS_SFIN}}}JournalEntryBulkCreateConfirmation")
    if bulk is None:
        raise ValueError("the answer holds no JournalEntryBulkCreateConfirmation")
    found = []
    for node in bulk.findall("JournalEntryCreateConfirmation"):
        inner = node.find("JournalEntryCreateConfirmation")
        log = node.find("Log")
        items = [
            (_text(item, "TypeID"), _severity(item, "SeverityCode"), _text(item, "Note"))
            for item in (log.findall("Item") if log is not None else [])
        ]
        maximum = _text(log, "MaximumLogItemSeverityCode")
        severity = _severity(log, "MaximumLogItemSeverityCode") if maximum else max((i[1] for i in items), default=0)
        confirmation = Confirmation(
            document=_text(inner, "AccountingDocument"),
            company=_text(inner, "CompanyCode"),
            fiscal_year=_text(inner, "FiscalYear"),
            severity=severity,
            log=items,
        )
        if severity < 3:
            for name, value in (
                ("AccountingDocument", confirmation.document),
                ("CompanyCode", confirmation.company),
                ("FiscalYear", confirmation.fiscal_year),
            ):
                if not value:
                    raise ValueError(f"a confirmation without errors has no {name}")
        found.append(confirmation)
    if not found:
        raise ValueError("the answer holds no JournalEntryCreateConfirmation")
    return found


def parse_fault(text: str | bytes) -> tuple[str, str] | None:
    """``(faultcode without prefix, faultstring)`` of a SOAP fault, or ``None`` if it is no fault."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return None
    node = root.find(f"{{{NS_SOAP}}}Body/{{{NS_SOAP}}}Fault")
    if node is None:
        return None
    return _text(node, "faultcode").rpartition(":")[2], _text(node, "faultstring")
