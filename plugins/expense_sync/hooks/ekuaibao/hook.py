"""合思 / Ekuaibao open API: the expense system's staff, departments, fee types, custom dimensions,
documents (claims), budgets and the voucher write-back.

Connection ``expense_ekuaibao``: host ``app.ekuaibao.com`` (or the tenant's prefix, or a sandbox),
login = appKey, password = appSecurity. The token travels as the ``accessToken`` query parameter.
Errors use the HTTP status (400 validation, 403 auth *or* a business refusal, 412 precondition)
with a JSON ``{"errorCode", "errorMessage"}`` body or plain text; a dead token is a 403 "未授权".
Path ids carry a literal ``$`` prefix, and id lists go in square brackets.

Fee types are read-only in the open API. Custom dimensions (自定义档案) are writable: the weekly
chart sync keeps cost centers and projects as items of the categories named by the extras
``cost_center_dimension`` (default 成本中心) and ``project_dimension`` (default 项目), matched by
category id, name or code. Item updates and enable/disable answer HTTP 204 with no body.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, Literal

import requests
from pydantic import Field

from expense_sync.hooks.base import HookSettings, VendorHook
from expense_sync.hooks.errors import AuthenticationError, TokenInvalidError, VendorRequestError
from expense_sync.hooks.paginate import OffsetPaginator

PAGE_SIZE = 100  # the open API's maximum ``count``
TOKEN_INVALID_TEXT = "未授权"
NOT_PAID_TEXT = "不是已支付状态"


def error_message(body: Any) -> str:
    """The vendor's message from a JSON error body or a plain-text one."""
    if isinstance(body, dict):
        return str(body.get("errorMessage") or body.get("message") or body.get("msg") or body)
    return str(body or "")


class EkuaibaoSettings(HookSettings):
    """Extras of ``expense_ekuaibao`` (besides the base hook's retry, rate and timeout settings): the
    dimension categories the chart sync writes to, and the 签名秘钥 (signKey) of each outbound-message
    configuration (出站消息) the webhook receiver accepts (several during a change of configuration)."""

    cost_center_dimension: str = Field(default="成本中心", min_length=1)  # category id, name or code
    project_dimension: str = Field(default="项目", min_length=1)
    outbound_sign_keys: list[str] = []


