"""Kingdee 金蝶云星空 (K3Cloud) WebAPI: the ERP chart, GL vouchers and the period's movements.

Connection ``erp_kingdee``: host (schema, port) of the K3Cloud server; the WebAPI lives under the
``path_prefix`` extra (default ``/k3cloud/``; the cloud gateway uses ``/galaxyapi/``), so the host
itself carries no path. login = the integration user, password = the app secret of the
第三方系统登录授权; extras ``acct_id`` (数据中心 id) and ``app_id`` are required, the rest are in
:class:`KingdeeSettings`.

Every call is ``POST {base}/Kingdee.BOS.WebApi.ServicesStub.{Service}.common.kdsvc``. The hook logs
in with ``AuthService.LoginBySign`` (SHA-256 over the ordinal-sorted acctID, user, appId, appSecret
and timestamp; ``LoginResultType`` 1, or -5, is success) and sends the session back as the
``kdservice-sessionid`` cookie and header. K3Cloud answers HTTP 200 to everything it processed:
``Result.ResponseStatus.IsSuccess`` (a boolean, or the text "True"/"true") says whether it worked,
and ``MsgCode`` 1 / "会话信息已丢失，请重新登录" means the session is gone: that raises
:class:`TokenInvalidError`, so the base logs in again and resends. ExecuteBillQuery answers a bare
2-D array in ``FieldKeys`` order, or ``[[{"Result": …}]]`` on error; amounts are JSON numbers and
are read as :class:`~decimal.Decimal`.

[I] choices, configurable: cost centers are departments (``BD_Department``, voucher dimension
``FFLEX5`` 部门) and projects a user-defined dimension (``BD_Project``, ``FF100002``); our business
key travels in the voucher header extension field ``F_ES_ExternalRef`` (an implementer adds it in
BOS; ExecuteBillQuery can filter on it); an expense item's GL account is the extension field
``F_ES_AccountId`` of ``BD_Expense``; ``FModifyDate`` filters every chart; periods are calendar months
(``FYEAR``/``FPERIOD``); the voucher number is ``<凭证字>-<FVOUCHERGROUPNO>`` (e.g. ``记-12``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import http.cookiejar
import time
from collections.abc import Collection, Iterator, Sequence
from decimal import Decimal
from functools import cached_property
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests
from pydantic import Field, field_validator

from expense_sync.erp.model import CHART_KINDS, Balance, ChartKind, ChartRecord, Voucher, VoucherStatus, sum_balances
from expense_sync.hooks.base import HookSettings, VendorHook
from expense_sync.hooks.errors import AuthenticationError, TokenInvalidError, VendorRequestError
from expense_sync.hooks.paginate import OffsetPaginator, PageParams

SERVICE = "Kingdee.BOS.WebApi.ServicesStub.{}.common.kdsvc"
LOGIN = SERVICE.format("AuthService.LoginBySign")
SESSION = "kdservice-sessionid"
SESSION_LOST = "会话信息已丢失"
LOGIN_OK = (1, -5)
VOUCHER_FORM = "GL_VOUCHER"
# FDocumentStatus: Z 暂存, A 创建, B 审核中 (submitted), C 已审核, D 重新审核 (back to editable)
STATES = {"Z": "draft", "A": "draft", "B": "submitted", "C": "audited", "D": "draft"}

FieldKey = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


class KingdeeSettings(HookSettings):
    """Extras of ``erp_kingdee`` (besides the base hook's retry, rate and timeout settings)."""

    acct_id: str = Field(min_length=1)  # 数据中心 (账套) id
    app_id: str = Field(min_length=1)  # 第三方系统登录授权 应用ID
    lcid: int = 2052
    path_prefix: str = "/k3cloud/"
    org_number: str | None = "100"  # use org of the chart (FUseOrgId); None: no org filter
    account_book: str = "001"  # FAccountBookID number when a voucher or a balance names no company
    voucher_group: str = "PRE001"  # 凭证字 FNumber; PRE001 is 记 in the standard preset data
    currencies: dict[str, str] = {"CNY": "PRE001"}  # ISO code -> BD_Currency FNumber
    exchange_rate_type: str = "HLTX01_SYS"  # 固定汇率
    external_ref_field: FieldKey = "F_ES_ExternalRef"
    expense_account_field: FieldKey | None = "F_ES_AccountId"
    cost_center_form: FieldKey = "BD_Department"  # a form with FParentID, FEffectDate, FLapseDate
    cost_center_flex: FieldKey = "FFLEX5"
    project_form: FieldKey = "BD_Project"
    project_flex: FieldKey = "FF100002"
    changed_since: list[ChartKind] = list(CHART_KINDS)  # kinds whose form filters on FModifyDate
    page_size: int = Field(default=2000, ge=1, le=10_000)
    session_ttl: float = Field(default=1800.0, ge=60)  # K3Cloud names no expiry: log in again after this
    timezone: str = "Asia/Shanghai"  # K3Cloud keeps naive server-local times

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value


class RowPaginator(OffsetPaginator):
    """ExecuteBillQuery's ``StartRow``/``Limit``: a bare array of rows and no total.

    The server may cut ``Limit`` silently, so a page shorter than asked is the last one only when it
    is also shorter than the largest page served so far; an empty page always ends the listing.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(offset_param="StartRow", limit_param="Limit", limit=limit, items_path="", total_path=None)

    def first(self) -> PageParams:
        self._largest = 0
        return super().first()

    def advance(self, params: PageParams, body: Any, items: list) -> PageParams | None:
        if not items or len(items) < self._largest:
            return None
        self._largest = len(items)
        return {**params, "StartRow": params["StartRow"] + len(items)}


def is_true(value: Any) -> bool:
    """``IsSuccess`` comes as a boolean or as the text "True"/"true"."""
    return value is True or str(value).strip().lower() == "true"


def response_status(body: Any) -> dict[str, Any] | None:
    """``Result.ResponseStatus`` of an answer, also inside ExecuteBillQuery's ``[[{"Result": …}]]``."""
    if isinstance(body, list) and body and isinstance(body[0], list) and body[0] and isinstance(body[0][0], dict):
        body = body[0][0]
    if isinstance(body, dict) and isinstance(body.get("Result"), dict):
        status = body["Result"].get("ResponseStatus")
        return status if isinstance(status, dict) else None
    return None


def period_parts(period: str) -> tuple[int, int]:
    """``"2025-03"`` → (2025, 3): K3Cloud's FYEAR/FPERIOD on a calendar-month fiscal year."""
    year, _, month = period.partition("-")
    if not (year.isdigit() and month.isdigit() and 1 <= int(month) <= 12):
        raise ValueError(f"period must be YYYY-MM, got {period!r}")
    return int(year), int(month)


def quote(value: str) -> str:
    """A FilterString literal."""
    return "'" + value.replace("'", "''") + "'"


def _text(value: Any) -> str | None:
    return None if value in (None, "", 0) else str(value)


class KingdeeHook(VendorHook):
    """K3Cloud WebAPI, implementing :class:`expense_sync.erp.ledger.ErpLedger`."""

    default_conn_name = "erp_kingdee"
    hook_name = "Kingdee K3Cloud"
    vendor = "kingdee"
    role = "erp"
    quota_qps = 10.0  # requests per second per app; the vendor documents none [I]
    max_voucher_lines = 1000  # lines one voucher may carry (the rollup splits above it)
    default_company = "001"  # the account book FAccountBookID of the bundled sandbox
    default_posting_accounts = {"employee_payable": "2241.01", "clearing": "2241.09"}
    settings_model = KingdeeSettings
    parse_float = Decimal

    settings: KingdeeSettings

    # -- transport --------------------------------------------------------------------------------
    @cached_property
    def session(self) -> requests.Session:
        session = super().session
        # the session id is our token: we send it ourselves, so the cookie jar keeps nothing stale
        session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        return session

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.settings.timezone)

    def url(self, path: str) -> str:
        prefix = self.settings.path_prefix.strip("/")
        return super().url(f"{prefix}/{path}" if prefix else path)

    def call(self, service: str, payload: dict[str, Any], *, idempotent: bool = True) -> Any:
        """POST one service (``DynamicFormService.Save``…) with named arguments; the checked body."""
        return self.request("POST", SERVICE.format(service), json=payload, idempotent=idempotent)

    # -- session ----------------------------------------------------------------------------------
    def fetch_token(self) -> tuple[str, float]:
        conn, settings = self.connection, self.settings
        timestamp = str(int(time.time()))
        parts = [settings.acct_id, conn.login or "", settings.app_id, conn.password or "", timestamp]
        sign = hashlib.sha256("".join(sorted(parts)).encode()).hexdigest()
        args = [settings.acct_id, conn.login, settings.app_id, timestamp, sign, settings.lcid]
        try:
            # positional arguments, as the Java SDK and most clients send LoginBySign
            body = self.request("POST", LOGIN, json={"parameters": args}, authorize=False)
        except (VendorRequestError, TokenInvalidError) as err:
            raise AuthenticationError(err.message, vendor=self.vendor, endpoint=err.endpoint, code=err.code) from None
        body = body if isinstance(body, dict) else {}
        session = body.get("KDSVCSessionId") or (body.get("Context") or {}).get("SessionId")
        if body.get("LoginResultType") not in LOGIN_OK or not session:
            message = body.get("Message") or f"login refused (LoginResultType {body.get('LoginResultType')})"
            raise AuthenticationError(
                message, vendor=self.vendor, endpoint=f"POST {LOGIN}", code=body.get("LoginResultType")
            )
        return session, settings.session_ttl

    def authorize(self, request: dict[str, Any]) -> None:
        session = self.get_token()
        request["headers"] = {**(request.get("headers") or {}), SESSION: session, "Cookie": f"{SESSION}={session}"}

    def check_body(self, response: requests.Response, body: Any, endpoint: str) -> None:
        status = response_status(body)
        if status is None:
            return
        errors = [e for e in status.get("Errors") or [] if isinstance(e, dict)]
        succeeded = is_true(status["IsSuccess"]) if "IsSuccess" in status else not errors
        if succeeded:
            return
        message = "; ".join(
            f"{e['FieldName']}: {e.get('Message')}" if e.get("FieldName") else str(e.get("Message")) for e in errors
        )
        where = {"vendor": self.vendor, "endpoint": endpoint, "status": response.status_code}
        code = status.get("MsgCode")
        if str(code) == "1" or SESSION_LOST in message:
            raise TokenInvalidError(message or "session lost", code=code, **where)
        raise VendorRequestError(message or "K3Cloud refused the call", code=code, **where)

    # -- ExecuteBillQuery -------------------------------------------------------------------------
    def _query_body(self, form_id: str, fields: Sequence[str], filter_string: str, order_string: str) -> dict:
        return {
            "FormId": form_id,
            "FieldKeys": ",".join(fields),
            "FilterString": filter_string,
            "OrderString": order_string,
            "TopRowCount": 0,
            "StartRow": 0,
            "Limit": self.settings.page_size,
            "SubSystemId": "",
        }

    def _rows(self, fields: Sequence[str], rows: Any) -> Iterator[dict[str, Any]]:
        if not isinstance(rows, list):
            raise VendorRequestError(f"ExecuteBillQuery answered {type(rows).__name__}, not rows", vendor=self.vendor)
        for row in rows:
            if not isinstance(row, list) or len(row) != len(fields):
                raise VendorRequestError(
                    f"ExecuteBillQuery row does not match FieldKeys: {row!r}"[:300], vendor=self.vendor
                )
            yield dict(zip(fields, row, strict=True))

    def query(
        self, form_id: str, fields: Sequence[str], filter_string: str = "", order_string: str = ""
    ) -> Iterator[dict[str, Any]]:
        """Every row of an ExecuteBillQuery, page after page, as dicts keyed by field key."""
        body = self._query_body(form_id, fields, filter_string, order_string)

        def fetch(page: PageParams) -> Any:
            return self.call("DynamicFormService.ExecuteBillQuery", {"data": {**body, **page}})

        for rows in RowPaginator(self.settings.page_size).pages(fetch):
            yield from self._rows(fields, rows)

    def query_first(
        self, form_id: str, fields: Sequence[str], filter_string: str, order_string: str = ""
    ) -> dict[str, Any] | None:
        """The first row of a query, in one call (``TopRowCount`` 1)."""
        body = {**self._query_body(form_id, fields, filter_string, order_string), "TopRowCount": 1, "Limit": 1}
        rows = list(self._rows(fields, self.call("DynamicFormService.ExecuteBillQuery", {"data": body})))
        return rows[0] if rows else None

    # -- chart ------------------------------------------------------------------------------------
    def _chart_spec(self, kind: ChartKind) -> tuple[str, list[str]]:
        settings = self.settings
        common = ["FNumber", "FName", "FForbidStatus", "FDocumentStatus", "FModifyDate"]
        if kind == "gl_account":
            return "BD_Account", [*common, "FParentID.FNumber", "FIsDetail", "FGROUPID.FName"]
        if kind == "expense_item":
            link = [f"{settings.expense_account_field}.FNumber"] if settings.expense_account_field else []
            return "BD_Expense", [*common, *link]
        if kind == "cost_center":
            return settings.cost_center_form, [*common, "FParentID.FNumber", "FEffectDate", "FLapseDate"]
        if kind == "project":
            return settings.project_form, common
        raise ValueError(f"unknown chart kind {kind!r}")

    def supports_changed_since(self, kind: ChartKind) -> bool:
        return kind in self.settings.changed_since

    def _local(self, moment: dt.datetime) -> str:
        if moment.tzinfo is not None:
            moment = moment.astimezone(self.tz).replace(tzinfo=None)
        return moment.strftime("%Y-%m-%d %H:%M:%S")

    def _moment(self, value: Any) -> dt.datetime | None:
        return dt.datetime.fromisoformat(value).replace(tzinfo=self.tz) if value else None

    def _day(self, value: Any) -> dt.date | None:
        return dt.datetime.fromisoformat(value).date() if value else None

    def chart(self, kind: ChartKind, since: dt.datetime | None = None) -> Iterator[ChartRecord]:
        """The records of one chart, only those changed since ``since`` where the form supports it
        (a naive ``since`` is taken as the server's local time)."""
        form_id, fields = self._chart_spec(kind)
        org = self.settings.org_number
        conditions = [f"FUseOrgId.FNumber={quote(org)}"] if org else []
        if since is not None and self.supports_changed_since(kind):
            conditions.append(f"FModifyDate>={quote(self._local(since))}")
        for row in self.query(form_id, fields, " AND ".join(conditions), "FNumber ASC"):
            yield self._chart_record(kind, row)

    def _chart_record(self, kind: ChartKind, row: dict[str, Any]) -> ChartRecord:
        common: dict[str, Any] = {
            "kind": kind,
            "code": str(row["FNumber"]),
            "name": str(row["FName"] or ""),
            "active": row["FForbidStatus"] == "A" and row["FDocumentStatus"] == "C",
            "company": self.settings.org_number,
            "updated_at": self._moment(row["FModifyDate"]),
            "raw": row,
        }
        if kind == "gl_account":
            return ChartRecord(
                **common,
                parent_code=_text(row["FParentID.FNumber"]),
                postable=bool(row["FIsDetail"]),
                account_type=_text(row["FGROUPID.FName"]),
            )
        if kind == "expense_item":
            link = self.settings.expense_account_field
            return ChartRecord(**common, gl_account_code=_text(row[f"{link}.FNumber"]) if link else None)
        if kind == "cost_center":
            return ChartRecord(
                **common,
                parent_code=_text(row["FParentID.FNumber"]),
                valid_from=self._day(row["FEffectDate"]),
                valid_to=self._day(row["FLapseDate"]),
            )
        return ChartRecord(**common)

    # -- vouchers ---------------------------------------------------------------------------------
    @property
    def _status_fields(self) -> list[str]:
        return [
            "FVOUCHERID",
            "FBillNo",
            "FVOUCHERGROUPID.FName",
            "FVOUCHERGROUPNO",
            "FDocumentStatus",
            "FYEAR",
            "FPERIOD",
            self.settings.external_ref_field,
        ]

    def _status(self, row: dict[str, Any]) -> VoucherStatus:
        group, number = row.get("FVOUCHERGROUPID.FName"), row.get("FVOUCHERGROUPNO")
        raw_state = str(row.get("FDocumentStatus") or "")
        year, period = row.get("FYEAR"), row.get("FPERIOD")
        return VoucherStatus(
            remote_id=str(row["FVOUCHERID"]),
            number=f"{group}-{number}" if group and number else None,
            state=STATES.get(raw_state, "error"),
            external_ref=_text(row.get(self.settings.external_ref_field)),
            period=f"{int(year)}-{int(period):02d}" if year and period else None,
            raw_state=raw_state or None,
        )

    def voucher_model(self, voucher: Voucher) -> dict[str, Any]:
        """The GL_VOUCHER Save ``Model`` of a voucher (research §4.5)."""
        settings = self.settings
        currency = settings.currencies.get(voucher.currency)
        if currency is None:
            raise VendorRequestError(f"no BD_Currency number configured for {voucher.currency!r}", vendor=self.vendor)
        year, month = period_parts(voucher.period)
        if (voucher.posting_date.year, voucher.posting_date.month) != (year, month):
            raise ValueError(
                f"voucher {voucher.external_ref}: posting date {voucher.posting_date} is not in {voucher.period}"
            )
        entries = []
        for line in voucher.lines:
            detail = {}
            if line.cost_center:
                detail[f"FDETAILID__{settings.cost_center_flex}"] = {"FNumber": line.cost_center}
            if line.project:
                detail[f"FDETAILID__{settings.project_flex}"] = {"FNumber": line.project}
            entries.append(
                {
                    "FEXPLANATION": line.text or voucher.description,
                    "FACCOUNTID": {"FNumber": line.account_code},
                    "FDetailID": detail,
                    "FCURRENCYID": {"FNumber": currency},
                    "FEXCHANGERATETYPE": {"FNumber": settings.exchange_rate_type},
                    "FEXCHANGERATE": "1",
                    "FAMOUNTFOR": str(line.debit or line.credit),
                    "FDEBIT": str(line.debit),
                    "FCREDIT": str(line.credit),
                }
            )
        return {
            "FVOUCHERID": 0,
            "FAccountBookID": {"FNumber": voucher.company or settings.account_book},
            "FDate": voucher.posting_date.isoformat(),
            "FVOUCHERGROUPID": {"FNumber": voucher.voucher_type or settings.voucher_group},
            "FDocumentStatus": "A",
            settings.external_ref_field: voucher.external_ref,
            "FEntity": entries,
        }

    def create_voucher(self, voucher: Voucher) -> VoucherStatus:
        """Save the voucher (created, ``A``); K3Cloud assigns its number in the voucher group at once.

        Not idempotent: a timeout or server error raises :class:`OutcomeUnknownError`, and the caller
        looks the voucher up with :meth:`find_voucher` before trying again.
        """
        fields = self._status_fields
        data = {
            "NeedUpDateFields": [],
            "NeedReturnFields": fields,
            "IsDeleteEntry": "true",
            "IsVerifyBaseDataField": "true",
            "IsAutoSubmitAndAudit": False,
            "Model": self.voucher_model(voucher),
        }
        body = self.call("DynamicFormService.Save", {"formid": VOUCHER_FORM, "data": data}, idempotent=False)
        result = body["Result"]
        saved = ((result.get("ResponseStatus") or {}).get("SuccessEntitys") or [{}])[0]
        returned = (result.get("NeedReturnData") or [{}])[0] or {}
        row = {
            "FYEAR": period_parts(voucher.period)[0],
            "FPERIOD": period_parts(voucher.period)[1],
            "FDocumentStatus": "A",
            self.settings.external_ref_field: voucher.external_ref,
            **returned,
            "FVOUCHERID": result.get("Id") or saved.get("Id"),
        }
        return self._status(row)

    def find_voucher(self, external_ref: str, period: str) -> VoucherStatus | None:
        """The voucher carrying ``external_ref`` in ``period`` (the oldest, should there be two)."""
        year, month = period_parts(period)
        condition = f"{self.settings.external_ref_field}={quote(external_ref)} AND FYEAR={year} AND FPERIOD={month}"
        row = self.query_first(VOUCHER_FORM, self._status_fields, condition, "FVOUCHERID ASC")
        return self._status(row) if row else None

    def voucher_status(self, remote_id: str) -> VoucherStatus:
        if not str(remote_id).isdigit():
            raise VendorRequestError(f"not a K3Cloud voucher id: {remote_id!r}", vendor=self.vendor)
        row = self.query_first(VOUCHER_FORM, self._status_fields, f"FVOUCHERID={remote_id}")
        if row is None:
            raise VendorRequestError(f"voucher {remote_id} does not exist (deleted?)", vendor=self.vendor)
        return self._status(row)

    def _operate(self, operation: str, remote_id: str) -> None:
        data = {"CreateOrgId": 0, "Numbers": [], "Ids": str(remote_id)}
        self.call(f"DynamicFormService.{operation}", {"formid": VOUCHER_FORM, "data": data}, idempotent=False)

    def submit_voucher(self, remote_id: str) -> None:
        """Submit a created voucher (A → B). A retry after an unknown outcome checks the status first."""
        self._operate("Submit", remote_id)

    def audit_voucher(self, remote_id: str) -> None:
        """Audit a submitted voucher (B → C)."""
        self._operate("Audit", remote_id)

    def period_vouchers(self, company: str, period: str, known_refs: Collection[str] = ()) -> list[VoucherStatus]:
        """Every voucher of the book in ``period`` (one ExecuteBillQuery, paged), whatever its state."""
        year, month = period_parts(period)
        book = company or self.settings.account_book
        condition = f"FAccountBookID.FNumber={quote(book)} AND FYEAR={year} AND FPERIOD={month}"
        found: dict[str, VoucherStatus] = {}
        for row in self.query(VOUCHER_FORM, self._status_fields, condition, "FVOUCHERID ASC"):
            status = self._status(row)
            found.setdefault(status.remote_id, status)  # rows may repeat per entry
        return list(found.values())

    # -- balances ---------------------------------------------------------------------------------
    def balances(self, company: str, period: str) -> list[Balance]:
        """The period's debit and credit per account, cost center and project, summed over the entries
        of every voucher of the book in that period (whatever its state: the ledger includes unposted
        vouchers)."""
        settings = self.settings
        book = company or settings.account_book
        year, month = period_parts(period)
        cost_center = f"FDetailID.{settings.cost_center_flex}.FNumber"
        project = f"FDetailID.{settings.project_flex}.FNumber"
        fields = ["FVOUCHERID", "FEntity_FEntryID", "FACCOUNTID.FNumber", "FDEBIT", "FCREDIT", cost_center, project]
        condition = f"FAccountBookID.FNumber={quote(book)} AND FYEAR={year} AND FPERIOD={month}"
        rows = self.query(VOUCHER_FORM, fields, condition, "FVOUCHERID ASC, FEntity_FEntryID ASC")
        return sum_balances(
            book,
            period,
            (
                (
                    str(row["FACCOUNTID.FNumber"]),
                    _text(row[cost_center]),
                    _text(row[project]),
                    Decimal(row["FDEBIT"] or 0),
                    Decimal(row["FCREDIT"] or 0),
                )
                for row in rows
            ),
        )
