"""Kingdee 金蝶云星空 (K3Cloud) WebAPI sandbox: login, ExecuteBillQuery, and the GL voucher operations.

Behaviour follows docs/vendors/research.md §4 and the SDK addendum §9:

* every call is ``POST /k3cloud/{ServiceName}.common.kdsvc`` with a JSON body, either positional
  (``{"parameters": [...]}``, the Java SDK) or named (``{"formid": ..., "data": ...}``, the Python SDK),
  ``data`` as an object or as a JSON string; key case does not matter;
* ``AuthService.LoginBySign`` (``[acctID, userName, appId, timestamp, sign, lcid]``, sign = SHA-256 hex
  of the ordinal-sorted ``[acctID, userName, appId, appSecret, timestamp]``), ``ValidateUser`` and
  ``LoginByAppSecret`` answer ``LoginResultType`` 1 (or the configured -5) and set the session cookie
  ``kdservice-sessionid`` (plus ``ASP.NET_SessionId``), without dates so that the SDK's comma split of
  ``Set-Cookie`` works; later calls bring the session as that cookie or as the ``kdservice-sessionid``
  header. A call signed with the SDK's ``X-Kd-Appkey``/``X-Kd-Appdata``/``X-Kd-Signature`` headers
  needs no login: the signature is checked and a session is handed back;
* **every business answer is HTTP 200**: ``{"Result": {"ResponseStatus": {ErrorCode, IsSuccess, Errors,
  SuccessEntitys, SuccessMessages, MsgCode}, ...}}``; ExecuteBillQuery answers a bare 2-D array, or
  ``[[{"Result": ...}]]`` on error; a lost session is ``MsgCode`` 1 "会话信息已丢失，请重新登录"
  (the core's ``token_expired`` fault and ``/_sandbox/expire-tokens`` end every session);
* ExecuteBillQuery pages with ``StartRow``/``Limit``; ``Limit`` is cut to ``max_limit`` (reset option,
  default 2000) silently.

[I] choices: throttling is the gateway's HTTP 429 with ``Retry-After`` and a JSON message, a server
fault an IIS-style 503 HTML page; a LoginBySign timestamp more than 15 minutes off is refused; the
gateway's ``X-Api-Signature`` is not verified; ``IsSuccess`` is a boolean, or the text "True"/"False"
with the reset option ``is_success_text``. A standard data center but for one customisation: of the extension
fields (``F_`` prefix) only those of the reset option ``extension_fields`` exist (by default
``F_ES_AccountId``, the expense item's GL account link; ``[]``: a standard data center;
``F_ES_ExternalRef`` on GL_VOUCHER: a customised one), and a query naming another is refused
("字段“…”不存在");
``missing_forms`` lists FormIds the data center lacks ("业务对象不存在"). Reset sizes: ``accounts``, ``expense_items``,
``cost_centers``, ``projects``. Control mutations: ``add``/``rename``/``forbid``/``enable`` a chart
record (``form``, ``number``, ``name``, ``parent``, ``account``), ``audit_voucher`` (``id`` or
``external_ref``) as the ERP accountant does it, and ``manual_voucher`` (``company``, ``date``,
``lines`` of ``account``/``debit``/``credit``/``cost_center``/``project``): a voucher an accountant
keys in by hand, without our external ref; ``seed_vouchers`` (``vouchers`` of ``id``, ``number``, ``state``
and a Save ``model``): vouchers held as if saved, submitted and audited one by one, in bulk (the
month-end benchmark's setup). The voucher book is indexed (:mod:`.index`). Suppliers
(``BD_Supplier``) and tax rates (``BD_TaxRate``): :mod:`.masters`; ``add_supplier`` /
``disable_supplier`` / ``enable_supplier`` / ``remove_supplier`` (also
:meth:`KingdeeSandbox.add_supplier`) and the reset option ``invalid_supplier`` seed them.
The budget center (``BM_BudgetBalance``, ``BM_BudgetCenter``, [I]): :mod:`.budget`, seeded by
:mod:`expense_sync_sandboxes.budgetcenter` (``seed_budget`` / ``set_cost_center_holders``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from decimal import Decimal
from typing import Any

import msgspec
from fastapi import Request
from fastapi.responses import Response

from expense_sync_sandboxes import budgetcenter
from expense_sync_sandboxes.core import Sandbox
from expense_sync_sandboxes.kingdee import budget as budget_forms
from expense_sync_sandboxes.kingdee import masters as master_forms
from expense_sync_sandboxes.kingdee.chart import ACCOUNTS, DEPARTMENTS, EXPENSE_ITEMS, PROJECTS, Chart
from expense_sync_sandboxes.kingdee.query import QueryError, execute, page, prepare
from expense_sync_sandboxes.kingdee.vouchers import KingdeeError, VoucherBook, pick
from expense_sync_sandboxes.masters import MasterData, SeedSupplier

ACCT_ID = "65f3a0c2b18e4d"
USER_NAME = "webapi"
USER_PASSWORD = "kd-sandbox-password"
APP_ID = "286140_" + base64.b64encode(b"expense-sync-sandbox-app").decode()
APP_SECRET = "kd-sandbox-app-secret-5e1f0b7c2a"

SERVICE_PREFIX = "Kingdee.BOS.WebApi.ServicesStub."
SESSION = "kdservice-sessionid"
SESSION_LOST = "会话信息已丢失，请重新登录"
TIMESTAMP_SKEW = 900  # seconds
VOUCHER_FORM = "GL_VOUCHER"
# the one customisation of the bundled data center: the expense item's GL account link, which the
# claims flow needs and a standard BD_Expense does not have (the voucher's ref needs none)
EXTENSION_FIELDS = ("F_ES_AccountId",)
OPERATIONS = {"submit": "submit", "audit": "audit", "unaudit": "unaudit", "delete": "delete"}
IIS_503 = (
    '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN"><html><head><title>Service Unavailable</title></head>'
    "<body><h2>Service Unavailable</h2><hr><p>HTTP Error 503. The service is unavailable.</p></body></html>"
)


_ENCODER = msgspec.json.Encoder(decimal_format="number")


def dumps(body: Any) -> bytes:
    """JSON as K3Cloud writes it: compact, UTF-8 with Chinese kept readable, amounts (``Decimal``) as
    exact JSON numbers, never via float."""
    return _ENCODER.encode(body)


def sign_headers(app_id: str, appdata: str, secret: str) -> str:
    """The SDK's ``X-Kd-Signature``: base64 of the hex HMAC-SHA256 of appId + appdata."""
    digest = hmac.new(secret.encode(), (app_id + appdata).encode(), hashlib.sha256).hexdigest()
    return base64.b64encode(digest.encode()).decode()