class EkuaibaoHook(VendorHook):
    """合思 open API (``/api/openapi/...``)."""

    default_conn_name = "expense_ekuaibao"
    hook_name = "合思 Ekuaibao"
    vendor = "ekuaibao"
    role = "expense"
    quota_qps = 10.0  # requests per second per app; the vendor documents none [I]
    settings_model = EkuaibaoSettings
    token_param = "accessToken"

    corporation_id: str | None = None

    def fetch_token(self) -> tuple[str, float]:
        conn = self.connection
        try:
            body = self.request(
                "POST",
                "/api/openapi/v1/auth/getAccessToken",
                json={"appKey": conn.login, "appSecurity": conn.password},
                authorize=False,
            )
        except (VendorRequestError, TokenInvalidError) as err:
            raise AuthenticationError(
                err.message, vendor=self.vendor, endpoint=err.endpoint, status=err.status
            ) from None
        value = body["value"]
        self.corporation_id = value.get("corporationId")
        return value["accessToken"], max(60.0, value["expireTime"] / 1000 - time.time())

    def check_body(self, response: requests.Response, body: Any, endpoint: str) -> None:
        status = response.status_code
        if status < 400:
            return
        message = error_message(body)
        where = {"vendor": self.vendor, "endpoint": endpoint, "status": status}
        if status == 403 and TOKEN_INVALID_TEXT in message:
            raise TokenInvalidError(message, **where)
        raise VendorRequestError(message, **where)

    def corporation(self) -> str:
        """The tenant's corporation id, which is also the id of its root department."""
        self.get_token()
        if not self.corporation_id:
            raise VendorRequestError("the token response named no corporation", vendor=self.vendor)
        return self.corporation_id

    # -- reads ------------------------------------------------------------------------------------
    def _list(self, path: str, params: dict[str, Any]) -> Iterator[list[dict]]:
        yield from self.paginate("GET", path, OffsetPaginator(limit=PAGE_SIZE), params=params)

    @staticmethod
    def _window(start_date: str | None, end_date: str | None) -> dict[str, Any]:
        if not start_date:
            return {}
        window = {"startDate": start_date, "orderBy": "updateTime", "orderByType": "asc"}
        if end_date:
            window["endDate"] = end_date
        return window

    def iter_departments(self, start_date: str | None = None, end_date: str | None = None):
        """Pages of departments (disabled ones included), optionally changed in a time window."""
        yield from self._list("/api/openapi/v1/departments", self._window(start_date, end_date))

    def iter_staffs(self, start_date: str | None = None, end_date: str | None = None):
        """Pages of staff, enabled and disabled, optionally changed in a time window."""
        yield from self._list("/api/openapi/v1.1/staffs", self._window(start_date, end_date))

    def get_department(self, id_or_code: str, *, by: Literal["id", "code"] = "id") -> dict | None:
        """One **enabled** department by id or by code (``departmentBy``, default ``id``: a code looked
        up as an id is not found), or ``None`` (docs/vendors/ekuaibao.md)."""
        try:
            path = f"/api/openapi/v1/departments/${id_or_code}"
            return self.request("GET", path, params={"departmentBy": by})["value"]
        except VendorRequestError as err:
            if err.status in (400, 404, 412):
                return None
            raise

    def find_staffs(self, by: str, values: list[str]) -> list[dict]:
        """Enabled staff by ``STAFFID``, ``CODE``, ``CELLPHONE``, ``MAIL`` or ``USERID`` (≤100 a call)."""
        found: list[dict] = []
        for i in range(0, len(values), PAGE_SIZE):
            body = self.request(
                "POST",
                "/api/openapi/v1/staffs/getStaffIds",
                json={"type": by, "conditionIds": values[i : i + PAGE_SIZE]},
            )
            found.extend(body.get("items") or [])
        return found

    # -- writes -----------------------------------------------------------------------------------
    def create_department(self, department: dict[str, Any]) -> dict:
        body = self.request("POST", "/api/openapi/v1/departments", json=department, idempotent=False)
        return body["value"]

    def create_departments(self, departments: list[dict[str, Any]]) -> list[dict]:
        """Create up to 100 departments in one call; returns them with their new ids."""
        body = self.request(
            "POST", "/api/openapi/v1/departments/batch/create", json={"departmentList": departments}, idempotent=False
        )
        return body.get("items") or []

    def update_department(self, department_id: str, department: dict[str, Any]) -> dict:
        body = self.request("PUT", f"/api/openapi/v1/departments/update/${department_id}", json=department)
        return body["value"]

    def set_department_active(self, department_id: str, active: bool) -> None:
        self.request(
            "PUT",
            f"/api/openapi/v1/departments/disableOrEnableDepartment/${department_id}",
            params={"active": str(active).lower()},
        )

    def create_staffs(self, staff: list[dict[str, Any]]) -> list[dict]:
        """Create up to 100 staff in one call; returns them with their new ids."""
        body = self.request(
            "POST", "/api/openapi/v1.1/staffs/batch/create", json={"staffList": staff}, idempotent=False
        )
        return body.get("items") or []

    def update_staff(self, staff_id: str, staff: dict[str, Any]) -> dict:
        body = self.request("PUT", f"/api/openapi/v1.1/staffs/update/${staff_id}", params={"type": "id"}, json=staff)
        return body.get("value") or body

    def update_staffs(self, staff: list[dict[str, Any]]) -> list[dict]:
        """Update up to 100 staff in one call; each item carries its ``id``."""
        body = self.request(
            "POST", "/api/openapi/v1.1/staffs/batch/update", params={"type": "id"}, json={"staffList": staff}
        )
        return body.get("items") or []

    def set_staff_active(self, staff_ids: list[str], active: bool, *, check_pending: bool = True) -> None:
        """Enable or disable staff; disabling someone with pending documents is refused (403)."""
        self.request(
            "PUT",
            f"/api/openapi/v1.1/staffs/disableOrEnableStaff/[{','.join(staff_ids)}]",
            params={"active": str(active).lower(), "doCheck": str(check_pending).lower(), "type": "id"},
        )

    # -- fee types and custom dimensions ----------------------------------------------------------
    def fee_types(self) -> list[dict]:
        """Every fee type, disabled ones included (one unpaged call; fee types are read-only)."""
        return self.request("GET", "/api/openapi/v1/feeTypes").get("items") or []

    def dimension(self, name: str) -> dict:
        """The dimension category whose id, name or code is ``name``."""
        for page in self._list("/api/openapi/v1/dimensions", {}):
            for category in page:
                if name in (category.get("id"), category.get("name"), category.get("code")):
                    return category
        raise VendorRequestError(f"合思 has no dimension category {name!r}", vendor=self.vendor)

    def iter_dimension_items(self, dimension_id: str, start_date: str | None = None):
        """Pages of a category's items (disabled ones included), those updated since ``start_date``
        (``"yyyy-MM-dd HH:mm:ss"``, inclusive) when given, oldest change first."""
        params = {"dimensionId": dimension_id, **self._window(start_date, None)}
        yield from self._list("/api/openapi/v1/dimensions/items", params)

    def find_dimension_items(self, dimension_id: str, code: str) -> list[dict]:
        """The items of a category with this code (any state; ``getDimensionByCode`` spans categories)."""
        body = self.request("GET", "/api/openapi/v1/dimensions/getDimensionByCode", params={"code": code})
        return [item for item in body.get("items") or [] if item.get("dimensionId") == dimension_id]

    def create_dimension_item(self, item: dict[str, Any]) -> str:
        """Create one item; returns its id."""
        return self.request("POST", "/api/openapi/v1.1/dimensions/items", json=item, idempotent=False)["id"]

    def create_dimension_items(self, dimension_id: str, items: list[dict[str, Any]]) -> list[dict]:
        """Create up to 100 items of one category in one call (all or none); returns them with ids."""
        body = self.request(
            "POST",
            "/api/openapi/v1.1/dimensions/items/batch",
            params={"type": "id"},
            json={"dimensionId": dimension_id, "itemListRequest": items},
            idempotent=False,
        )
        return body.get("items") or []

    def update_dimension_item(self, item_id: str, item: dict[str, Any]) -> None:
        """Update an item by id (204). Sending any preset extra (``form``…) replaces them all."""
        self.request("PUT", f"/api/openapi/v1.1/dimensions/items/${item_id}", params={"type": "id"}, json=item)

    def set_dimension_item_active(self, item_id: str, active: bool) -> None:
        """Enable (this item only) or disable (with its children) an item (204)."""
        path = f"/api/openapi/v1.1/dimensions/items/${item_id}/{'enable' if active else 'disable'}"
        self.request("PUT", path, params={"type": "id"}, json={"applyToSubtree": False} if active else None)

    # -- documents (单据), budgets and the voucher write-back ---------------------------------------
    def iter_documents(self, since: str | None = None, *, form_type: str = "expense") -> Iterator[list[dict]]:
        """Pages of current documents updated since ``since`` (``"yyyy-MM-dd HH:mm:ss"``, inclusive),
        oldest change first; all current documents when ``since`` is None."""
        params: dict[str, Any] = {"type": form_type, "active": "true", "orderBy": "updateTime", "orderByType": "asc"}
        if since:
            params["startDate"] = since
        yield from self._list("/api/openapi/v1.1/docs/getApplyList", params)

    def flow_detail(self, flow_id: str) -> dict | None:
        """One document with its details, or ``None`` when 合思 no longer has it (deleted)."""
        try:
            return self.request("GET", "/api/openapi/v1.1/flowDetails", params={"flowId": flow_id})["value"]
        except VendorRequestError as err:
            if err.status == 412:
                return None
            raise

    def approve_states(self, flow_ids: list[str]) -> dict[str, str]:
        """The current approval stage name of each flow (served from a cache that may lag ~1 s)."""
        stages: dict[str, str] = {}
        for i in range(0, len(flow_ids), PAGE_SIZE):
            body = self.request("GET", f"/api/openapi/v2/approveStates/[{','.join(flow_ids[i : i + PAGE_SIZE])}]")
            stages.update({item["flowId"]: item.get("stageName", "") for item in body.get("items") or []})
        return stages

    def budget_balances(self) -> dict[str, Decimal]:
        """Balance (budgetMoney − confirmedMoney − occupiedMoney) per controlled dimension item
        (``contentId``), over the leaf nodes of every published budget package."""
        balances: dict[str, Decimal] = {}
        for budget in self.request("GET", "/api/openapi/v2/budgets").get("items") or []:
            if not budget.get("active"):
                continue
            start = 0
            while True:
                value = self.request(
                    "GET",
                    f"/api/openapi/v2/budgets/${budget['id']}/query",
                    params={"start": start, "count": PAGE_SIZE},
                )["value"]
                nodes, monies = value.get("nodes") or [], {m["nodeId"]: m for m in value.get("monies") or []}
                children = nodes[1:]
                for node in children:
                    money = monies.get(node["nodeId"])
                    if not node.get("isLeaf") or money is None:
                        continue
                    balance = Decimal(str(money["budgetMoney"])) - Decimal(str(money.get("confirmedMoney") or 0))
                    balance -= Decimal(str(money.get("occupiedMoney") or 0))
                    for content in node.get("content") or []:
                        key = content["contentId"]
                        balances[key] = min(balance, balances.get(key, balance))
                if len(children) < PAGE_SIZE:
                    break
                start += len(children)
        return balances

    def write_back_voucher(self, flow_id: str, voucher_no: str, created_ms: int, period: str | None = None) -> None:
        """Write the ERP voucher number onto a document (idempotent: it overwrites).

        Raises :class:`NotPaidError` when 合思 refuses because the document is not ``paid`` yet:
        the caller keeps the claim waiting and tries again on its next pull."""
        entry: dict[str, Any] = {"flowId": flow_id, "voucherNo": voucher_no, "voucherCreateTime": str(created_ms)}
        if period:
            entry["fiscalPeriod"] = period
        try:
            self.request("PUT", "/api/openapi/v2.1/flow/data/erpVoucher", json={"voucher": [entry]})
        except VendorRequestError as err:
            if err.status == 400 and NOT_PAID_TEXT in err.message:
                raise NotPaidError(err.message, vendor=err.vendor, endpoint=err.endpoint, status=400) from None
            raise


class NotPaidError(VendorRequestError):
    """合思 accepts a voucher write-back only for documents in state ``paid``: wait and retry."""
