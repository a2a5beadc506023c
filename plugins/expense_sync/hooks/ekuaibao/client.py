"""The 合思 open API transport: the token, the error check and paging.

Wire facts (auth, statuses, error bodies, paging): ``docs/vendors/ekuaibao.md``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import requests

from expense_sync.hooks.base import VendorHook
from expense_sync.hooks.ekuaibao.settings import EkuaibaoSettings
from expense_sync.hooks.errors import TokenInvalidError, VendorRequestError
from expense_sync.hooks.paginate import OffsetPaginator

PAGE_SIZE = 100  # the open API's maximum ``count``
TOKEN_INVALID_TEXT = "未授权"


def error_message(body: Any) -> str:
    """The vendor's message from a JSON error body or a plain-text one."""
    if isinstance(body, dict):
        return str(body.get("errorMessage") or body.get("message") or body.get("msg") or body)
    return str(body or "")


class EkuaibaoClient(VendorHook[EkuaibaoSettings]):
    """What every 合思 API area shares: auth, the error check, the tenant id and list paging."""

    settings_model = EkuaibaoSettings
    token_param = "accessToken"

    corporation_id: str | None = None

    def fetch_token(self) -> tuple[str, float]:
        conn = self.connection
        body = self.request_token(
            "POST", "/api/openapi/v1/auth/getAccessToken", json={"appKey": conn.login, "appSecurity": conn.password}
        )
        value = body["value"]
        self.corporation_id = value.get("corporationId")
        return value["accessToken"], max(60.0, value["expireTime"] / 1000 - time.time())

    def check_body(self, response: requests.Response, body: Any, endpoint: str) -> None:
        status = response.status_code
        if status < 400:
            return
        message = error_message(body)
        where: dict[str, Any] = {"vendor": self.vendor, "endpoint": endpoint, "status": status}
        if status == 403 and TOKEN_INVALID_TEXT in message:
            raise TokenInvalidError(message, **where)
        raise VendorRequestError(message, **where)

    def corporation(self) -> str:
        """The tenant's corporation id, which is also the id of its root department."""
        self.get_token()
        if not self.corporation_id:
            raise VendorRequestError("the token response named no corporation", vendor=self.vendor)
        return self.corporation_id

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
