"""SAP S/4HANA: the chart from OData v2 APIs, journal entries posted over SOAP (the ERP contract).

Connection ``erp_sap``: host/schema/port of the API host (S/4HANA Cloud ``my<tenant>-api…``, or the
on-premise ICM), login/password = the communication user (HTTP Basic). With the extra
``oauth_token_url`` they are the OAuth 2.0 client id and secret instead, and calls carry a bearer
token from the client-credentials grant. Other extras: :class:`SapSettings`.

OData (research §6.1–6.4, §9): JSON (``Accept: application/json``), ``d.results``, ``__count`` with
``$inlinecount=allpages``, ``$top``/``$skip`` windows followed through server-driven ``__next``
(:class:`~expense_sync.hooks.paginate.NextLinkPaginator`; a ``__next`` must keep the service's
origin). Errors ``{"error":{"code","message":{"value"}}}`` become typed errors keeping the code;
401 → :class:`AuthenticationError` (Basic) or a token refresh (OAuth); 429/503 → throttled.

Writes (the SOAP posting) carry a CSRF token fetched with ``HEAD`` + ``x-csrf-token: Fetch`` on the
same session, whose cookies travel with the token. A 403 with ``x-csrf-token: Required`` (stale
session) fetches a new token once and sends again — safe for a non-idempotent call, because the
server refused it before looking at it. The token is masked and never logged.

Chart mapping:

* ``gl_account``: ``A_GLAccountInChartOfAccounts`` of the configured chart, ``$expand=to_Text``;
  the name is the long text in the configured language (then EN, then any, then the number);
  blocked for posting or marked for deletion → inactive; ``account_type`` = ``GLAccountType``
  (``X`` balance sheet, ``P`` primary costs/revenue, ``N`` non-operating, ``S`` secondary costs,
  ``C`` cash). Changed-since filters ``LastChangeDateTime`` of the account **and** of its text
  (``A_GLAccountText`` keeps its own timestamp, so a rename alone would otherwise be missed).
* ``expense_item`` [I]: SAP has no expense-item master; they are the primary-cost (``P``) accounts
  of the account groups in ``expense_account_groups``, each posting to itself.
* ``cost_center``: ``A_CostCenter`` of the controlling area, one row per validity period; the
  record is the period valid today, else the latest one (then inactive); blocked for primary
  costs → inactive. No change timestamp exists, so it is always a full sync.
* ``project`` [I]: ``API_ENTERPRISE_PROJECT_SRV;v=0002``/``A_EnterpriseProject``; processing
  status ``00``/``10`` (created/released) → active; changed-since on ``LastChangeDateTime``.

Vouchers: :mod:`expense_sync.hooks.sap_journal` builds the SOAP request. SAP posts at once, so a
created voucher is ``posted`` with ``AccountingDocument`` as its number and
``CompanyCode/FiscalYear/AccountingDocument`` as its remote id. Lookups and balances read the
analytical ``API_JOURNALENTRYITEMBASIC_SRV/A_JournalEntryItemBasic`` of the leading ledger; they rely
on ``AccountingDocument``, ``DocumentReferenceID`` and ``DebitCreditCode`` [I: newer releases]. The
fiscal year is the calendar year (variant ``K4``) [I]. A project on a voucher line is posted as the
WBS element of the same code [I].
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Collection, Iterator
from decimal import Decimal
from functools import cached_property
from typing import Any

import requests
from pydantic import Field

from expense_sync.erp.model import Balance, ChartKind, ChartRecord, Voucher, VoucherStatus, sum_balances
from expense_sync.hooks.base import HookSettings, VendorHook, mask, retry_after_seconds
from expense_sync.hooks.errors import (
    AuthenticationError,
    OutcomeUnknownError,
    PaginationError,
    ThrottledError,
    TokenInvalidError,
    TransientVendorError,
    VendorRequestError,
)
from expense_sync.hooks.paginate import NEXT_LINK, NextLinkPaginator
from expense_sync.hooks.sap import journal as sap_journal
from expense_sync.hooks.sap.odata import (
    either,
    error_detail,
    literal,
    origin,
    parse_date,
    parse_datetime,
    split_period,
    timestamp_literal,
)

log = logging.getLogger(__name__)

GL_SERVICE = "API_GLACCOUNTINCHARTOFACCOUNTS_SRV"
COST_CENTER_SERVICE = "API_COSTCENTER_SRV"
JOURNAL_SERVICE = "API_JOURNALENTRYITEMBASIC_SRV"
JSON = {"Accept": "application/json"}
ACTIVE_PROJECT_STATUSES = frozenset({"00", "10"})  # [I] created, released
CHANGED_TEXTS_BATCH = 40  # accounts per $filter when re-reading accounts whose text changed


class SapSettings(HookSettings):
    """Connection extras of ``erp_sap``."""

    sap_client: str | None = Field(default=None, pattern=r"^\d{3}$")  # on-premise client, sent as a header
    language: str = Field(default="ZH", min_length=2, max_length=2)  # the language of names
    chart_of_accounts: str = Field(default="YCOA", min_length=1, max_length=4)
    controlling_area: str = Field(default="A000", min_length=1, max_length=4)
    company_code: str = Field(default="1000", min_length=1, max_length=4)  # for vouchers that name none
    ledger: str = Field(default="0L", min_length=1, max_length=2)  # the leading ledger
    document_type: str = Field(default="SA", min_length=1, max_length=2)
    created_by_user: str | None = Field(default=None, max_length=12)  # default: the connection login
    logical_system: str | None = Field(default=None, max_length=10)
    expense_account_groups: list[str] = Field(default_factory=lambda: ["EXPN"])  # [I]
    page_size: int = Field(default=1000, ge=1, le=5000)
    odata_path: str = "/sap/opu/odata/sap"
    project_service: str = "API_ENTERPRISE_PROJECT_SRV;v=0002"
    soap_path: str = "/sap/bc/srt/scs_ext/sap/journalentrycreaterequestconfi"
    csrf_fetch_path: str = "/sap/opu/odata/sap/API_JOURNALENTRYITEMBASIC_SRV/"
    oauth_token_url: str | None = None  # absolute, or a path on the API host


class CsrfRequiredError(VendorRequestError):
    """403 with ``x-csrf-token: Required``: the token or its session is gone; fetch another."""


class SapHook(VendorHook):
    """SAP S/4HANA OData + SOAP, behind :class:`expense_sync.erp.ledger.ErpLedger`."""

    default_conn_name = "erp_sap"
    hook_name = "SAP S/4HANA"
    vendor = "sap"
    role = "erp"
    quota_qps = 10.0  # requests per second per app; the vendor documents none [I]
    max_voucher_lines = 999  # lines one voucher may carry (the rollup splits above it)
    default_company = "1000"  # company code of the bundled sandbox
    default_posting_accounts = {"employee_payable": "2241010000", "clearing": "2241090000"}
    settings_model = SapSettings

    def __init__(self, conn_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(conn_id, **kwargs)
        self._csrf_token: str | None = None

    # -- auth -------------------------------------------------------------------------------------
    @cached_property
    def _basic(self) -> str:
        conn = self.connection
        value = base64.b64encode(f"{conn.login or ''}:{conn.password or ''}".encode()).decode()
        mask(value)
        return f"Basic {value}"

    def fetch_token(self) -> tuple[str, float]:
        """OAuth 2.0 client credentials (only with ``oauth_token_url``)."""
        try:
            body = self.request(
                "POST",
                self.settings.oauth_token_url,
                data={"grant_type": "client_credentials"},
                headers={"Authorization": self._basic, **JSON},
                authorize=False,
            )
        except (VendorRequestError, TokenInvalidError, AuthenticationError) as err:
            raise AuthenticationError(
                err.message, vendor=self.vendor, endpoint=err.endpoint, status=err.status, code=err.code
            ) from None
        return body["access_token"], float(body.get("expires_in") or 3600)

    def authorize(self, request: dict[str, Any]) -> None:
        settings = self.settings
        token = f"Bearer {self.get_token()}" if settings.oauth_token_url else self._basic
        request["headers"] = {**request.get("headers", {}), "Authorization": token}
        if settings.sap_client:
            request["headers"]["sap-client"] = settings.sap_client

    # -- responses --------------------------------------------------------------------------------
    def check_response(self, response: requests.Response, endpoint: str) -> Any:
        status = response.status_code
        where = {"vendor": self.vendor, "endpoint": endpoint, "status": status}
        if status == 401:
            if response.request.headers.get("Authorization", "").startswith("Bearer "):
                raise TokenInvalidError("access token refused", **where)
            raise AuthenticationError("logon failed: check the user, password and sap-client", **where)
        if status == 403 and response.headers.get("x-csrf-token", "").lower() == "required":
            raise CsrfRequiredError("CSRF token validation failed", **where)
        if status in (429, 503):
            message = "throttled" if status == 429 else "service unavailable"
            raise ThrottledError(message, retry_after=retry_after_seconds(response), **where)
        if 300 <= status < 400:
            return super().check_response(response, endpoint)  # a redirect is never a body
        xml = "xml" in response.headers.get("Content-Type", "")
        if status >= 400 or xml and status != 200:
            self._raise_error(response, xml, where)
        if response.request.headers.get("x-csrf-token", "").lower() == "fetch":
            self._csrf_token = response.headers.get("x-csrf-token") or None
            mask(self._csrf_token)
        return response.text if xml else super().check_response(response, endpoint)

    def _raise_error(self, response: requests.Response, xml: bool, where: dict[str, Any]) -> None:
        fault = sap_journal.parse_fault(response.content) if xml else None
        if fault is not None:  # a SOAP fault: Client = the message was refused, Server = unknown
            code, message = fault
            cls = TransientVendorError if code == "Server" else VendorRequestError
            raise cls(message or "SOAP fault", code=code, **where)
        try:
            body = response.json()
        except ValueError:
            body = None
        code, message = error_detail(body, response.text)
        cls = TransientVendorError if where["status"] >= 500 else VendorRequestError
        raise cls(message, code=code, **where)

    # -- OData reads ------------------------------------------------------------------------------
    def odata_pages(self, service: str, entity_set: str, params: dict[str, str]) -> Iterator[list[dict]]:
        """Pages of an entity set: ``$top``/``$skip`` windows, each followed through ``__next``."""
        path = f"{self.settings.odata_path}/{service}/{entity_set}"

        def fetch(page: dict[str, Any]) -> Any:
            if NEXT_LINK in page:
                return self.request("GET", self._next_url(page[NEXT_LINK]), headers=JSON)
            return self.request("GET", path, params={**params, **page}, headers=JSON)

        yield from NextLinkPaginator(size=self.settings.page_size).pages(fetch)

    def odata_rows(self, service: str, entity_set: str, params: dict[str, str]) -> Iterator[dict]:
        for page in self.odata_pages(service, entity_set, params):
            yield from page

    def _next_url(self, link: str) -> str:
        """A ``__next`` link, refused unless it keeps the service's origin (credentials go with it)."""
        if link.startswith("/"):
            return self.url(link)
        if origin(link) != origin(self.base_url):
            raise PaginationError("__next leaves the service's origin; refusing to follow it", vendor=self.vendor)
        return link

    # -- the ERP contract: chart ------------------------------------------------------------------
    def supports_changed_since(self, kind: ChartKind) -> bool:
        return kind in ("gl_account", "expense_item", "project")

    def chart(self, kind: ChartKind, since: dt.datetime | None = None) -> Iterator[ChartRecord]:
        if kind == "gl_account":
            return self._gl_accounts(kind, since)
        if kind == "expense_item":
            condition, groups = "GLAccountType eq 'P'", self.settings.expense_account_groups
            if groups:
                condition += f" and {either('GLAccountGroup', groups)}"
            return self._gl_accounts(kind, since, condition)
        if kind == "cost_center":
            return self._cost_centers()
        if kind == "project":
            return self._projects(since)
        raise ValueError(f"unknown chart kind {kind!r}")

    def _gl_accounts(self, kind: ChartKind, since: dt.datetime | None, condition: str = "") -> Iterator[ChartRecord]:
        chart = f"ChartOfAccounts eq {literal(self.settings.chart_of_accounts)}"
        scope = f"{chart} and {condition}" if condition else chart
        changed = f" and LastChangeDateTime ge {timestamp_literal(since)}" if since else ""
        seen: set[str] = set()
        params = {"$filter": scope + changed, "$expand": "to_Text"}
        for row in self.odata_rows(GL_SERVICE, "A_GLAccountInChartOfAccounts", params):
            seen.add(row["GLAccount"])
            yield self._gl_record(kind, row)
        if since is None:
            return
        texts = {
            "$filter": f"{chart} and Language eq {literal(self.settings.language)}{changed}",
            "$select": "GLAccount",
        }
        renamed = {t["GLAccount"] for t in self.odata_rows(GL_SERVICE, "A_GLAccountText", texts)}
        renamed = sorted(renamed - seen)
        for i in range(0, len(renamed), CHANGED_TEXTS_BATCH):
            accounts = either("GLAccount", renamed[i : i + CHANGED_TEXTS_BATCH])
            params = {"$filter": f"{scope} and {accounts}", "$expand": "to_Text"}
            for row in self.odata_rows(GL_SERVICE, "A_GLAccountInChartOfAccounts", params):
                yield self._gl_record(kind, row)

    def _text(self, row: dict) -> dict:
        """The text of a record in the configured language, else English, else any."""
        texts = (row.get("to_Text") or {}).get("results") or []
        by_language = {t.get("Language"): t for t in texts}
        return by_language.get(self.settings.language) or by_language.get("EN") or (texts[0] if texts else {})

    def _gl_record(self, kind: ChartKind, row: dict) -> ChartRecord:
        code, text = row["GLAccount"], self._text(row)
        stamps = [
            s
            for s in (parse_datetime(row.get("LastChangeDateTime")), parse_datetime(text.get("LastChangeDateTime")))
            if s
        ]
        gl = kind == "gl_account"
        return ChartRecord(
            kind=kind,
            code=code,
            name=text.get("GLAccountLongName") or text.get("GLAccountName") or code,
            active=not (row.get("AccountIsBlockedForPosting") or row.get("AccountIsMarkedForDeletion")),
            postable=True if gl else None,
            account_type=row.get("GLAccountType") if gl else None,
            gl_account_code=None if gl else code,
            updated_at=max(stamps) if stamps else None,
            raw=row,
        )

    def _cost_centers(self) -> Iterator[ChartRecord]:
        periods: dict[str, list[dict]] = defaultdict(list)
        area = literal(self.settings.controlling_area)
        for row in self.odata_rows(
            COST_CENTER_SERVICE, "A_CostCenter", {"$filter": f"ControllingArea eq {area}", "$expand": "to_Text"}
        ):
            periods[row["CostCenter"]].append(row)
        today = dt.date.today()
        for code in sorted(periods):
            rows = [
                (
                    parse_date(r.get("ValidityStartDate")) or dt.date.min,
                    parse_date(r.get("ValidityEndDate")) or dt.date.max,
                    r,
                )
                for r in periods[code]
            ]
            current = [r for r in rows if r[0] <= today <= r[1]]
            start, end, row = current[0] if current else max(rows, key=lambda r: r[1])
            text = self._text(row)
            yield ChartRecord(
                kind="cost_center",
                code=code,
                name=text.get("CostCenterName") or text.get("CostCenterDescription") or code,
                active=bool(current) and row.get("IsBlkdForPrimaryCostsPosting") != "X",
                owner_unit=row.get("Department") or None,
                valid_from=start,
                valid_to=end,
                company=row.get("CompanyCode") or None,
                raw=row,
            )

    def _projects(self, since: dt.datetime | None) -> Iterator[ChartRecord]:
        params = {"$filter": f"LastChangeDateTime ge {timestamp_literal(since)}"} if since else {}
        for row in self.odata_rows(self.settings.project_service, "A_EnterpriseProject", params):
            yield ChartRecord(
                kind="project",
                code=row["Project"],
                name=row.get("ProjectDescription") or row["Project"],
                active=row.get("ProcessingStatus") in ACTIVE_PROJECT_STATUSES,
                valid_from=parse_date(row.get("ProjectStartDate")),
                valid_to=parse_date(row.get("ProjectEndDate")),
                company=row.get("CompanyCode") or None,
                updated_at=parse_datetime(row.get("LastChangeDateTime")),
                raw=row,
            )

    # -- writes -----------------------------------------------------------------------------------
    def fetch_csrf_token(self) -> str:
        """A CSRF token for this session (``HEAD`` with ``x-csrf-token: Fetch``)."""
        self._csrf_token = None
        path = self.settings.csrf_fetch_path
        self.request("HEAD", path, headers={"x-csrf-token": "Fetch"})
        if not self._csrf_token:
            raise VendorRequestError("the server sent no CSRF token", vendor=self.vendor, endpoint=f"HEAD {path}")
        self.stats["csrf_fetches"] += 1
        return self._csrf_token

    def write(self, path: str, data: bytes, headers: dict[str, str]) -> Any:
        """A non-idempotent POST with the session's CSRF token; one refetch when the server calls it stale."""
        for attempt in range(2):
            token = self._csrf_token or self.fetch_csrf_token()
            try:
                return self.request(
                    "POST", path, data=data, headers={**headers, "x-csrf-token": token}, idempotent=False
                )
            except CsrfRequiredError:
                self._csrf_token = None
                if attempt:
                    raise
                self.stats["csrf_refetches"] += 1
        raise AssertionError("unreachable")

    def post_journal_entries(self, envelope: bytes) -> list[sap_journal.Confirmation]:
        """Send a ``JournalEntryBulkCreateRequest``; return its confirmations."""
        path = self.settings.soap_path
        headers = {
            "Content-Type": "text/xml; charset=utf-8",
            "Accept": "text/xml",
            "SOAPAction": f'"{sap_journal.SOAP_ACTION}"',
        }
        text = self.write(path, envelope, headers)
        try:
            return sap_journal.parse_confirmation(text)
        except (ValueError, SyntaxError):
            raise OutcomeUnknownError(
                "unreadable confirmation: the entry may have been posted",
                vendor=self.vendor,
                endpoint=f"POST {path}",
                status=200,
            ) from None

    # -- the ERP contract: vouchers ---------------------------------------------------------------
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
        envelope = sap_journal.create_request(
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
        return self.odata_rows(JOURNAL_SERVICE, "A_JournalEntryItemBasic", params)

    def find_voucher(self, external_ref: str, period: str) -> VoucherStatus | None:
        year, fiscal_period = split_period(period)
        reference = literal(sap_journal.reference_id(external_ref))
        rows = self._journal_items(
            f"DocumentReferenceID eq {reference} and LedgerFiscalYear eq "
            f"{literal(year)} and FiscalPeriod eq {literal(fiscal_period)}",
            "CompanyCode,LedgerFiscalYear,AccountingDocument",
        )
        documents = sorted({(r["CompanyCode"], r["LedgerFiscalYear"], r["AccountingDocument"]) for r in rows})
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
        return VoucherStatus(
            remote_id=remote_id,
            number=document,
            state="posted",
            external_ref=rows[0].get("DocumentReferenceID") or None,
            period=f"{fiscal_year}-{int(rows[0]['FiscalPeriod']):02d}",
        )

    def period_vouchers(self, company: str, period: str, known_refs: Collection[str] = ()) -> list[VoucherStatus]:
        """Every journal entry of the company code in ``period``; the 16-character DocumentReferenceID
        is read back as the one of ``known_refs`` it carries (see :func:`sap_journal.reference_id`)."""
        year, fiscal_period = split_period(period)
        carried = {sap_journal.reference_id(ref): ref for ref in known_refs}
        rows = self._journal_items(
            f"CompanyCode eq {literal(company)} and LedgerFiscalYear eq {literal(year)} and "
            f"FiscalPeriod eq {literal(fiscal_period)}",
            "CompanyCode,LedgerFiscalYear,AccountingDocument,DocumentReferenceID",
        )
        found: dict[str, VoucherStatus] = {}
        for row in rows:
            remote_id = f"{row['CompanyCode']}/{row['LedgerFiscalYear']}/{row['AccountingDocument']}"
            reference = row.get("DocumentReferenceID") or None
            found.setdefault(
                remote_id,
                VoucherStatus(
                    remote_id=remote_id,
                    number=row["AccountingDocument"],
                    state="posted",
                    external_ref=carried.get(reference, reference),
                    period=period,
                ),
            )
        return list(found.values())

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
            amount = Decimal(str(row["AmountInCompanyCodeCurrency"]))
            debit, credit = (amount, Decimal(0)) if amount >= 0 else (Decimal(0), -amount)
            lines.append((row["GLAccount"], row.get("CostCenter"), row.get("WBSElement"), debit, credit))
        return sum_balances(company, period, lines)
