"""What the SAP hook relies on, read strictly: a record without a field we rely on is refused with
the field named (ContractError), never read as 0 or empty; an answer whose outcome cannot be read is
an unknown outcome. SAP's answers are faked at the network edge by a local HTTP server; the captured
Gateway answer for a missing service is parsed by the hook and matched by the sandbox."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
import requests
from fastapi import FastAPI, Request, Response
from vendordocs import assert_same_shape

from expense_sync.erp.model import Voucher, VoucherLine
from expense_sync.hooks.errors import ContractError, EntityUnavailableError, OutcomeUnknownError
from expense_sync.hooks.sap import SapHook
from testkit import point_connection, serve

FIXTURES = Path(__file__).parents[3] / "fixtures" / "sap"
ODATA = "/sap/opu/odata/sap"
JOURNAL = f"{ODATA}/API_JOURNALENTRYITEMBASIC_SRV/A_JournalEntryItemBasic"
SOAP = "/sap/bc/srt/scs_ext/sap/journalentrycreaterequestconfi"


class FakeSap:
    """SAP at the network edge: ``answers[path] = (status, content type, body)``; records each request."""

    def __init__(self) -> None:
        self.answers: dict[str, tuple[int, str, str]] = {}
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        app = FastAPI()

        @app.api_route("/{path:path}", methods=["GET", "POST", "HEAD"])
        async def answer(path: str, request: Request) -> Response:
            await request.body()
            self.seen.append((request.method, f"/{path}", dict(request.headers)))
            status, content_type, body = self.answers.get(f"/{path}", (404, "text/plain", "no such path"))
            return Response(body, status_code=status, media_type=content_type)

        self.url, self.server, self.thread = serve(app)

    def rows(self, path: str, *rows: dict) -> None:
        body = {"d": {"results": list(rows), "__count": str(len(rows))}}
        self.answers[path] = (200, "application/json", json.dumps(body))


@pytest.fixture
def fake(monkeypatch) -> Iterator[FakeSap]:
    server = FakeSap()
    point_connection(monkeypatch, "erp_sap", server.url, login="U", password="P", max_attempts=1)
    yield server
    server.server.should_exit = True
    server.thread.join(5)


ITEM = {
    "CompanyCode": "1000",
    "LedgerFiscalYear": "2024",
    "AccountingDocument": "0100000001",
    "DocumentReferenceID": "BX-1",
    "FiscalPeriod": "005",
    "GLAccount": "6602010000",
    "CostCenter": "1000000001",
    "WBSElement": "",
    "AmountInCompanyCodeCurrency": "12.30",
}


def expense(ref: str, amount: str) -> Voucher:
    value = Decimal(amount)
    lines = (VoucherLine("6602010000", debit=value), VoucherLine("2241010000", credit=value))
    day = dt.date(2024, 5, 20)
    return Voucher(ref, "1000", day, "2024-05", description="差旅报销", lines=lines)


def without(record: dict, name: str) -> dict:
    return {k: v for k, v in record.items() if k != name}


# -- ledger reads ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "item",
    [
        without(ITEM, "AmountInCompanyCodeCurrency"),
        {**ITEM, "AmountInCompanyCodeCurrency": None},
        {**ITEM, "AmountInCompanyCodeCurrency": "twelve"},
        {**ITEM, "AmountInCompanyCodeCurrency": "NaN"},
    ],
    ids=["absent", "null", "not a number", "NaN"],
)
def test_a_balance_line_without_a_readable_amount_is_refused_never_read_as_zero(fake, item):
    fake.rows(JOURNAL, item)
    with pytest.raises(ContractError, match="AmountInCompanyCodeCurrency") as caught:
        SapHook().balances("1000", "2024-05")
    assert caught.value.vendor == "sap" and "A_JournalEntryItemBasic" in caught.value.endpoint


def test_balances_read_the_signed_amount_and_empty_assignments_as_none(fake):
    fake.rows(JOURNAL, ITEM, {**ITEM, "AmountInCompanyCodeCurrency": "-2.30", "CostCenter": ""})
    balances = SapHook().balances("1000", "2024-05")
    (with_center, without_center) = sorted(balances, key=lambda b: b.cost_center or "", reverse=True)
    assert (with_center.debit, with_center.credit, with_center.cost_center) == (Decimal("12.30"), 0, "1000000001")
    assert (without_center.debit, without_center.credit) == (0, Decimal("2.30"))
    assert (without_center.cost_center, without_center.project) == (None, None)


@pytest.mark.parametrize(
    ("call", "missing"),
    [
        (lambda hook: hook.balances("1000", "2024-05"), "GLAccount"),
        (lambda hook: hook.balances("1000", "2024-05"), "CostCenter"),
        (lambda hook: hook.find_voucher("BX-1", "2024-05"), "AccountingDocument"),
        (lambda hook: hook.find_voucher("BX-1", "2024-05"), "LedgerFiscalYear"),
        (lambda hook: hook.period_vouchers("1000", "2024-05"), "DocumentReferenceID"),
        (lambda hook: hook.voucher_status("1000/2024/0100000001"), "FiscalPeriod"),
    ],
)
def test_a_journal_item_without_a_field_we_rely_on_is_refused_naming_it(fake, call, missing):
    fake.rows(JOURNAL, without(ITEM, missing))
    with pytest.raises(ContractError, match=missing):
        call(SapHook())


# -- chart reads ----------------------------------------------------------------------------------
GL = f"{ODATA}/API_GLACCOUNTINCHARTOFACCOUNTS_SRV/A_GLAccountInChartOfAccounts"
COST_CENTERS = f"{ODATA}/API_COSTCENTER_SRV/A_CostCenter"
ACCOUNT = {"GLAccount": "6602010000", "to_Text": {"results": [{"Language": "ZH", "GLAccountName": "差旅费"}]}}
CENTER = {
    "CostCenter": "1000000001",
    "ValidityStartDate": "/Date(1704067200000)/",
    "ValidityEndDate": "/Date(253402214400000)/",
    "to_Text": {"results": []},
}


@pytest.mark.parametrize(
    ("path", "record", "missing"),
    [
        (GL, without(ACCOUNT, "GLAccount"), "GLAccount"),
        (GL, without(ACCOUNT, "to_Text"), "to_Text.results"),
        (GL, {**ACCOUNT, "to_Text": {"results": [{"GLAccountName": "差旅费"}]}}, "Language"),
        (COST_CENTERS, without(CENTER, "ValidityStartDate"), "ValidityStartDate"),
        (COST_CENTERS, {**CENTER, "ValidityEndDate": "9999-12-31"}, "ValidityEndDate"),
    ],
)
def test_a_chart_record_without_a_field_we_rely_on_is_refused_naming_it(fake, path, record, missing):
    fake.rows(path, record)
    kind = "gl_account" if path == GL else "cost_center"
    with pytest.raises(ContractError, match=missing):
        list(SapHook().chart(kind))


# -- the SOAP answer ------------------------------------------------------------------------------
def confirmation(inner: str, log: str) -> str:
    return (
        '<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/"><soap-env:Body>'
        '<n0:JournalEntryBulkCreateConfirmation xmlns:n0="http://sap.com/xi/SAPSCORE/SFIN">'
        f"<JournalEntryCreateConfirmation><JournalEntryCreateConfirmation>{inner}</JournalEntryCreateConfirmation>"
        f"<Log>{log}</Log></JournalEntryCreateConfirmation>"
        "</n0:JournalEntryBulkCreateConfirmation></soap-env:Body></soap-env:Envelope>"
    )


POSTED = (
    "<AccountingDocument>0100000007</AccountingDocument><CompanyCode>1000</CompanyCode><FiscalYear>2024</FiscalYear>"
)
OK_LOG = "<MaximumLogItemSeverityCode>1</MaximumLogItemSeverityCode>"


@pytest.mark.parametrize(
    ("inner", "log", "named"),
    [
        (POSTED.replace("<AccountingDocument>0100000007</AccountingDocument>", ""), OK_LOG, "AccountingDocument"),
        (POSTED.replace("<FiscalYear>2024</FiscalYear>", ""), OK_LOG, "FiscalYear"),
        (POSTED, OK_LOG + "<Item><TypeID>001(RW)</TypeID><Note>x</Note></Item>", "SeverityCode"),
    ],
)
def test_a_confirmation_lacking_what_we_rely_on_is_an_unknown_outcome_naming_it(fake, inner, log, named):
    fake.answers[SOAP] = (200, "text/xml; charset=utf-8", confirmation(inner, log))
    with pytest.raises(OutcomeUnknownError, match=named):
        SapHook().create_voucher(expense("BX-1", "10.00"))
    assert [(method, path) for method, path, _ in fake.seen] == [("POST", SOAP)]  # sent once, no token fetch


def test_the_journal_entry_is_posted_with_no_csrf_token(fake):
    fake.answers[SOAP] = (200, "text/xml; charset=utf-8", confirmation(POSTED, OK_LOG))
    status = SapHook().create_voucher(expense("BX-1", "10.00"))
    assert status.remote_id == "1000/2024/0100000007"
    ((method, path, headers),) = fake.seen
    assert (method, path) == ("POST", SOAP)
    assert not {name.lower() for name in headers} & {"x-csrf-token", "cookie"}


# -- the Gateway's answer for a service the system lacks -----------------------------------------
CAPTURED = json.loads((FIXTURES / "gateway_no_service.json").read_text("utf-8"))


def xml_shape(node: ET.Element) -> dict:
    """An XML error as the JSON error format nests it (element names, text leaves; ``message`` is
    an object of ``value`` in JSON, ``errordetails`` a list)."""
    name = node.tag.rpartition("}")[2]
    if name == "message" and node.find("*") is None:
        return {"value": node.text or ""}
    if name == "errordetails":
        return []  # type: ignore[return-value]
    children = list(node)
    if not children:
        return node.text or ""  # type: ignore[return-value]
    return {child.tag.rpartition("}")[2]: xml_shape(child) for child in children}


def test_the_captured_no_service_answer_is_an_unavailable_entity(fake, monkeypatch):
    assert "khushalDhanani/SAPS4HANAFULLSTACK0@" in CAPTURED["source"] and "NOT a vendor-documented" in CAPTURED["kind"]
    path = f"{ODATA}/API_ENTERPRISE_PROJECT_SRV;v=0002/A_EnterpriseProject"
    fake.answers[path] = (CAPTURED["status"], CAPTURED["content_type"], CAPTURED["response"])
    with pytest.raises(EntityUnavailableError) as caught:
        list(SapHook().chart("project"))
    assert (caught.value.status, caught.value.code) == (403, "/IWFND/MED/170")
    assert caught.value.message == (
        "No service found for namespace '', name 'API_JOURNALENTRYITEMBASIC_SRV', version '0001'"
    )


def test_the_sandbox_answers_a_missing_service_in_the_captured_shape(sandboxes):
    sap = sandboxes.control("sap")
    sap.reset(missing_services=["API_JOURNALENTRYITEMBASIC_SRV"])
    answer = requests.get(
        sandboxes.url("sap") + f"{ODATA}/API_JOURNALENTRYITEMBASIC_SRV/$metadata",
        auth=("EXPENSE_SYNC_COMM", "sap-sandbox-password"),
        headers={"Accept": "application/json"},
        timeout=10,
    )
    assert answer.status_code == CAPTURED["status"]
    documented = {"error": xml_shape(ET.fromstring(CAPTURED["response"]))}
    assert_same_shape(documented, answer.json(), where="sandbox /IWFND/MED/170")
    error = answer.json()["error"]
    assert (error["code"], error["message"]["value"]) == (
        "/IWFND/MED/170",
        "No service found for namespace '', name 'API_JOURNALENTRYITEMBASIC_SRV', version '0001'",
    )


# -- prerequisites: the target system's own $metadata ---------------------------------------------
def edmx(entity_type: str, *names: str) -> str:
    """A minimal ``$metadata`` with one entity type of ``names`` (test input, not a vendor copy)."""
    props = "".join(f'<Property Name="{name}" Type="Edm.String"/>' for name in names)
    return (
        '<edmx:Edmx Version="1.0" xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx"><edmx:DataServices>'
        f'<Schema Namespace="S" xmlns="http://schemas.microsoft.com/ado/2008/09/edm">'
        f'<EntityType Name="{entity_type}">{props}</EntityType></Schema></edmx:DataServices></edmx:Edmx>'
    )


# the properties of the older release's A_JournalEntryItemBasic we use (JE-EDMX in docs/vendors/sap.md)
OLDER_RELEASE = ("Ledger", "CompanyCode", "LedgerFiscalYear", "FiscalPeriod", "GLAccount", "CostCenter")
OLDER_RELEASE += ("WBSElement", "AmountInCompanyCodeCurrency", "ControllingDebitCreditCode")


def test_prerequisites_name_the_journal_item_fields_an_older_release_lacks(fake):
    gl = f"{ODATA}/API_GLACCOUNTINCHARTOFACCOUNTS_SRV/$metadata"
    fake.answers[gl] = (200, "application/xml", edmx("A_GLAccountInChartOfAccountsType", "GLAccount"))
    journal = f"{ODATA}/API_JOURNALENTRYITEMBASIC_SRV/$metadata"
    fake.answers[journal] = (200, "application/xml", edmx("A_JournalEntryItemBasicType", *OLDER_RELEASE))
    (problem,) = SapHook().prerequisites()
    assert "lacks AccountingDocument, DocumentReferenceID, DebitCreditCode:" in problem

    fake.answers[journal] = CAPTURED["status"], CAPTURED["content_type"], CAPTURED["response"]
    fake.answers[gl] = (200, "application/xml", edmx("SomethingElseType", "GLAccount"))
    assert SapHook().prerequisites() == [
        "service API_GLACCOUNTINCHARTOFACCOUNTS_SRV has no entity set A_GLAccountInChartOfAccounts (gl_account)",
        "service API_JOURNALENTRYITEMBASIC_SRV: not activated (voucher look-ups and balances need it)",
    ]
