"""SAP S/4HANA sandbox: OData v2 master data and journal items, SOAP journal-entry posting.

Behaviour follows docs/vendors/research.md §6 and the ``pyodata`` facts of §9 (``pyodata`` works against it with
only the service URL changed):

* **OData v2** under ``/sap/opu/odata/sap/<SERVICE>/``: ``API_GLACCOUNTINCHARTOFACCOUNTS_SRV``,
  ``API_COSTCENTER_SRV``, ``API_JOURNALENTRYITEMBASIC_SRV`` and ``API_ENTERPRISE_PROJECT_SRV;v=0002``
  [I], each with ``$metadata`` (EDMX XML) and the query options of :mod:`.odata` — JSON only
  (``Accept: application/json`` or ``$format=json``; anything else is a 406 [I]);
* **server-driven paging**: at most ``page_cap`` rows per response (reset option, default 1000 [I]),
  the rest through a same-origin ``__next`` with ``$skiptoken``;
* **auth**: HTTP Basic with the communication user, or ``Authorization: Bearer`` from the OAuth 2.0
  client-credentials endpoint ``POST /sap/bc/sec/oauth2/token``; a wrong ``sap-client`` (header or
  query) or bad credentials are a 401 with an HTML logon page [I];
* **CSRF** (OData only): ``GET``/``HEAD`` with ``x-csrf-token: Fetch`` opens a server session
  (cookie ``SAP_SESSIONID_SBX_100``) and returns its token; an OData write (``POST``, ``PUT``,
  ``PATCH``, ``MERGE``, ``DELETE``, ``$batch``) without that cookie and token is a 403 with
  ``x-csrf-token: Required`` and "CSRF token validation failed", checked before anything else. With
  a valid token the sets answer 405: every entity set served is read-only (``sap:creatable="false"``
  …) [I: the exact status]. Sessions end with the mutation ``expire_csrf``,
  ``POST /_sandbox/expire-tokens`` and the ``token_expired`` fault;
* **SOAP** ``POST /sap/bc/srt/scs_ext/sap/journalentrycreaterequestconfi`` (:mod:`.soap`), posted
  synchronously by :mod:`.journal`; the web service runtime takes no CSRF token (the communication
  user's credentials protect it: docs/vendors/sap.md);
* **a service the system lacks** (the reset option ``missing_services``, e.g.
  ``["API_ENTERPRISE_PROJECT_SRV;v=0002"]``, or any name not served) answers as SAP Gateway does
  for a service not activated: 403 with the error ``/IWFND/MED/170`` "No service found for
  namespace …" [I: observed answers, docs/vendors/sap.md];
* throttling answers 429 (or 503 with the reset option ``throttle_status``) with ``Retry-After``;
  server faults answer the Gateway error body (OData) or a ``Server`` SOAP fault.

Reset options: ``seed``, ``gl_accounts``, ``cost_centers``, ``projects``, ``page_cap``,
``missing_services``, ``throttle_status``, ``invalid_supplier``. Mutations: those of :class:`.chart.Chart`,
plus ``expire_csrf``, ``close_period`` (company, ``YYYY-MM``), ``manual_voucher`` (company, date, lines:
an entry an accountant posts by hand, no reference id) and the supplier ops of :mod:`.masters`
(``add_supplier``, ``disable_supplier``, ``enable_supplier``, ``remove_supplier``).
The budget center (plan data in ``API_FINPLANNINGENTRYITEM_SRV``, owners as ``CostCtrResponsibleUser``):
:mod:`.budget`, seeded by :mod:`expense_sync_sandboxes.budgetcenter` (``seed_budget`` /
``set_cost_center_holders``).
``GET /_sandbox/state`` dumps the posted journal entries.
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
import time
from decimal import Decimal
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from expense_sync_sandboxes import budgetcenter
from expense_sync_sandboxes.core import Sandbox, TokenStore, VendorHTTPError, json_response
from expense_sync_sandboxes.masters import MasterData, SeedSupplier
from expense_sync_sandboxes.sap import budget as budget_sets
from expense_sync_sandboxes.sap import masters as master_sets
from expense_sync_sandboxes.sap import odata, soap
from expense_sync_sandboxes.sap.chart import Chart
from expense_sync_sandboxes.sap.journal import Entry, EntryItem, Journal, Refused
from expense_sync_sandboxes.sap.services import SERVICES

USER, PASSWORD = "EXPENSE_SYNC_COMM", "sap-sandbox-password"
SAP_CLIENT = "100"
SESSION_COOKIE = f"SAP_SESSIONID_SBX_{SAP_CLIENT}"
ODATA_ROOT = "/sap/opu/odata/sap"
TOKEN_PATH = "/sap/bc/sec/oauth2/token"
WRITE_METHODS = ("POST", "PUT", "PATCH", "MERGE", "DELETE")
LOGON_PAGE = (
    "<html><head><title>Logon Error Message</title></head><body><p>Logon failed</p>"
    "<p>Server SBX_sandbox_SBX_00, client " + SAP_CLIENT + "</p></body></html>"
)


class CsrfSessions:
    """Server sessions, each with the CSRF token bound to it."""

    def __init__(self) -> None:
        self.tokens: dict[str, str] = {}

    def fetch(self, session_id: str | None) -> tuple[str, str]:
        """The session (kept when still alive, else a new one) and its token."""
        if session_id not in self.tokens:
            session_id = secrets.token_hex(16).upper()
            self.tokens[session_id] = base64.urlsafe_b64encode(secrets.token_bytes(18)).decode()
        return session_id, self.tokens[session_id]

    def valid(self, session_id: str | None, token: str | None) -> bool:
        return bool(token) and self.tokens.get(session_id or "") == token

    def expire_all(self) -> None:
        self.tokens.clear()


class SessionTokenStore(TokenStore):
    """OAuth tokens; expiring them ends the CSRF sessions too (control API, ``token_expired`` fault)."""

    def __init__(self, ttl: float, sessions: CsrfSessions) -> None:
        super().__init__(ttl)
        self.sessions = sessions

    def expire_all(self) -> None:
        super().expire_all()
        self.sessions.expire_all()


class SapSandbox(Sandbox):
    vendor = "sap"
    token_ttl = 3600.0
    control_ops = (
        *Chart.MUTATIONS,
        "expire_csrf",
        "close_period",
        "manual_voucher",
        *MasterData.OPS,
        *budgetcenter.OPS,
    )

    def __init__(self, **options: Any) -> None:
        self.sessions = CsrfSessions()
        super().__init__(**options)
        self.tokens = SessionTokenStore(self.token_ttl, self.sessions)

    def reset(
        self,
        *,
        seed: int = 1,
        gl_accounts: int = 40,
        cost_centers: int = 20,
        projects: int = 6,
        page_cap: int = 1000,
        missing_services: list[str] | tuple[str, ...] = (),
        throttle_status: int = 429,
        invalid_supplier: bool = False,
        departments: int = 20,  # the OA sandboxes' size: the budget center's holders are their people
        employees: int = 200,
        **_: Any,
    ) -> None:
        super().reset(seed=seed)
        self._nav_index: dict[tuple, dict] = {}
        self.chart = Chart(seed=seed, gl_accounts=gl_accounts, cost_centers=cost_centers, projects=projects)
        self.journal = Journal(self.chart)
        self.page_cap = max(1, int(page_cap))
        unknown = set(missing_services) - set(SERVICES)
        if unknown:
            raise ValueError(f"unknown services {sorted(unknown)}; served: {sorted(SERVICES)}")
        self.missing_services = frozenset(missing_services)
        self.throttle_status = int(throttle_status)
        self.sessions.expire_all()
        self.masters = MasterData(invalid_supplier=invalid_supplier)
        self.budget = budgetcenter.BudgetCenter(
            seed, budget_sets.cost_centers(self.chart), org=(departments, employees)
        )
        budget_sets.apply_holders(self.chart, self.budget)

    def add_supplier(self, code: str, name: str, credit_code: str | None = None, **kw: Any) -> SeedSupplier:
        """Seed a supplier into ``A_Supplier`` (tests; the control API's ``add_supplier``)."""
        return self.masters.add_supplier(code, name, credit_code, **kw)

    # -- vendor answers -----------------------------------------------------------------------------
    def throttle_response(self, path: str) -> Response:
        text = "Too Many Requests" if self.throttle_status == 429 else "Service Unavailable"
        return Response(text, status_code=self.throttle_status, media_type="text/plain", headers={"Retry-After": "1"})

    def server_error_response(self, path: str) -> Response:
        if path.startswith("/sap/bc/srt/"):
            return soap.fault("Internal server error in the web service runtime", code="Server")
        return odata.error(
            500, "/IWFND/CM_BEC/026", "Exception raised without specific error", _service_name(path)
        ).response

    def mutate(self, op: str, args: dict[str, Any]) -> Any:
        self._nav_index = {}
        if op in MasterData.OPS:
            return self.masters.mutate(op, args)
        if op in budgetcenter.OPS:
            done = self.budget.mutate(op, args)
            budget_sets.apply_holders(self.chart, self.budget)
            return done
        if op == "expire_csrf":
            self.sessions.expire_all()
            return {"sessions": 0}
        if op == "close_period":
            return self.journal.close_period(str(args["company"]), str(args["period"]))
        if op == "manual_voucher":
            return self.manual_voucher(**args)
        if op not in Chart.MUTATIONS:
            raise ValueError(f"unknown mutation {op!r}; known: {', '.join(sorted(self.control_ops))}")
        try:
            row = getattr(self.chart, op)(**args)
        except TypeError as err:  # wrong or missing arguments: a 400 from the control API
            raise ValueError(str(err)) from None
        return odata.render(*_mutation_target(op), row, "/")

    def manual_voucher(self, company: str, date: str, lines: list[dict[str, Any]]) -> dict[str, Any]:
        """A journal entry an accountant posts in the SAP GUI (FB50, no reference id)."""
        day = dt.date.fromisoformat(date)
        items = [
            EntryItem(
                gl_account=line["account"],
                amount=Decimal(str(line.get("debit") or 0)) - Decimal(str(line.get("credit") or 0)),
                currency="CNY",
                text=line.get("text") or "manual entry",
                cost_center=line.get("cost_center"),
                wbs_element=line.get("project"),
            )
            for line in lines
        ]
        entry = Entry("FB50", company, "SA", day, day, "ACCOUNTANT", header_text="manual entry", items=items)
        try:
            document, year, _ = self.journal.post(entry)
        except Refused as refused:
            raise ValueError(str(refused)) from None
        return {"document": document, "year": year}

    def dump(self) -> dict[str, Any]:
        return {
            "journal_entries": self.journal.entries,
            "closed_periods": sorted(f"{c}/{p}" for c, p in self.journal.closed),
            "csrf_sessions": len(self.sessions.tokens),
            **self.budget.dump(),
        }

    # -- auth and CSRF ------------------------------------------------------------------------------
    def authed(self, request: Request) -> None:
        client = request.headers.get("sap-client") or request.query_params.get("sap-client")
        header = request.headers.get("authorization", "")
        scheme, _, credential = header.partition(" ")
        ok = False
        if client in (None, SAP_CLIENT):
            if scheme.lower() == "basic":
                try:
                    user, _, password = base64.b64decode(credential).decode().partition(":")
                except ValueError:
                    user = password = ""
                ok = user.upper() == USER and password == PASSWORD
            elif scheme.lower() == "bearer":
                ok = self.tokens.valid(credential)
        if not ok:
            self.stats["auth_refused"] += 1
            challenge = (
                'Bearer error="invalid_token"'
                if scheme.lower() == "bearer"
                else f'Basic realm="SAP NetWeaver Application Server [SBX/{SAP_CLIENT}]"'
            )
            raise VendorHTTPError(
                Response(
                    LOGON_PAGE,
                    status_code=401,
                    media_type="text/html; charset=utf-8",
                    headers={"WWW-Authenticate": challenge},
                )
            )

    def issue_csrf(self, request: Request, response: Response) -> Response:
        """Answer ``x-csrf-token: Fetch`` with the session's token and cookies."""
        if request.headers.get("x-csrf-token", "").lower() != "fetch":
            return response
        self.stats["csrf_fetches"] += 1
        session_id, token = self.sessions.fetch(request.cookies.get(SESSION_COOKIE))
        response.headers["x-csrf-token"] = token
        response.set_cookie(SESSION_COOKIE, session_id, path="/", httponly=True)
        response.set_cookie("sap-usercontext", f"sap-client={SAP_CLIENT}", path="/")
        return response

    def check_csrf(self, request: Request) -> None:
        if self.sessions.valid(request.cookies.get(SESSION_COOKIE), request.headers.get("x-csrf-token")):
            return
        self.stats["csrf_refused"] += 1
        raise VendorHTTPError(
            Response(
                "CSRF token validation failed",
                status_code=403,
                media_type="text/plain",
                headers={"x-csrf-token": "Required"},
            )
        )

    # -- routes -------------------------------------------------------------------------------------
    def routes(self) -> None:
        app = self.app

        @app.post(TOKEN_PATH)
        async def oauth_token(request: Request) -> Response:
            form = await request.form()
            scheme, _, credential = request.headers.get("authorization", "").partition(" ")
            client_id, client_secret = form.get("client_id"), form.get("client_secret")
            if scheme.lower() == "basic":
                try:
                    client_id, _, client_secret = base64.b64decode(credential).decode().partition(":")
                except ValueError:
                    client_id = client_secret = None
            if client_id != USER or client_secret != PASSWORD:
                return json_response(
                    {"error": "invalid_client", "error_description": "Client authentication failed"}, status=401
                )
            if form.get("grant_type") != "client_credentials":
                return json_response({"error": "unsupported_grant_type"}, status=400)
            token, ttl = self.tokens.issue()
            return json_response(
                {
                    "access_token": token,
                    "token_type": "Bearer",
                    "expires_in": int(ttl),
                    "scope": "API_JOURNALENTRYITEMBASIC_SRV_0001",
                }
            )

        @app.api_route(ODATA_ROOT + "/{service}/", methods=["GET", "HEAD"])
        async def service_document(service: str, request: Request) -> Response:
            self.authed(request)
            svc = self.service(service)
            body = json_response({"d": {"EntitySets": [es.name for es in svc.sets]}})
            return self.issue_csrf(request, body)

        @app.api_route(ODATA_ROOT + "/{service}/{resource:path}", methods=["GET", "HEAD"])
        async def resource(service: str, resource: str, request: Request) -> Response:
            self.authed(request)
            svc = self.service(service)
            return self.issue_csrf(request, self.odata(svc, resource, request))

        @app.api_route(ODATA_ROOT + "/{service}/{resource:path}", methods=list(WRITE_METHODS))
        async def odata_write(service: str, resource: str, request: Request) -> Response:
            self.authed(request)
            svc = self.service(service)
            self.check_csrf(request)  # before the request is dispatched to the service
            name = resource.partition("(")[0].partition("/")[0]
            raise odata.error(
                405,
                odata.NOT_ALLOWED,
                f"Method '{request.method}' not allowed for '{name}': the entity set is read-only",
                svc.name,
            )

        @app.post(soap.ENDPOINT)
        async def journal_entry_create(request: Request) -> Response:
            self.authed(request)  # no CSRF token: the web service runtime does not take one
            if "xml" not in request.headers.get("content-type", ""):
                return soap.fault("Content-Type must be text/xml for SOAP 1.1")
            try:
                bulk_id, entries = soap.parse_request(await request.body(), request.headers.get("soapaction"))
            except soap.Fault as err:
                self.stats["soap_faults"] += 1
                return soap.fault(err.message, err.code)
            results = []
            for entry in entries:
                try:
                    document, year, log = self.journal.post(entry)
                except Refused as refused:
                    self.stats["postings_refused"] += 1
                    document, year, log = soap.FAILED_DOCUMENT, 0, refused.log
                results.append((entry, document, year, log))
            return soap.confirmation(bulk_id, results)

    def service(self, path: str):
        svc = SERVICES.get(path) if path not in self.missing_services else None
        if svc is None:
            name, _, version = path.partition(";v=")
            version = version.zfill(4) if version.isdigit() else "0001"
            message = f"No service found for namespace '', name '{name}', version '{version}'"
            raise odata.error(403, odata.NO_SERVICE, message, name)
        return svc

    def odata(self, svc, resource: str, request: Request) -> Response:
        if resource == "$metadata":
            return Response(
                svc.metadata_xml(),
                media_type="application/xml",
                headers={"dataserviceversion": "2.0", "last-modified": _http_date()},
            )
        name, _, tail = resource.partition("/")
        key = None
        if name.endswith(")") and "(" in name:
            name, _, key = name[:-1].partition("(")
        es = svc.entity_set(name)
        if es is None or tail not in ("", "$count") or (key is not None and tail):
            raise odata.error(404, odata.NOT_FOUND, f"Resource not found for segment '{resource}'", svc.name)
        rows = self.tables()[es.name]
        query = odata.Query(request, svc, es)
        if tail == "$count":
            return Response(str(len(query.rows(rows))), media_type="text/plain")
        if not odata.wants_json(request):
            raise odata.error(
                406,
                odata.BAD_QUERY,
                "This sandbox serves JSON only: send Accept: application/json or $format=json",
                svc.name,
            )
        if key is not None:
            return self.entity(svc, es, key, rows, request)
        return odata.collection(query, rows, self.page_cap, self.navigate)

    def entity(self, svc, es, key: str, rows: list[dict], request: Request) -> Response:
        try:
            wanted = {k: odata.comparable(v) for k, v in odata.parse_key(key, es).items()}
        except ValueError as err:
            raise odata.error(400, odata.BAD_QUERY, f"Invalid key predicate: {err}", svc.name) from None
        for row in rows:
            if all(odata.comparable(row.get(k)) == v for k, v in wanted.items()):
                root = odata.service_root(request, svc)
                expand = odata.Query(request, svc, es).expand
                entity = odata.render(svc, es, row, root, expand=expand, navigate=self.navigate)
                return json_response({"d": entity})
        raise odata.error(404, odata.NOT_FOUND, f"Resource not found for segment '{es.name}({key})'", svc.name)

    def tables(self) -> dict[str, list[dict]]:
        """The rows of every entity set, by name."""
        return {
            **self.chart.tables(),
            "A_JournalEntryItemBasic": self.journal.items,
            "A_FinPlanningEntryItem": budget_sets.plan_rows(self.budget),
            **master_sets.tables(self.masters),
        }

    def navigate(self, es, nav_name: str, row: dict) -> list[dict]:
        """The rows a navigation property leads to, through an index of the target set by its join keys
        (built on first use, dropped by every mutation and reset; postings change no navigation target)."""
        nav = es.nav(nav_name)
        index = self._nav_index.get((nav.target, nav.on))
        if index is None:
            index = self._nav_index[(nav.target, nav.on)] = {}
            for target in self.tables()[nav.target]:
                index.setdefault(tuple(target.get(k) for k in nav.on), []).append(target)
        return index.get(tuple(row.get(k) for k in nav.on), [])


def _service_name(path: str) -> str:
    parts = path.split("/")
    return parts[5] if len(parts) > 5 and path.startswith(ODATA_ROOT) else ""


def _http_date() -> str:
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime())


def _mutation_target(op: str):
    """The (service, entity set) a chart mutation's result is rendered as."""
    if "gl_account" in op:
        svc = SERVICES["API_GLACCOUNTINCHARTOFACCOUNTS_SRV"]
        name = "A_GLAccountText" if op == "rename_gl_account" else "A_GLAccountInChartOfAccounts"
        return svc, svc.entity_set(name)
    if "cost_center" in op:
        svc = SERVICES["API_COSTCENTER_SRV"]
        return svc, svc.entity_set("A_CostCenterText" if op == "rename_cost_center" else "A_CostCenter")
    svc = SERVICES["API_ENTERPRISE_PROJECT_SRV;v=0002"]
    return svc, svc.entity_set("A_EnterpriseProject")