class KingdeeSandbox(Sandbox):
    vendor = "kingdee"

    def reset(
        self,
        *,
        seed: int = 1,
        accounts: int = len(ACCOUNTS),
        expense_items: int = len(EXPENSE_ITEMS),
        cost_centers: int = len(DEPARTMENTS),
        projects: int = len(PROJECTS),
        max_limit: int = 2000,
        is_success_text: bool = False,
        login_result_type: int = 1,
        extension_fields: list[str] | tuple[str, ...] = EXTENSION_FIELDS,
        missing_forms: list[str] | tuple[str, ...] = (),
        invalid_supplier: bool = False,
        departments: int = 20,  # the OA sandboxes' size: the budget center's holders are their people
        employees: int = 200,
        **_: Any,
    ) -> None:
        super().reset(seed=seed)
        self.chart = Chart(
            seed=seed, accounts=accounts, expense_items=expense_items, cost_centers=cost_centers, projects=projects
        )
        self.max_limit = max_limit
        self.is_success_text = is_success_text
        self.login_result_type = login_result_type
        self.extension_fields = {field.lower() for field in extension_fields}
        self.book = VoucherBook(self.chart, frozenset(self.absent(VoucherBook.FIELDS)))
        self.missing_forms = {form.lower() for form in missing_forms}
        self.masters = MasterData(invalid_supplier=invalid_supplier)
        self.budget = budgetcenter.BudgetCenter(
            seed, budget_forms.cost_centers(self.chart), org=(departments, employees)
        )

    def add_supplier(self, code: str, name: str, credit_code: str | None = None, **kw: Any) -> SeedSupplier:
        """Seed a supplier into ``BD_Supplier`` (tests; the control API's ``add_supplier``)."""
        return self.masters.add_supplier(code, name, credit_code, **kw)

    def mutate(self, op: str, args: dict[str, Any]) -> Any:
        if op in MasterData.OPS:
            return self.masters.mutate(op, args)
        if op in budgetcenter.OPS:
            return self.budget.mutate(op, args)
        if op == "audit_voucher":
            return self.book.audit_as_accountant(args)
        if op == "manual_voucher":
            return self.manual_voucher(args)
        if op == "seed_vouchers":
            return self.book.seed(args["vouchers"])
        changed = self.chart.apply(op, args)
        self.book.index.changed()  # voucher rows show chart records
        return changed

    def manual_voucher(self, args: dict[str, Any]) -> dict[str, Any]:
        """A voucher keyed in the K3Cloud client by an accountant (no external ref), saved as created."""
        entries = []
        for line in args["lines"]:
            detail = {}
            if line.get("cost_center"):
                detail["FDETAILID__FFLEX5"] = {"FNumber": line["cost_center"]}
            if line.get("project"):
                detail["FDETAILID__FF100002"] = {"FNumber": line["project"]}
            entries.append(
                {
                    "FEXPLANATION": line.get("text") or "手工凭证",
                    "FACCOUNTID": {"FNumber": line["account"]},
                    "FDetailID": detail,
                    "FDEBIT": str(line.get("debit") or 0),
                    "FCREDIT": str(line.get("credit") or 0),
                }
            )
        model = {
            "FAccountBookID": {"FNumber": args.get("company") or "001"},
            "FDate": args["date"],
            "FVOUCHERGROUPID": {"FNumber": "PRE001"},
            "FEntity": entries,
        }
        try:
            voucher = self.book.save(model)
        except KingdeeError as err:
            raise ValueError(str(err.errors)) from None
        return {"id": voucher["FVOUCHERID"], "number": voucher["FBillNo"]}

    def dump(self) -> dict[str, Any]:
        return {"vouchers": self.book.dump(), **self.budget.dump()}

    def throttle_response(self, path: str) -> Response:
        body = {"Message": "请求过于频繁，请稍后再试", "ErrorCode": 429}
        return Response(dumps(body), status_code=429, media_type="application/json", headers={"Retry-After": "1"})

    def server_error_response(self, path: str) -> Response:
        return Response(IIS_503, status_code=503, media_type="text/html")

    # -- envelopes --------------------------------------------------------------------------------
    def _flag(self, value: bool) -> bool | str:
        return ("True" if value else "False") if self.is_success_text else value

    def status(self, *, successes: list[dict] = (), errors: list[dict] = (), msg_code: int = 0) -> dict:
        return {
            "ErrorCode": 500 if errors else 0,
            "IsSuccess": self._flag(not errors),
            "Errors": list(errors),
            "SuccessEntitys": list(successes),
            "SuccessMessages": [],
            "MsgCode": msg_code,
        }

    @staticmethod
    def reply(body: Any, session: str | None = None) -> Response:
        response = Response(dumps(body), media_type="application/json; charset=utf-8")
        if session:
            response.headers[SESSION] = session
            response.raw_headers.append((b"set-cookie", f"{SESSION}={session}; path=/".encode()))
            response.raw_headers.append((b"set-cookie", f"ASP.NET_SessionId={session[:24]}; path=/; HttpOnly".encode()))
        return response

    # -- auth -------------------------------------------------------------------------------------
    def login(self, acct: str, user: str, proof_ok: bool, lcid: Any) -> Response:
        if acct != ACCT_ID:
            return self.reply(
                {"LoginResultType": 0, "Message": "数据中心不存在", "Context": None, "KDSVCSessionId": None}
            )
        if user != USER_NAME or not proof_ok:
            return self.reply({"LoginResultType": 0, "Message": "用户名或密码错误，或应用验证失败", "Context": None})
        session, _ = self.tokens.issue()
        context = {
            "UserLocale": "zh-CN",
            "LogLocale": "zh-CN",
            "DBid": ACCT_ID,
            "DatabaseType": 3,
            "SessionId": session,
            "UserId": 100_008,
            "UserName": USER_NAME,
            "CustomName": "示范公司",
            "DisplayVersion": "8.2.880.202407",
            "DataCenterName": "示范公司正式账套",
            "UseLanguages": [{"LocaleId": int(lcid or 2052), "LocaleName": "中文(简体)"}],
            "CurrentOrganizationInfo": {"ID": 1, "AcctOrgType": "1", "Name": "示范公司", "FunctionIds": [101, 102]},
        }
        body = {
            "Message": None,
            "MessageCode": "CheckPasswordPolicy",
            "LoginResultType": self.login_result_type,
            "Context": context,
            "KDSVCSessionId": session,
            "FormId": None,
            "RedirectFormParam": None,
            "FormInputObject": None,
            "ErrorStackTrace": None,
            "Lcid": 0,
            "AccessToken": None,
            "KdAccessResult": None,
            "IsSuccessByAPI": True,
        }
        return self.reply(body, session)

    def login_by_sign(self, acct: str, user: str, app_id: str, timestamp: Any, sign: str, lcid: Any) -> Response:
        try:
            fresh = abs(time.time() - int(timestamp)) <= TIMESTAMP_SKEW
        except (TypeError, ValueError):
            fresh = False
        if not fresh:
            return self.reply({"LoginResultType": 0, "Message": "时间戳无效或已过期", "Context": None})
        expected = hashlib.sha256("".join(sorted([acct, user, app_id, APP_SECRET, str(timestamp)])).encode())
        proof = app_id == APP_ID and hmac.compare_digest(str(sign).lower(), expected.hexdigest())
        return self.login(acct, user, proof, lcid)

    def session_for(self, request: Request) -> str | None:
        """The caller's session after checking it, a new one for a signed call, or a refusal."""
        session = request.headers.get(SESSION) or request.cookies.get(SESSION)
        if request.headers.get("X-Kd-Appkey"):
            self.check_signature(request)
            return None if self.tokens.valid(session) else self.tokens.issue()[0]
        if not self.tokens.valid(session):
            raise KingdeeError(SESSION_LOST, msg_code=1)
        return None

    @staticmethod
    def check_signature(request: Request) -> None:
        headers = request.headers
        app_id = headers.get("X-Kd-Appkey", "")
        try:
            appdata = base64.b64decode(headers.get("X-Kd-Appdata", "")).decode()
        except ValueError:
            appdata = ""
        parts = appdata.split(",")
        valid = (
            app_id == APP_ID
            and len(parts) == 4
            and parts[:2] == [ACCT_ID, USER_NAME]
            and hmac.compare_digest(headers.get("X-Kd-Signature", ""), sign_headers(app_id, appdata, APP_SECRET))
        )
        if not valid:
            raise KingdeeError("第三方系统登录授权验证失败：应用ID、账套或签名不正确", msg_code=0)

    # -- services ---------------------------------------------------------------------------------
    def dynamic_form(self, op: str, args: dict[str, Any]) -> Any:
        formid, data = args.get("formid"), args.get("data")
        if isinstance(data, str):
            data = json.loads(data, parse_float=Decimal) if data.strip() else {}
        if not isinstance(data, dict):
            raise KingdeeError("参数 data 格式错误", msg_code=0)
        if op == "executebillquery":
            return self.query(data)
        if str(formid or "").upper() != VOUCHER_FORM:
            known = self.chart.rows(str(formid or "")) is not None
            raise KingdeeError("该业务对象不支持此操作" if known else "业务对象不存在", msg_code=0)
        if op == "save":
            auto = str(pick(data, "IsAutoSubmitAndAudit", "false")).lower() == "true"
            voucher = self.book.save(pick(data, "Model") or {}, auto_audit=auto)
            entity = {"Id": voucher["FVOUCHERID"], "Number": voucher["FBillNo"], "DIndex": 0}
            wanted = [str(k) for k in pick(data, "NeedReturnFields") or []]
            return {
                "Result": {
                    "ResponseStatus": self.status(successes=[entity]),
                    "Id": voucher["FVOUCHERID"],
                    "Number": voucher["FBillNo"],
                    "NeedReturnData": [self.book.returned(voucher, wanted)],
                }
            }
        if op == "view":
            return {"Result": {"ResponseStatus": None, "Result": self.book.view(data)}}
        if op in OPERATIONS:
            done, errors = self.book.operate(OPERATIONS[op], data)
            entities = [{"Id": v["FVOUCHERID"], "Number": v["FBillNo"], "DIndex": i} for i, v in enumerate(done)]
            return {"Result": {"ResponseStatus": self.status(successes=entities, errors=errors)}}
        raise KingdeeError(f"不支持的操作：{op}", msg_code=0)

    def query(self, data: dict[str, Any]) -> list[list[Any]]:
        form = str(pick(data, "FormId") or "")
        query = {key: pick(data, key) for key in ("FieldKeys", "FilterString", "OrderString", "TopRowCount")}
        query.update(StartRow=pick(data, "StartRow"), Limit=pick(data, "Limit"))
        if form.upper() == VOUCHER_FORM:  # through the book's indexes
            try:
                keys, start, limit, top = prepare(self.book.fields(), query, self.max_limit)
                return page(self.book.select(query, top), keys, start, limit)
            except QueryError as err:
                raise KingdeeError(str(err), msg_code=0) from None
        budget = budget_forms.rows(self.budget, self.chart, self.book, form)
        if budget and form.lower() not in self.missing_forms:
            rows, fields = budget
        else:
            master = master_forms.rows(self.masters, form)
            rows = None if form.lower() in self.missing_forms else master[0] if master else self.chart.rows(form)
            if rows is None:
                raise KingdeeError("业务对象不存在", msg_code=0)
            fields = master[1] if master else self.chart.fields(form)
        absent = self.absent(fields)
        if absent:  # extension fields this data center was not customised with do not exist
            fields = [f for f in fields if f not in absent]
            rows = [{k: v for k, v in row.items() if k not in absent} for row in rows]
        try:
            return execute(rows, fields, query, self.max_limit)
        except QueryError as err:
            raise KingdeeError(str(err), msg_code=0) from None

    def absent(self, fields: Any) -> set[str]:
        """The extension fields (``F_`` prefix) among ``fields`` this data center was not customised with."""
        return {f for f in fields if f.upper().startswith("F_") and f.lower() not in self.extension_fields}

    def routes(self) -> None:
        @self.app.post("/k3cloud/{service}.common.kdsvc")
        async def service(service: str, request: Request) -> Response:
            name = service.removeprefix(SERVICE_PREFIX)
            area, _, op = name.rpartition(".")
            op = op.lower()
            try:
                body = json.loads(await request.body() or b"{}", parse_float=Decimal)
            except ValueError:
                body = None
            if area == "AuthService":
                return self.auth(op, body if isinstance(body, dict) else {})
            session = None
            try:
                if not isinstance(body, dict):
                    raise KingdeeError("请求参数格式错误，应为 JSON 对象", msg_code=0)
                if area != "DynamicFormService":
                    raise KingdeeError(f"服务“{name}”不存在", msg_code=0)
                session = self.session_for(request)
                result = self.dynamic_form(
                    op, arguments(body, ["formid", "data"] if op != "executebillquery" else ["data"])
                )
            except KingdeeError as err:
                failure = err
            except ValueError as err:  # a malformed value in the client's JSON
                failure = KingdeeError(str(err), msg_code=0)
            else:
                return self.reply(result, session)
            answer = {"Result": {"ResponseStatus": self.status(errors=failure.errors, msg_code=failure.msg_code)}}
            return self.reply([[answer]] if op == "executebillquery" else answer, session)

    def auth(self, op: str, body: dict[str, Any]) -> Response:
        if op == "loginbysign":
            a = arguments(body, ["acctid", "username", "appid", "timestamp", "sign", "lcid"])
            return self.login_by_sign(
                *(str(a.get(k) or "") for k in ("acctid", "username", "appid")),
                a.get("timestamp"),
                str(a.get("sign") or ""),
                a.get("lcid"),
            )
        if op == "validateuser":
            a = arguments(body, ["acctid", "username", "password", "lcid"])
            return self.login(
                str(a.get("acctid")), str(a.get("username")), a.get("password") == USER_PASSWORD, a.get("lcid")
            )
        if op == "loginbyappsecret":
            a = arguments(body, ["acctid", "username", "appid", "appsecret", "lcid"])
            proof = a.get("appid") == APP_ID and a.get("appsecret") == APP_SECRET
            return self.login(str(a.get("acctid")), str(a.get("username")), proof, a.get("lcid"))
        return self.reply({"LoginResultType": 0, "Message": f"服务“AuthService.{op}”不存在", "Context": None})


def arguments(body: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """A service's arguments by (lower-case) name, from ``{"parameters": [...]}`` or from named members."""
    positional = pick(body, "parameters")
    if isinstance(positional, list):
        return dict(zip(names, positional, strict=False))
    return {name: pick(body, name) for name in names}


__all__ = ["ACCT_ID", "APP_ID", "APP_SECRET", "USER_NAME", "KingdeeSandbox"]
