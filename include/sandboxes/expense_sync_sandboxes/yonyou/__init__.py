"""用友 Yonyou sandbox: the YonBIP / YonSuite open platform, and NC Cloud's OpenAPI beside it.

One server plays every host a client meets (docs/vendors/research.md §5.1, §8 item 5):

* **data-centre discovery** (``apigateway.yonyoucloud.com``): ``GET /open-auth/dataCenter/
  getGatewayAddress?tenantId=`` → ``{"code": "00000", "message": "成功！", "data": {"gatewayUrl",
  "tokenUrl"}}`` pointing back at this server (``…/iuap-api-gateway``, ``…/iuap-api-auth``);
  an unknown tenant → HTTP 200 ``{"code": "500", "message": "根据租户id获取网关地址出现异常"}`` [V];
* **token** (``{tokenUrl}``): ``GET /open-auth/selfAppAuth/base/v1/getAccessToken?appKey&timestamp
  &signature`` (and the old ``/open-auth/selfAppAuth/getAccessToken``) [V]. The signature is
  checked: Base64(HMAC-SHA256("appKey" + appKey + "timestamp" + timestamp, appSecret)), URL-encoded
  once on the wire; the timestamp is in milliseconds and must be within 5 minutes [I]. Answer
  ``{"code": "00000", "message": "成功！", "data": {"access_token", "expire": 7200}}``, or nested in
  ``data.data`` with the reset option ``token_shape="nested"`` [V]. Unknown appKey → ``"10018"``
  应用不存在或appKey已停用 [V]; a bad or stale signature → ``"10016"`` [I: code not documented];
* **gateway** (``{gatewayUrl}``, with or without the ``/iuap-api-gateway`` prefix): JSON bodies,
  ``access_token`` in the query string, optional ``tenantId``. The gateway checks the path first
  (unknown → HTTP 404 ``{"code": "310404", "message": "网关上没有注册此API[…]，请确认后重新调用"}``),
  then the token, all with HTTP 200 [V]: none → ``"310001"`` access_token不能为空。; unknown or
  expired → ``"310036"`` 非法token — as the bare ``text/plain`` body ``非法token`` on the
  ``fipub/basedoc/querybd`` archive queries [V for accperiod, I for the others]; a revoked API
  (control op ``revoke_api``) → ``"310037"`` API未被授权; another tenant's ``tenantId`` →
  ``"310005"`` 应用不存在 [I: meaning of 310005 in this case].
* **throttling** is a research gap [I]: HTTP 429 (reset option ``throttle_status`` may make it 200)
  with ``{"code": "310050", "message": "API调用频率超过限制，请稍后重试"}`` and no Retry-After;
  server faults are HTTP 500 ``{"code": "999", "message": "系统繁忙，请稍后重试"}`` [I].

The chart lives in :mod:`.chart`, vouchers and reports in :mod:`.ledger` / :mod:`.vouchers`, NC
Cloud in :mod:`.ncc`. Reset options beyond sizes and wire variants: ``chart_shape`` (``bare`` |
``paged``: how the expense-item, cost-centre and project reads list their records) and
``cost_center_aux_code`` / ``project_aux_code`` (the tenant's auxiliary accounting type codes,
listed by ``querybd/multidimext``; default 0010 / 0006). Control mutations (``POST /_sandbox/mutate``): ``add_record``,
``rename_record``, ``disable_record``, ``enable_record`` (kind ``accsubject`` | ``expenseitem`` |
``costcenter`` | ``project``), ``audit_voucher``, ``unaudit_voucher``, ``post_voucher``,
``void_voucher``, ``error_voucher``, ``manual_voucher`` (company, date, lines: keyed in by hand, no
business id) as the ERP's accountant would, ``revoke_api``, ``grant_api``.
Suppliers and tax rates: :mod:`.masters`, seeded by ``add_supplier`` / ``disable_supplier`` /
``enable_supplier`` / ``remove_supplier`` and the reset option ``invalid_supplier``.
The budget center ([I] paths): :mod:`.budget`, seeded by :mod:`expense_sync_sandboxes.budgetcenter`
(``seed_budget`` / ``set_cost_center_holders``).
``dump()`` shows the vouchers (amounts as strings).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from decimal import Decimal
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from expense_sync_sandboxes import budgetcenter
from expense_sync_sandboxes.core import Sandbox, VendorHTTPError
from expense_sync_sandboxes.masters import MasterData, SeedSupplier
from expense_sync_sandboxes.yonyou import budget, chart, ledger, masters, ncc, vouchers, wire

APP_KEY, APP_SECRET = "a1b2c3d4e5f60718293a4b5c6d7e8f90", "yonbip-sandbox-app-secret"
TENANT_ID = "sbxt0001"
TOKEN_PREFIX = "bip-"
SIGNATURE_CODE = "10016"
TIMESTAMP_SKEW_MS = 300_000
GATEWAY_PREFIX, AUTH_PREFIX = "/iuap-api-gateway", "/iuap-api-auth"
TOKEN_PATHS = ("/open-auth/selfAppAuth/base/v1/getAccessToken", "/open-auth/selfAppAuth/getAccessToken")
THROTTLE_BODY = {"code": "310050", "message": "API调用频率超过限制，请稍后重试"}
# What a connection to this sandbox needs besides host and credentials (cluster.CONNECTION_EXTRAS).
DEMO_EXTRAS = {"tenant_id": TENANT_ID, "accbook_code": "0001", "maker_mobile": ledger.USERS[0]["mobile"]}


def _plain_json(node: Any) -> Any:
    if isinstance(node, Decimal):
        return str(node)
    if isinstance(node, dict):
        return {k: _plain_json(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain_json(v) for v in node]
    return node


class YonyouSandbox(Sandbox):
    vendor = "yonyou"
    control_ops = (
        "add_record",
        "rename_record",
        "disable_record",
        "enable_record",
        "audit_voucher",
        "unaudit_voucher",
        "post_voucher",
        "void_voucher",
        "error_voucher",
        "manual_voucher",
        "revoke_api",
        "grant_api",
        *MasterData.OPS,
        *budgetcenter.OPS,
    )
    gateway_prefix = GATEWAY_PREFIX

    def reset(
        self,
        *,
        seed: int = 1,
        accounts: int = len(chart.ACCOUNTS),
        expense_items: int = len(chart.EXPENSE_ITEMS),
        cost_centers: int = 40,
        projects: int = 30,
        token_shape: str = "flat",
        duplicate_answer: str = "error",
        throttle_status: int = 429,
        ncc_version: str = "2005",
        token_ttl: float = 7200.0,
        chart_shape: str = "bare",
        cost_center_aux_code: str = "0010",
        project_aux_code: str = "0006",
        invalid_supplier: bool = False,
        departments: int = 20,  # the OA sandboxes' size: the budget center's holders are their people
        employees: int = 200,
        **_: Any,
    ) -> None:
        super().reset(seed=seed)
        if token_shape not in ("flat", "nested") or duplicate_answer not in ("error", "existing"):
            raise ValueError("token_shape is flat|nested, duplicate_answer is error|existing")
        if ncc_version not in ("2005", "legacy"):
            raise ValueError("ncc_version is 2005|legacy")
        if chart_shape not in chart.SHAPES:
            raise ValueError(f"chart_shape is {'|'.join(chart.SHAPES)}")
        self.chart_shape = chart_shape
        self.token_shape, self.duplicate_answer = token_shape, duplicate_answer
        self.throttle_status, self.ncc_version = throttle_status, ncc_version
        self.tokens.ttl = token_ttl
        self.chart = chart.Chart(seed, accounts, expense_items, cost_centers, projects)
        self.books = chart.AccountingBooks()
        self.ledger = ledger.Ledger(self.chart, self.books, ledger.aux_types(cost_center_aux_code, project_aux_code))
        self.revoked: set[str] = set()
        self.masters = MasterData(invalid_supplier=invalid_supplier)
        self.budget = budgetcenter.BudgetCenter(seed, budget.cost_centers(self.chart), org=(departments, employees))

    def add_supplier(self, code: str, name: str, credit_code: str | None = None, **kw: Any) -> SeedSupplier:
        """Seed a supplier into the vendor archive (tests; the control API's ``add_supplier``)."""
        return self.masters.add_supplier(code, name, credit_code, **kw)

    # -- how this vendor fails --------------------------------------------------------------------
    def throttle_response(self, path: str) -> Response:
        return wire.respond(THROTTLE_BODY, status=self.throttle_status)

    def server_error_response(self, path: str) -> Response:
        return wire.respond({"code": "999", "message": "系统繁忙，请稍后重试"}, status=500)

    # -- control ----------------------------------------------------------------------------------
    def manual_voucher(self, company: str, date: str, lines: list[dict[str, Any]]) -> dict[str, Any]:
        """A voucher an accountant keys in the YonBIP client (no business id), saved (``01``)."""
        body = {
            "bodies": [
                {
                    "description": line.get("text") or "手工凭证",
                    "accsubjectCode": line["account"],
                    "currencyCode": "CNY",
                    "busidate": date,
                    **({"debitOriginal": str(line["debit"])} if line.get("debit") else {}),
                    **({"creditOriginal": str(line["credit"])} if line.get("credit") else {}),
                    **({"debitOrg": str(line["debit"])} if line.get("debit") else {}),
                    **({"creditOrg": str(line["credit"])} if line.get("credit") else {}),
                    "clientAuxiliaryList": [
                        {"filedCode": code, "valueCode": line[key]}
                        for code, key in zip(self.ledger.aux_types, ("cost_center", "project"), strict=False)
                        if line.get(key)
                    ],
                }
                for line in lines
            ]
        }
        try:
            voucher = self.ledger.create(
                accbook_code=company,
                voucher_type="1",
                period=date[:7],
                maker=ledger.user(code=ledger.USERS[0]["code"]),
                make_time=date,
                description="手工凭证",
                lines=vouchers._lines(body),
            )
        except (ledger.LedgerError, VendorHTTPError) as err:
            raise ValueError(str(err)) from None
        return {"id": voucher["id"], "number": voucher["bill_code"]}

    def mutate(self, op: str, args: dict[str, Any]) -> Any:
        if op in MasterData.OPS:
            return self.masters.mutate(op, args)
        if op in budgetcenter.OPS:
            return self.budget.mutate(op, args)
        chart_, book = self.chart, self.ledger
        ops = {
            "add_record": chart_.add_record,
            "rename_record": chart_.rename_record,
            "disable_record": lambda kind, code: chart_.set_enabled(kind, code, False),
            "enable_record": lambda kind, code: chart_.set_enabled(kind, code, True),
            "audit_voucher": book.audit,
            "unaudit_voucher": book.unaudit,
            "post_voucher": book.post,
            "void_voucher": book.void,
            "manual_voucher": self.manual_voucher,
            "error_voucher": book.mark_error,
            "revoke_api": lambda path: self.revoked.add(path),
            "grant_api": lambda path: self.revoked.discard(path),
        }
        if op not in ops:
            raise ValueError(f"unknown mutation {op!r}; known: {', '.join(sorted(ops))}")
        return _plain_json(ops[op](**args))

    def dump(self) -> dict[str, Any]:
        return {
            "tenantId": TENANT_ID,
            "vouchers": _plain_json(list(self.ledger.vouchers.values())),
            "chart": {kind: len(records) for kind, records in self.chart.records.items()},
            "revoked": sorted(self.revoked),
            **self.budget.dump(),
        }

    # -- the gateway ------------------------------------------------------------------------------
    def authorize(self, request: Request, path: str) -> None:
        """The gateway's token and grant checks, in its order, as HTTP 200 errors."""
        query = request.query_params
        token = query.get("access_token")
        if not token:
            raise VendorHTTPError(wire.respond({"code": "310001", "message": "access_token不能为空。"}))
        if not token.startswith(TOKEN_PREFIX) or not self.tokens.valid(token):
            if "/fipub/basedoc/querybd/" in path:
                raise VendorHTTPError(wire.plain("非法token"))
            raise VendorHTTPError(wire.respond({"code": "310036", "message": "非法token"}))
        if query.get("tenantId") not in (None, TENANT_ID):
            raise VendorHTTPError(wire.respond({"code": "310005", "message": "应用不存在"}))
        if path in self.revoked:
            raise VendorHTTPError(wire.respond({"code": "310037", "message": "API未被授权"}))

    def gateway(self, path: str):
        """Register a gateway API (POST) at ``path`` and under ``/iuap-api-gateway``, behind the checks."""

        def register(handler):
            async def guarded(request: Request) -> Response:
                self.authorize(request, path)
                return await handler(request)

            for prefix in ("", GATEWAY_PREFIX):
                self.app.add_api_route(prefix + path, guarded, methods=["POST"])
            return handler

        return register

    def routes(self) -> None:
        app = self.app

        @app.get("/open-auth/dataCenter/getGatewayAddress")
        async def gateway_address(request: Request) -> Response:
            if request.query_params.get("tenantId") != TENANT_ID:
                return wire.respond({"code": "500", "message": "根据租户id获取网关地址出现异常"})
            base = str(request.base_url).rstrip("/")
            return wire.respond(
                {
                    "code": "00000",
                    "message": "成功！",
                    "data": {"gatewayUrl": base + GATEWAY_PREFIX, "tokenUrl": base + AUTH_PREFIX},
                }
            )

        async def access_token(request: Request) -> Response:
            query = request.query_params
            if query.get("appKey") != APP_KEY:
                return wire.respond({"code": "10018", "message": "应用不存在或appKey已停用"})
            stamp, signature = query.get("timestamp", ""), query.get("signature", "")
            if not stamp.isdigit() or abs(int(stamp) - time.time() * 1000) > TIMESTAMP_SKEW_MS:
                return wire.respond({"code": SIGNATURE_CODE, "message": "timestamp无效或已过期"})
            digest = hmac.new(APP_SECRET.encode(), f"appKey{APP_KEY}timestamp{stamp}".encode(), hashlib.sha256)
            if not hmac.compare_digest(signature, base64.b64encode(digest.digest()).decode()):
                return wire.respond({"code": SIGNATURE_CODE, "message": "签名校验失败"})
            token, ttl = self.tokens.issue(TOKEN_PREFIX)
            data = {"access_token": token, "expire": int(ttl)}
            return wire.respond(
                {
                    "code": "00000",
                    "message": "成功！",
                    "data": {"data": data} if self.token_shape == "nested" else data,
                }
            )

        for prefix in ("", AUTH_PREFIX, GATEWAY_PREFIX):
            for path in TOKEN_PATHS:
                app.add_api_route(prefix + path, access_token, methods=["GET"])

        chart.add_routes(self)
        masters.add_routes(self)
        budget.add_routes(self)
        vouchers.add_routes(self)
        ncc.add_routes(self)

        @app.exception_handler(StarletteHTTPException)
        async def unregistered(request: Request, exc: StarletteHTTPException) -> Response:
            if exc.status_code not in (404, 405):
                return Response(status_code=exc.status_code)
            path = request.url.path.removeprefix(GATEWAY_PREFIX)
            return wire.respond(
                {"code": "310404", "message": f"网关上没有注册此API[{path}]，请确认后重新调用"}, status=404
            )
