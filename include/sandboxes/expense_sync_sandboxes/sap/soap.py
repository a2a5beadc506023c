"""SOAP ``JournalEntryCreateRequestConfirmation_In``: the request the sandbox reads, the replies it writes.

Shapes follow the service's WSDL and the captured messages of docs/vendors/research.md §6.4: a SOAP 1.1 envelope
whose body is ``sfin:JournalEntryBulkCreateRequest`` (``sfin`` = ``http://sap.com/xi/SAPSCORE/SFIN``,
children unqualified) with 1..n ``JournalEntryCreateRequest``; the synchronous answer is
``n0:JournalEntryBulkCreateConfirmation`` with one ``JournalEntryCreateConfirmation`` per request
(``AccountingDocument``, ``CompanyCode``, ``FiscalYear`` and a ``Log`` whose
``MaximumLogItemSeverityCode`` 3 means refused, document ``0000000000`` [I]).

What the WSDL's schema forbids (a missing mandatory element, a value longer than its type allows —
``DocumentReferenceID`` 16, ``DocumentHeaderText`` 25, ``CompanyCode`` 4, ``DocumentItemText`` 50 …,
an amount that is no decimal, a ``SOAPAction`` other than the operation's) is answered with HTTP 500
and a ``soap-env:Fault`` whose ``faultcode`` is ``soap-env:Client``; the ``faultstring`` names the
offending element [I: SAP's own text is a generic pointer to its error log].
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from decimal import Decimal, InvalidOperation
from xml.etree import ElementTree as ET

from fastapi.responses import Response

from expense_sync_sandboxes.sap.journal import Entry, EntryItem, LogItem

NS_SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
NS_SFIN = "http://sap.com/xi/SAPSCORE/SFIN"
SOAP_ACTION = (
    "http://sap.com/xi/SAPSCORE/SFIN/JournalEntryCreateRequestConfirmation_In/"
    "JournalEntryCreateRequestConfirmation_InRequest"
)
ENDPOINT = "/sap/bc/srt/scs_ext/sap/journalentrycreaterequestconfi"
FAILED_DOCUMENT = "0000000000"

REQUIRED = (
    "OriginalReferenceDocumentType",
    "BusinessTransactionType",
    "AccountingDocumentType",
    "CreatedByUser",
    "CompanyCode",
    "DocumentDate",
    "PostingDate",
)
MAX_LENGTH = {
    "OriginalReferenceDocumentType": 5,
    "OriginalReferenceDocument": 20,
    "OriginalReferenceDocumentLogicalSystem": 10,
    "BusinessTransactionType": 4,
    "AccountingDocumentType": 2,
    "DocumentReferenceID": 16,
    "DocumentHeaderText": 25,
    "CreatedByUser": 12,
    "CompanyCode": 4,
    "Reference1InDocumentHeader": 20,
    "Reference2InDocumentHeader": 20,
    "GLAccount": 10,
    "DocumentItemText": 50,
    "DebitCreditCode": 1,
    "CostCenter": 10,
    "WBSElement": 24,
    "ReferenceDocumentItem": 6,
}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?Z$")

ET.register_namespace("soap-env", NS_SOAP)
ET.register_namespace("n0", NS_SFIN)


class Fault(Exception):
    """A request the SOAP runtime rejects before the application sees it."""

    def __init__(self, message: str, code: str = "Client") -> None:
        super().__init__(message)
        self.message, self.code = message, code


def _text(node: ET.Element, path: str, *, required: bool = False, where: str = "") -> str | None:
    child = node.find(path)
    value = child.text.strip() if child is not None and child.text and child.text.strip() else None
    if value is None and required:
        raise Fault(f"Mandatory element {where}{path} is missing")
    name = path.rsplit("/", 1)[-1]
    if value is not None and name in MAX_LENGTH and len(value) > MAX_LENGTH[name]:
        raise Fault(f"Value '{value}' of element {where}{path} exceeds the maximum length {MAX_LENGTH[name]}")
    return value


def _date(value: str, where: str) -> dt.date:
    if not _DATE.match(value):
        raise Fault(f"Value '{value}' of element {where} is not a valid date")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise Fault(f"Value '{value}' of element {where} is not a valid date") from None


def parse_request(body: bytes, soap_action: str | None) -> tuple[str | None, list[Entry]]:
    """The bulk message ID and the journal entries of a create request; raise :class:`Fault` if invalid."""
    if (soap_action or "").strip('"') != SOAP_ACTION:
        raise Fault(
            f"SOAPAction '{soap_action or ''}' does not name operation JournalEntryCreateRequestConfirmation_In"
        )
    try:
        root = ET.fromstring(body)
    except ET.ParseError as err:
        raise Fault(f"XML parsing error: {err}") from None
    if root.tag != f"{{{NS_SOAP}}}Envelope":
        raise Fault("The message is not a SOAP 1.1 envelope")
    bulk = root.find(f"{{{NS_SOAP}}}Body/{{{NS_SFIN}}}JournalEntryBulkCreateRequest")
    if bulk is None:
        raise Fault("The body holds no JournalEntryBulkCreateRequest")
    created = _text(bulk, "MessageHeader/CreationDateTime", required=True)
    if not _DATETIME.match(created):
        raise Fault(f"Value '{created}' of element MessageHeader/CreationDateTime is not a UTC date-time")
    requests = bulk.findall("JournalEntryCreateRequest")
    if not requests:
        raise Fault("Mandatory element JournalEntryCreateRequest is missing")
    return _text(bulk, "MessageHeader/ID"), [_entry(r, n) for n, r in enumerate(requests, start=1)]


def _entry(request: ET.Element, n: int) -> Entry:
    where = f"JournalEntryCreateRequest[{n}]/JournalEntry/"
    node = request.find("JournalEntry")
    if node is None:
        raise Fault(f"Mandatory element JournalEntryCreateRequest[{n}]/JournalEntry is missing")
    values = {name: _text(node, name, required=True, where=where) for name in REQUIRED}
    for name in MAX_LENGTH:
        if name not in values and node.find(name) is not None:
            values[name] = _text(node, name, where=where)
    entry = Entry(
        request_id=_text(request, "MessageHeader/ID") or "",
        company=values["CompanyCode"],
        document_type=values["AccountingDocumentType"],
        posting_date=_date(values["PostingDate"], where + "PostingDate"),
        document_date=_date(values["DocumentDate"], where + "DocumentDate"),
        created_by=values["CreatedByUser"],
        reference_id=values.get("DocumentReferenceID"),
        header_text=values.get("DocumentHeaderText"),
    )
    for i, item in enumerate(node.findall("Item"), start=1):
        entry.items.append(_item(item, f"{where}Item[{i}]/"))
    return entry


def _item(node: ET.Element, where: str) -> EntryItem:
    account = _text(node, "GLAccount", required=True, where=where)
    _text(node, "ReferenceDocumentItem", where=where)
    amount_node = node.find("AmountInTransactionCurrency")
    raw = (amount_node.text or "").strip() if amount_node is not None else ""
    if not raw:
        raise Fault(f"Mandatory element {where}AmountInTransactionCurrency is missing")
    currency = amount_node.get("currencyCode")
    if not currency:
        raise Fault(f"Mandatory attribute currencyCode of {where}AmountInTransactionCurrency is missing")
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        raise Fault(f"Value '{raw}' of element {where}AmountInTransactionCurrency is not a decimal") from None
    if not amount.is_finite() or -amount.as_tuple().exponent > 6:
        raise Fault(f"Value '{raw}' of element {where}AmountInTransactionCurrency has too many decimals")
    return EntryItem(
        gl_account=account,
        amount=amount,
        currency=currency,
        debit_credit=_text(node, "DebitCreditCode", where=where),
        text=_text(node, "DocumentItemText", where=where) or "",
        cost_center=_text(node, "AccountAssignment/CostCenter", where=where),
        wbs_element=_text(node, "AccountAssignment/WBSElement", where=where),
    )


# -- replies --------------------------------------------------------------------------------------
def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    node = ET.SubElement(parent, tag)
    if text is not None:
        node.text = text
    return node


def _header(parent: ET.Element, reference_id: str | None) -> None:
    header = _sub(parent, "MessageHeader")
    _sub(header, "UUID", str(uuid.uuid4()))
    if reference_id:
        _sub(header, "ReferenceID", reference_id)
    _sub(header, "CreationDateTime", _now())


def _log(parent: ET.Element, items: list[LogItem], severity: int | None = None) -> None:
    log = _sub(parent, "Log")
    _sub(log, "MaximumLogItemSeverityCode", str(severity or max((i.severity for i in items), default=1)))
    for item in items:
        node = _sub(log, "Item")
        _sub(node, "TypeID", item.type_id)
        _sub(node, "SeverityCode", str(item.severity))
        _sub(node, "Note", item.note)


def _envelope() -> tuple[ET.Element, ET.Element]:
    envelope = ET.Element(f"{{{NS_SOAP}}}Envelope")
    ET.SubElement(envelope, f"{{{NS_SOAP}}}Header")
    return envelope, ET.SubElement(envelope, f"{{{NS_SOAP}}}Body")


def _xml(envelope: ET.Element, status: int) -> Response:
    return Response(
        content=ET.tostring(envelope, encoding="utf-8", xml_declaration=True),
        status_code=status,
        media_type="text/xml; charset=utf-8",
    )


def confirmation(bulk_id: str | None, results: list[tuple[Entry, str, int, list[LogItem]]]) -> Response:
    """The synchronous confirmation: one ``JournalEntryCreateConfirmation`` per posted or refused entry."""
    envelope, body = _envelope()
    bulk = ET.SubElement(body, f"{{{NS_SFIN}}}JournalEntryBulkCreateConfirmation")
    _header(bulk, bulk_id)
    every: list[LogItem] = []
    for entry, document, year, log in results:
        node = _sub(bulk, "JournalEntryCreateConfirmation")
        _header(node, entry.request_id)
        inner = _sub(node, "JournalEntryCreateConfirmation")
        _sub(inner, "AccountingDocument", document)
        _sub(inner, "CompanyCode", entry.company)
        _sub(inner, "FiscalYear", f"{year:04d}")
        _log(node, log)
        every.extend(log)
    _log(bulk, [], severity=max((i.severity for i in every), default=1))
    return _xml(envelope, 200)


def fault(message: str, code: str = "Client") -> Response:
    envelope, body = _envelope()
    node = ET.SubElement(body, f"{{{NS_SOAP}}}Fault")
    _sub(node, "faultcode", f"soap-env:{code}")
    _sub(node, "faultstring", message).set("{http://www.w3.org/XML/1998/namespace}lang", "en")
    _sub(node, "detail")
    return _xml(envelope, 500)
