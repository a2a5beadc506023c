"""合思 / Ekuaibao open API sandbox.

One :class:`EkuaibaoSandbox` holds the tenant's state; each API area adds its routes from its own
module (``contacts`` for staff and departments, ``feetypes`` and ``dimensions`` for the chart the
weekly ERP sync reconciles, ``flows`` for claims and the voucher write-back, ``ebot`` for
applications (申请单) and the E-Bot approval node, ``bookings`` for travel orders, ``invoices`` for
the invoices bound to claims, ``budgets``). Reset options: ``retry_after``, ``fee_types`` (``erp`` |
``preset``), ``unique_item_names`` and ``demo`` (a small travel-expense tenant with claims,
:mod:`.demo`: the standalone server's default). Behaviour follows ``docs/vendors/research.md`` §1
and the SDK addendum §9:

* auth: ``POST /api/openapi/v1/auth/getAccessToken`` {appKey, appSecurity}; the token goes in the
  ``accessToken`` query parameter; a dead or unknown token is **HTTP 403 "未授权"**;
* errors: HTTP 400 / 403 / 412 with ``{"errorCode", "errorMessage", "errorDetails", "code", "data"}``;
* paths carry ids with a literal ``$`` prefix, id lists in square brackets;
* list pages: ``start``/``count`` (count clamped to 100 silently) → ``{"count": total, "items"}``;
* times as ``"yyyy-MM-dd HH:mm:ss"`` strings for staff and departments.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from expense_sync_sandboxes.core import Sandbox, VendorHTTPError, json_response
from expense_sync_sandboxes.ekuaibao.index import ContactIndex

APP_KEY, APP_SECURITY = "ekb-sandbox-appkey", "ekb-sandbox-security"
CORP_ID = "SBXcorp0001"
MAX_COUNT = 100


def error(status: int, message: str) -> VendorHTTPError:
    return VendorHTTPError(
        json_response(
            {"errorCode": status, "errorMessage": message, "errorDetails": None, "code": None, "data": None},
            status=status,
        )
    )


def now_text(clock: float | None = None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(clock or time.time()))


def strip_ref(ref: str) -> str:
    """Path ids come as ``$id`` (or plain); lists as ``[a,b]``."""
    return ref[1:] if ref.startswith("$") else ref


def id_list(ref: str) -> list[str]:
    ref = ref.strip()
    if ref.startswith("[") and ref.endswith("]"):
        ref = ref[1:-1]
    return [strip_ref(part.strip()) for part in ref.split(",") if part.strip()]


def page(items: list[dict], request: Request) -> Response:
    q = request.query_params
    try:
        start = max(0, int(q.get("start", 0)))
        count = min(MAX_COUNT, max(1, int(q.get("count", MAX_COUNT))))
    except ValueError:
        raise error(400, "参数格式错误") from None
    return json_response({"count": len(items), "items": items[start : start + count]})


def in_window(item: dict, request: Request) -> bool:
    """``startDate``/``endDate`` filter on ``updateTime`` (both inclusive)."""
    q = request.query_params
    start, end = q.get("startDate"), q.get("endDate")
    return (not start or item["updateTime"] >= start) and (not end or item["updateTime"] <= end)


def ordered(items: list[dict], request: Request) -> list[dict]:
    q = request.query_params
    key = q.get("orderBy")
    if key in ("updateTime", "createTime"):
        return sorted(items, key=lambda i: (i[key], i["id"]), reverse=q.get("orderByType") == "desc")
    return items


class EkuaibaoSandbox(Sandbox):
    vendor = "ekuaibao"

    def reset(
        self,
        *,
        seed: int = 1,
        retry_after: int = 1,
        fee_types: str = "erp",
        unique_item_names: bool = True,
        demo: bool = False,
        **_: Any,
    ) -> None:
        super().reset(seed=seed)
        self.retry_after = retry_after  # seconds in the Retry-After of a throttled answer
        self.corp_id = CORP_ID
        created = now_text()
        self.departments: dict[str, dict[str, Any]] = {
            CORP_ID: {
                "id": CORP_ID,
                "name": "示例集团",
                "parentId": "",
                "active": True,
                "code": "",
                "updateTime": created,
                "createTime": created,
                "form": {"costCenter": "", "legalEntity": ""},
                "order": 0,
            }
        }
        self.staffs: dict[str, dict[str, Any]] = {}
        self.ix = ContactIndex()
        self.ix.put_department(self.departments[CORP_ID])
        self.pending_documents: set[str] = set()  # staff ids that still have documents in flight
        self._seq = 0
        self.reset_charts(fee_types, unique_item_names)
        if demo:
            from expense_sync_sandboxes.ekuaibao import demo as demo_data

            demo_data.seed(self)

    def reset_charts(self, fee_types: str, unique_item_names: bool) -> None:
        """Fee types and custom dimensions (``feetypes``, ``dimensions``)."""
        from expense_sync_sandboxes.ekuaibao import bookings, budgets, dimensions, ebot, feetypes, flows, invoices

        feetypes.reset(self, fee_types)
        dimensions.reset(self, unique_item_names=unique_item_names)
        flows.reset(self)
        ebot.reset(self)
        bookings.reset(self)
        invoices.reset(self)
        budgets.reset(self)

    def next_id(self, prefix: str) -> str:
        self._seq += 1
        return f"{self.corp_id}:{prefix}{self._seq:08d}"

    def throttle_response(self, path: str) -> Response:
        return json_response(
            {"errorCode": 429, "errorMessage": "请求过于频繁"},
            status=429,
            headers={"Retry-After": str(self.retry_after)},
        )

    def server_error_response(self, path: str) -> Response:
        return json_response({"errorCode": 500, "errorMessage": "系统异常"}, status=500)

    def authed(self, request: Request) -> None:
        if not self.tokens.valid(request.query_params.get("accessToken")):
            raise error(403, "未授权")

    def dump(self) -> dict[str, Any]:
        from expense_sync_sandboxes.ekuaibao import bookings, dimensions, ebot, flows

        return {
            **flows.dump(self),
            **ebot.dump(self),
            **bookings.dump(self),
            "corporationId": self.corp_id,
            "departments": list(self.departments.values()),
            "staffs": list(self.staffs.values()),
            "pendingDocuments": sorted(self.pending_documents),
            "feeTypes": list(self.fee_types.values()),
            "dimensions": list(self.dimension_categories.values()),
            "dimensionItems": [dimensions.listed(i) for i in self.dimension_items.values()],
        }

    def mutate(self, op: str, args: dict[str, Any]) -> Any:
        from expense_sync_sandboxes.ekuaibao import (
            bookings,
            budgets,
            contacts,
            dimensions,
            ebot,
            feetypes,
            flows,
            invoices,
        )

        handlers = {
            **ebot.MUTATIONS,
            **bookings.MUTATIONS,
            **contacts.MUTATIONS,
            **dimensions.MUTATIONS,
            **feetypes.MUTATIONS,
            **flows.MUTATIONS,
            **invoices.MUTATIONS,
            **budgets.MUTATIONS,
        }
        if op not in handlers:
            raise ValueError(f"unknown mutation {op!r}; known: {', '.join(sorted(handlers))}")
        return handlers[op](self, **args)

    def routes(self) -> None:
        from expense_sync_sandboxes.ekuaibao import (
            bookings,
            budgets,
            contacts,
            dimensions,
            ebot,
            feetypes,
            flows,
            invoices,
        )

        app = self.app

        @app.post("/api/openapi/v1/auth/getAccessToken")
        async def get_access_token(request: Request) -> Response:
            raw = await request.body()
            body = await request.json() if raw else {}
            if body.get("appKey") != APP_KEY or body.get("appSecurity") != APP_SECURITY:
                raise error(403, "密钥无效")
            token, ttl = self.tokens.issue("ekb-")
            refresh, _ = self.tokens.issue("ekbr-")
            return json_response(
                {
                    "value": {
                        "accessToken": token,
                        "refreshToken": refresh,
                        "expireTime": int((time.time() + ttl) * 1000),
                        "corporationId": self.corp_id,
                    }
                }
            )

        @app.get("/api/openapi/v2/location")
        async def location(request: Request) -> Response:
            return json_response({"value": str(request.base_url)})

        contacts.add_routes(self)
        feetypes.add_routes(self)
        dimensions.add_routes(self)
        flows.add_routes(self)
        ebot.add_routes(self)
        bookings.add_routes(self)
        invoices.add_routes(self)
        budgets.add_routes(self)
