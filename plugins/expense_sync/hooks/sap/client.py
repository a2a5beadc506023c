"""The SAP connection: settings, Basic or OAuth auth, error bodies, OData reads, CSRF-guarded writes.

Wire facts (auth, CSRF, paging, error shapes): ``docs/vendors/sap.md``."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from functools import cached_property
from typing import Any

import requests
from pydantic import Field

from expense_sync.hooks.base import HookSettings, VendorHook, mask, retry_after_seconds
from expense_sync.hooks.errors import (
    AuthenticationError,
    PaginationError,
    ThrottledError,
    TokenInvalidError,
    TransientVendorError,
    VendorRequestError,
)
from expense_sync.hooks.paginate import NEXT_LINK, NextLinkPaginator
from expense_sync.hooks.sap import journal
from expense_sync.hooks.sap.odata import error_detail, origin

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
    project_service: str = "API_ENTERPRISE_PROJECT_SRV;v=0002"
    soap_path: str = "/sap/bc/srt/scs_ext/sap/journalentrycreaterequestconfi"
    csrf_fetch_path: str = "/sap/opu/odata/sap/API_JOURNALENTRYITEMBASIC_SRV/"
    oauth_token_url: str | None = None  # absolute, or a path on the API host


class CsrfRequiredError(VendorRequestError):
    """403 with ``x-csrf-token: Required``: the token or its session is gone; fetch another."""


class SapClient(VendorHook):
    """Transport of the SAP hook: what every OData read and SOAP write goes through."""

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
        where: dict[str, Any] = {"vendor": self.vendor, "endpoint": endpoint, "status": status}
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
        fault = journal.parse_fault(response.content) if xml else None
        if fault is not None:  # a SOAP fault: Client = the message was refused, Server = unknown
            code, message = fault
            cls = TransientVendorError if code == "Server" else VendorRequestError
            raise cls(message or "SOAP fault", code=code, **where)
        try:
            body = response.json()
        except ValueError:
            body = None
        error_code, message = error_detail(body, response.text)
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
        token = self._csrf_token or self.fetch_csrf_token()
        try:
            return self._post(path, data, headers, token)
        except CsrfRequiredError:
            self._csrf_token = None
        self.stats["csrf_refetches"] += 1
        try:
            return self._post(path, data, headers, self.fetch_csrf_token())
        except CsrfRequiredError:
            self._csrf_token = None
            raise

    def _post(self, path: str, data: bytes, headers: dict[str, str], token: str) -> Any:
        return self.request("POST", path, data=data, headers={**headers, "x-csrf-token": token}, idempotent=False)
