"""The SAP connection: settings, Basic or OAuth auth, error bodies, OData reads, the SOAP post.

Wire facts (auth, paging, error shapes, why the SOAP post carries no CSRF token): ``docs/vendors/sap.md``."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from functools import cached_property
from typing import Any

import requests
from pydantic import Field, field_validator

from expense_sync.erp.budget import Control
from expense_sync.erp.model import ChartKind
from expense_sync.hooks.base import HookSettings, VendorHook, mask, retry_after_seconds
from expense_sync.hooks.contract import required
from expense_sync.hooks.errors import (
    AuthenticationError,
    EntityUnavailableError,
    PaginationError,
    ThrottledError,
    TokenInvalidError,
    TransientVendorError,
    VendorRequestError,
)
from expense_sync.hooks.paginate import NEXT_LINK, NextLinkPaginator
from expense_sync.hooks.sap import journal
from expense_sync.hooks.sap.entities import ChartEntity, chart_entities
from expense_sync.hooks.sap.odata import NO_SERVICE, error_detail, origin, xml_error_detail

JSON = {"Accept": "application/json"}


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
    # per chart kind: on/off, service (with version), entity set, fields (see entities.py)
    entities: dict[ChartKind, ChartEntity] = Field(default_factory=lambda: chart_entities({}))
    soap_path: str = "/sap/bc/srt/scs_ext/sap/journalentrycreaterequestconfi"
    oauth_token_url: str | None = None  # absolute, or a path on the API host
    # suppliers and tax codes (hooks/sap/masters.py; [I] choices in docs/vendors/sap.md)
    credit_code_tax_type: str = Field(default="CN5", min_length=1, max_length=4)  # BPTaxType of the 统一社会信用代码
    tax_code_service: str = "YY1_TAXCODE_CDS"  # the installation's custom CDS view of its tax codes
    tax_code_entity_set: str = "YY1_TaxCode"
    tax_procedure: str = Field(default="TAXCN", min_length=1, max_length=6)
    # the budget center (hooks/sap/budget.py; [I] choices in docs/vendors/sap.md "Budget center")
    plan_service: str = "API_FINPLANNINGENTRYITEM_SRV"
    plan_entity_set: str = "A_FinPlanningEntryItem"
    budget_planning_category: str = Field(default="BUDGET01", min_length=1, max_length=10)
    budget_control: Control = "warn"  # plan data carries no control; what an overrun means here
    budget_controller: str | None = None  # 工号 of the budget controller of every cost center …
    budget_controllers: dict[str, str] = Field(default_factory=dict)  # … or per cost center

    @field_validator("entities", mode="before")
    @classmethod
    def _entities(cls, value: object) -> dict:
        return chart_entities(value)


class SapClient(VendorHook):
    """Transport of the SAP hook: what every OData read and SOAP write goes through."""

    settings_model = SapSettings

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
        token = required(body, "access_token", vendor=self.vendor, endpoint=f"POST {self.settings.oauth_token_url}")
        return token, float(body.get("expires_in") or 3600)  # the lifetime is optional in OAuth 2.0

    def authorize(self, request: dict[str, Any]) -> None:
        settings = self.settings
        token = f"Bearer {self.get_token()}" if settings.oauth_token_url else self._basic
        request["headers"] = {**request.get("headers", {}), "Authorization": token}
        if settings.sap_client:
            request["headers"]["sap-client"] = settings.sap_client

    # -- responses --------------------------------------------------------------------------------
    def check_response(self, response: requests.Response, endpoint: str) -> Any:
        status = response.status_code
        where: dict[str, Any] = {"vendor": self.vendor, "endpoint": endpoint, "status": status}
        if status == 401:
            if response.request.headers.get("Authorization", "").startswith("Bearer "):
                raise TokenInvalidError("access token refused", **where)
            raise AuthenticationError("logon failed: check the user, password and sap-client", **where)
        if status in (429, 503):
            message = "throttled" if status == 429 else "service unavailable"
            raise ThrottledError(message, retry_after=retry_after_seconds(response), **where)
        if 300 <= status < 400:
            return super().check_response(response, endpoint)  # a redirect is never a body
        xml = "xml" in response.headers.get("Content-Type", "")
        if status >= 400 or xml and status != 200:
            self._raise_error(response, xml, where)
        return response.text if xml else super().check_response(response, endpoint)

    def _raise_error(self, response: requests.Response, xml: bool, where: dict[str, Any]) -> None:
        fault = journal.parse_fault(response.content) if xml else None
        if fault is not None:  # a SOAP fault: Client = the message was refused, Server = unknown
            code, message = fault
            cls = TransientVendorError if code == "Server" else VendorRequestError
            raise cls(message or "SOAP fault", code=code, **where)
        if xml:
            error_code, message = xml_error_detail(response.content, response.text)
        else:
            try:
                body = response.json()
            except ValueError:
                body = None
            error_code, message = error_detail(body, response.text)
        if error_code == NO_SERVICE:  # the Gateway has no such service (not activated, or not there)
            raise EntityUnavailableError(message, code=error_code, **where)
        cls = TransientVendorError if where["status"] >= 500 else VendorRequestError
        raise cls(message, code=error_code, **where)

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
