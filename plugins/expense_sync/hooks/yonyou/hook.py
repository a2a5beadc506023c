"""用友 Yonyou ERP: the YonBIP / YonSuite open API (and NC Cloud's voucher API) behind :class:`ErpLedger`.

Connection ``erp_yonyou``: host = the data-centre discovery host (``apigateway.yonyoucloud.com``)
when the extras name a ``tenant_id``, otherwise the tenant's gateway itself (or set ``gateway_url``
/ ``token_url``); login = appKey, password = appSecret; other settings in :class:`YonyouSettings`.
With ``variant: "ncc"`` the host is the NC Cloud server, login/password its client_id and
client_secret (see :mod:`expense_sync.hooks.yonyou_ncc`).

YonBIP, as research §5.1 and §8 item 5 describe it:

* **discovery**: ``GET /open-auth/dataCenter/getGatewayAddress?tenantId=`` → ``gatewayUrl`` and
  ``tokenUrl``, cached per hook; an unknown tenant answers HTTP 200 code ``"500"`` →
  :class:`AuthenticationError` (a connection to fix, not a call to retry);
* **token**: ``GET {tokenUrl}/open-auth/selfAppAuth/base/v1/getAccessToken?appKey&timestamp
  &signature``, signature = Base64(HMAC-SHA256("appKey"+appKey+"timestamp"+ms, appSecret)), URL-encoded
  once by the query string; ``data.access_token`` / ``data.expire`` (or nested in ``data.data``);
  ``"10018"`` (unknown appKey) or a refused signature → :class:`AuthenticationError`;
* **calls**: ``{gatewayUrl}/yonbip/…?access_token=`` with JSON bodies. Errors come inside HTTP 200
  as *string* codes: ``"310036"`` 非法token and ``"310001"`` no token → refresh and retry (the
  archive queries answer a bad token with the bare text ``非法token``, handled the same);
  ``"310037"`` API not granted, ``"310005"`` wrong gateway, HTTP 404 ``"310404"`` unknown path and
  business ``"404"``/``0`` → :class:`VendorRequestError`; success is ``"200"`` or numeric ``200``
  (``"00000"`` on auth calls). Throttling is undocumented [I]: HTTP 429, or a code in
  ``throttle_codes`` (default ``"310050"``) inside HTTP 200 → :class:`ThrottledError`;
* **chart**: page numbers (``pageIndex``/``pageSize``) with ``ts >=`` conditions for changed-since
  (see :mod:`expense_sync.hooks.yonyou_records` for paths and fields, [I] beyond GL accounts);
* **vouchers**: ``addVoucher`` with ``businessId`` = ``externalSourceDataId`` = our reference
  (YonBIP's own idempotency key; a repeat answers 310504 / 310074 "凭证已存在" or replays the first
  answer, and either way we return the one voucher); ``queryVouchers`` filtered by period and our
  ``srcSystemCode``, matched on the header's ``external_source_data_id`` [I: field name] — over the
  configured book first, then every book of the tenant, since :meth:`find_voucher` is not told the
  company; ``queryVoucherById`` for one voucher's state; number = ``billCode``.
* **balances** sum the period's voucher lines (``queryVouchers``, states ``balance_statuses``) per
  account, cost center and project: the ``/yonbip/fi/rpt/balance`` report gives report items with
  year-opening and closing balances only — no debit/credit split, no dimensions.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import time
from collections.abc import Collection, Iterator
from decimal import Decimal
from functools import cached_property
from typing import Any, Literal

import requests
from pydantic import Field, model_validator

from expense_sync.erp.model import Balance, ChartKind, ChartRecord, Voucher, VoucherStatus, sum_balances
from expense_sync.hooks.base import HookSettings, VendorHook
from expense_sync.hooks.errors import (
    AuthenticationError,
    ConfigurationError,
    ThrottledError,
    TokenInvalidError,
    VendorRequestError,
)
from expense_sync.hooks.paginate import PageNumberPaginator
from expense_sync.hooks.yonyou import records
from expense_sync.hooks.yonyou.ncc import NccApi

DISCOVERY_PATH = "/open-auth/dataCenter/getGatewayAddress"
TOKEN_PATH = "/open-auth/selfAppAuth/base/v1/getAccessToken"
ACCBOOK_PATH = "/yonbip/fi/fipub/basedoc/querybd/accbook"
ADD_VOUCHER_PATH = "/yonbip/fi/ficloud/openapi/voucher/addVoucher"
QUERY_VOUCHERS_PATH = "/yonbip/fi/ficloud/openapi/voucher/queryVouchers"
VOUCHER_BY_ID_PATH = "/yonbip/EFI/openapi/voucher/queryVoucherById"
SUCCESS_CODES = frozenset({"200", "00000"})
TOKEN_INVALID_CODES = frozenset({"310036", "310001"})
TOKEN_INVALID_TEXT = "非法token"
DUPLICATE_CODES = frozenset({"310504", "310074"})
VOUCHER_PAGE_SIZE = 1000  # queryVouchers' maximum


class YonyouSettings(HookSettings):
    """Extras of the ``erp_yonyou`` connection."""

    variant: Literal["bip", "ncc"] = "bip"
    tenant_id: str | None = None  # set: discover the gateway and token URLs from the host
    gateway_url: str | None = None  # without discovery: the tenant gateway (default: the host)
    token_url: str | None = None  # without discovery: the auth base (default: the gateway)
    send_tenant_id: bool = False  # add &tenantId= to gateway calls, as some deployments want
    ts_utc_offset: float = 8.0  # the tenant's clock for ``ts`` values (China: UTC+8)
    accbook_code: str | None = None  # the default book (账簿编码): searched first by find_voucher
    voucher_type_code: str = "1"  # 记账凭证 unless a voucher names its type
    maker_mobile: str | None = None  # 制单人: YonBIP needs the mobile or the e-mail of a user
    maker_email: str | None = None
    src_system_code: str = "figl"
    external_source_type: str = "费控报销单"
    external_system_name: str = "expense-sync"
    cost_center_aux_code: str = "0010"  # 辅助核算项 codes are tenant-specific
    project_aux_code: str = "0006"
    page_size: int = Field(default=500, ge=1, le=1000)
    throttle_codes: list[str] = ["310050"]
    balance_statuses: list[str] = ["01", "03", "04"]  # 保存, 已审核, 已记账 (未记账 included)
    # NC Cloud (variant "ncc")
    ncc_public_key: str | None = None  # the app's RSA public key (Base64 DER), from 第三方应用注册
    ncc_biz_center: str | None = None  # 账套编码
    ncc_version: Literal["2005", "legacy"] = "2005"
    ncc_usercode: str | None = None
    ncc_maker_code: str | None = None  # ``prepared``: the maker's user code
    ncc_ref_field: str = "freevalue1"  # the line field that carries our reference

    @model_validator(mode="after")
    def _ncc_needs_key(self) -> YonyouSettings:
        if self.variant == "ncc" and not (self.ncc_public_key and self.ncc_biz_center):
            raise ValueError("variant 'ncc' needs ncc_public_key and ncc_biz_center")
        return self


class YonyouHook(VendorHook):
    """YonBIP open API (``variant: "bip"``, default) or NC Cloud's OpenAPI (``"ncc"``), one ERP contract."""

    parse_float = Decimal  # amounts arrive as JSON numbers: read them as Decimal, never float

    default_conn_name = "erp_yonyou"
    hook_name = "用友 Yonyou"
    vendor = "yonyou"
    role = "erp"
    quota_qps = 10.0  # requests per second per app; the vendor documents none [I]
    max_voucher_lines = 1000  # lines one voucher may carry (the rollup splits above it)
    default_company = "0001"  # accbookCode of the bundled sandbox
    default_posting_accounts = {"employee_payable": "224101", "clearing": "224109"}
    settings_model = YonyouSettings

    settings: YonyouSettings  # narrowed from the base

    @cached_property
    def ncc(self) -> NccApi | None:
        return NccApi(self) if self.settings.variant == "ncc" else None

    # -- hosts ------------------------------------------------------------------------------------
    @cached_property
    def endpoints(self) -> tuple[str, str]:
        """The tenant's gateway and token base URLs: discovered once, or configured."""
        settings = self.settings
        if not settings.tenant_id:
            gateway = (settings.gateway_url or self.base_url).rstrip("/")
            return gateway, (settings.token_url or gateway).rstrip("/")
        try:
            body = self.request(
                "GET",
                f"{self.base_url}{DISCOVERY_PATH}",
                params={"tenantId": settings.tenant_id},
                authorize=False,
            )
        except VendorRequestError as err:
            raise AuthenticationError(
                f"data-centre discovery refused tenant {settings.tenant_id!r}: {err.message}",
                vendor=self.vendor,
                endpoint=err.endpoint,
                code=err.code,
            ) from None
        data = body.get("data") or {}
        return data["gatewayUrl"].rstrip("/"), data["tokenUrl"].rstrip("/")

    def url(self, path: str) -> str:
        if "://" in path:
            return path
        base = self.base_url if self.ncc else self.endpoints[0]
        return f"{base}/{path.lstrip('/')}"

    # -- token ------------------------------------------------------------------------------------
    def fetch_token(self) -> tuple[str, float]:
        if self.ncc:
            return self.ncc.fetch_token()
        conn = self.connection
        stamp = str(int(time.time() * 1000))
        digest = hmac.new(
            (conn.password or "").encode(), f"appKey{conn.login}timestamp{stamp}".encode(), hashlib.sha256
        ).digest()
        params = {"appKey": conn.login, "timestamp": stamp, "signature": base64.b64encode(digest).decode()}
        try:
            body = self.request("GET", f"{self.endpoints[1]}{TOKEN_PATH}", params=params, authorize=False)
        except (VendorRequestError, TokenInvalidError) as err:
            raise AuthenticationError(
                err.message, vendor=self.vendor, endpoint=err.endpoint, status=err.status, code=err.code
            ) from None
        data = body.get("data") or {}
        if "access_token" not in data and isinstance(data.get("data"), dict):
            data = data["data"]  # older versions nest it once more
        return data["access_token"], float(data.get("expire") or 7200)

    def authorize(self, request: dict[str, Any]) -> None:
        if self.ncc:
            self.ncc.authorize(request)
            return
        params = {**(request.get("params") or {}), "access_token": self.get_token()}
        if self.settings.send_tenant_id and self.settings.tenant_id:
            params["tenantId"] = self.settings.tenant_id
        request["params"] = params

    # -- responses --------------------------------------------------------------------------------
    def check_body(self, response: requests.Response, body: Any, endpoint: str) -> None:
        if self.ncc:
            self.ncc.check_body(response, body, endpoint)
            return
        where: dict[str, Any] = {"vendor": self.vendor, "endpoint": endpoint, "status": response.status_code}
        if isinstance(body, str):
            if body.strip() == TOKEN_INVALID_TEXT:
                raise TokenInvalidError(TOKEN_INVALID_TEXT, **where)
            raise VendorRequestError(f"expected JSON, got {body[:100]!r}", **where)
        if not isinstance(body, dict):
            return
        code, failed = body.get("code"), body.get("success") in (False, "false")
        code = None if code is None else str(code)
        if (code is None or code in SUCCESS_CODES) and not failed:
            return
        message = str(body.get("message") or "refused")
        where["code"] = code
        if code in TOKEN_INVALID_CODES:
            raise TokenInvalidError(message, **where)
        if code in self.settings.throttle_codes:
            wait = self.settings.throttle_wait
            raise ThrottledError(message, retry_after=1.0 if wait is None else wait, **where)
        raise VendorRequestError(message, **where)

    # -- charts -----------------------------------------------------------------------------------
    def supports_changed_since(self, kind: ChartKind) -> bool:
        return self.ncc is None and kind in records.CHARTS

    def chart(self, kind: ChartKind, since: dt.datetime | None = None) -> Iterator[ChartRecord]:
        if self.ncc:
            raise ConfigurationError(
                "the NC Cloud variant of erp_yonyou posts and reads vouchers only (NC Cloud's archive query "
                "paths are not known): read the chart through a YonBIP connection",
                vendor=self.vendor,
            )
        query = records.CHARTS[kind]
        body: dict[str, Any] = {"fields": list(query.fields)}
        if since is not None:
            body["conditions"] = [records.ts_condition(since, self.settings)]
        paginator = PageNumberPaginator(
            size=self.settings.page_size, items_path=query.items_path, total_path=query.total_path
        )
        for page in self.paginate("POST", query.path, paginator, json=body, paging_in="json"):
            for raw in page:
                yield records.chart_record(kind, raw, self.settings)

    # -- vouchers ---------------------------------------------------------------------------------
    def create_voucher(self, voucher: Voucher) -> VoucherStatus:
        if self.ncc:
            return self.ncc.create_voucher(voucher)
        if voucher.currency != "CNY":
            raise VendorRequestError(
                f"voucher {voucher.external_ref} is in {voucher.currency}: the ERP contract "
                "carries no exchange rate, only CNY books are supported",
                vendor=self.vendor,
            )
        try:
            data = self.request(
                "POST",
                ADD_VOUCHER_PATH,
                json=records.add_voucher_body(voucher, self.settings),
                idempotent=False,
            )["data"]
        except VendorRequestError as err:
            if err.code not in DUPLICATE_CODES:
                raise
            found = self._find(voucher.external_ref, voucher.period, [voucher.company])
            if found is None:
                raise
            return found
        return records.status_from_saved(data, voucher)

    def find_voucher(self, external_ref: str, period: str) -> VoucherStatus | None:
        if self.ncc:
            return self.ncc.find_voucher(external_ref, period)
        return self._find(external_ref, period, self.books)

    def voucher_status(self, remote_id: str) -> VoucherStatus:
        if self.ncc:
            return self.ncc.voucher_status(remote_id)
        data = self.request("POST", VOUCHER_BY_ID_PATH, json={"voucherId": remote_id})["data"]
        return records.status_from_detail(data)

    def balances(self, company: str, period: str) -> list[Balance]:
        if self.ncc:
            raise ConfigurationError(
                "the NC Cloud variant of erp_yonyou posts and reads vouchers only: read ledger balances "
                "through a YonBIP connection",
                vendor=self.vendor,
            )
        pages = self._vouchers(company, period, statuses=self.settings.balance_statuses)
        lines = (line for page in pages for record in page for line in records.movements(record, self.settings))
        return sum_balances(company, period, lines)

    def period_vouchers(self, company: str, period: str, known_refs: Collection[str] = ()) -> list[VoucherStatus]:
        """Every voucher of the book ``company`` in ``period`` (``queryVouchers``, paged)."""
        if self.ncc:
            raise ConfigurationError(
                "the NC Cloud variant of erp_yonyou posts and reads vouchers only: list a period's vouchers "
                "through a YonBIP connection",
                vendor=self.vendor,
            )
        found: dict[str, VoucherStatus] = {}
        for page in self._vouchers(company, period):
            for record in page:
                status = records.status_from_header(record["header"])
                found.setdefault(status.remote_id, status)
        return list(found.values())

    # -- helpers ----------------------------------------------------------------------------------
    def _vouchers(
        self, book: str, period: str, *, statuses: list[str] | None = None, src_system: str | None = None
    ) -> Iterator[list[dict]]:
        """Pages of ``queryVouchers`` records of one book and period (paging sits in ``pager``)."""
        body: dict[str, Any] = {"accbookCode": book, "periodStart": period, "periodEnd": period}
        if statuses:
            body["voucherStatusList"] = list(statuses)
        if src_system:
            body["srcSystemCode"] = src_system
        paginator = PageNumberPaginator(size=VOUCHER_PAGE_SIZE)
        yield from paginator.pages(lambda page: self.request("POST", QUERY_VOUCHERS_PATH, json={**body, "pager": page}))

    def _find(self, external_ref: str, period: str, books: list[str]) -> VoucherStatus | None:
        for book in books:
            for page in self._vouchers(book, period, src_system=self.settings.src_system_code):
                for record in page:
                    if (record.get("header") or {}).get("external_source_data_id") == external_ref:
                        return records.status_from_header(record["header"])
        return None

    @cached_property
    def books(self) -> list[str]:
        """Book codes to search for a voucher: the configured one first, then every book of the tenant."""
        listed = self.request(
            "POST", ACCBOOK_PATH, json={"fields": ["id", "code", "name"], "pageIndex": 1, "pageSize": 1000}
        )
        codes = [str(book["code"]) for book in listed.get("data") or []]
        return list(dict.fromkeys(filter(None, [self.settings.accbook_code, *codes])))
