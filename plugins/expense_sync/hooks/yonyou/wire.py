"""The YonBIP gateway: data-centre discovery, the signed app token, and the codes inside HTTP 200.

Endpoints, signature, answer shapes and codes: ``docs/vendors/yonyou.md`` ("YonBIP: hosts, token,
errors")."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from functools import cached_property
from typing import TYPE_CHECKING, Any

import requests

from expense_sync.hooks.contract import required
from expense_sync.hooks.errors import AuthenticationError, ThrottledError, TokenInvalidError, VendorRequestError

if TYPE_CHECKING:
    from expense_sync.hooks.yonyou.hook import YonyouHook

DISCOVERY_PATH = "/open-auth/dataCenter/getGatewayAddress"
TOKEN_PATH = "/open-auth/selfAppAuth/base/v1/getAccessToken"
SUCCESS_CODES = frozenset({"200", "00000"})
TOKEN_INVALID_CODES = frozenset({"310036", "310001"})
TOKEN_INVALID_TEXT = "非法token"
TOKEN_LIFETIME = 7200.0  # documented: 有效期为2小时


def signature(app_key: str, app_secret: str, stamp: str) -> str:
    """Base64(HMAC-SHA256("appKey" + appKey + "timestamp" + ms, appSecret)); the query string URL-encodes it."""
    digest = hmac.new(app_secret.encode(), f"appKey{app_key}timestamp{stamp}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class Gateway:
    """The YonBIP transport of a :class:`~expense_sync.hooks.yonyou.YonyouHook`: hosts, token, checks."""

    def __init__(self, hook: YonyouHook) -> None:
        self.hook = hook

    @cached_property
    def endpoints(self) -> tuple[str, str]:
        """The tenant's gateway and token base URLs: discovered once, or configured."""
        hook, settings = self.hook, self.hook.settings
        if not settings.tenant_id:
            gateway = (settings.gateway_url or hook.base_url).rstrip("/")
            return gateway, (settings.token_url or gateway).rstrip("/")
        try:
            body = hook.request(
                "GET", f"{hook.base_url}{DISCOVERY_PATH}", params={"tenantId": settings.tenant_id}, authorize=False
            )
        except VendorRequestError as err:
            raise AuthenticationError(
                f"data-centre discovery refused tenant {settings.tenant_id!r}: {err.message}",
                vendor=hook.vendor,
                endpoint=err.endpoint,
                code=err.code,
            ) from None
        where: dict[str, Any] = {"vendor": hook.vendor, "endpoint": f"GET {DISCOVERY_PATH}"}
        return (
            str(required(body, "data.gatewayUrl", **where)).rstrip("/"),
            str(required(body, "data.tokenUrl", **where)).rstrip("/"),
        )

    def fetch_token(self) -> tuple[str, float]:
        conn = self.hook.connection
        stamp = str(int(time.time() * 1000))
        params = {
            "appKey": conn.login,
            "timestamp": stamp,
            "signature": signature(conn.login, conn.password or "", stamp),
        }
        body = self.hook.request_token("GET", f"{self.endpoints[1]}{TOKEN_PATH}", params=params)
        where: dict[str, Any] = {"vendor": self.hook.vendor, "endpoint": f"GET {TOKEN_PATH}"}
        # documented: data.access_token; older versions nest it once more (data.data.access_token)
        token = required(body, "data.access_token", "data.data.access_token", **where)
        expire = required(body, "data.expire", "data.data.expire", nullable=True, **where)
        return str(token), float(expire or TOKEN_LIFETIME)

    def authorize(self, request: dict[str, Any]) -> None:
        settings = self.hook.settings
        params = {**(request.get("params") or {}), "access_token": self.hook.get_token()}
        if settings.send_tenant_id and settings.tenant_id:
            params["tenantId"] = settings.tenant_id
        request["params"] = params

    def check_body(self, response: requests.Response, body: Any, endpoint: str) -> None:
        where: dict[str, Any] = {"vendor": self.hook.vendor, "endpoint": endpoint, "status": response.status_code}
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
        if code in self.hook.settings.throttle_codes:
            wait = self.hook.settings.throttle_wait
            raise ThrottledError(message, retry_after=1.0 if wait is None else wait, **where)
        raise VendorRequestError(message, **where)
