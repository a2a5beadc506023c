"""K3Cloud transport: the service URL, LoginBySign, the session id and the answer's ResponseStatus.

Wire facts (rows 1-12 of ``docs/vendors/kingdee.md``) and what stays inferred are in that file."""

from __future__ import annotations

import hashlib
import http.cookiejar
import time
from functools import cached_property
from typing import Any

import requests

from expense_sync.hooks.base import VendorHook
from expense_sync.hooks.errors import AuthenticationError, TokenInvalidError, VendorRequestError
from expense_sync.hooks.kingdee.settings import KingdeeSettings

SERVICE = "Kingdee.BOS.WebApi.ServicesStub.{}.common.kdsvc"
LOGIN = SERVICE.format("AuthService.LoginBySign")
SESSION = "kdservice-sessionid"
SESSION_LOST = "会话信息已丢失"
LOGIN_OK = (1, -5)


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


class KingdeeSession(VendorHook[KingdeeSettings]):
    """Calls one K3Cloud service with the session LoginBySign opened; a lost session logs in again."""

    settings: KingdeeSettings

    @cached_property
    def session(self) -> requests.Session:
        session = super().session
        # the session id is our token: we send it ourselves, so the cookie jar keeps nothing stale
        session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        return session

    def url(self, path: str) -> str:
        prefix = self.settings.path_prefix.strip("/")
        return super().url(f"{prefix}/{path}" if prefix else path)

    def call(self, service: str, payload: dict[str, Any], *, idempotent: bool = True) -> Any:
        """POST one service (``DynamicFormService.Save``…) with named arguments; the checked body."""
        return self.request("POST", SERVICE.format(service), json=payload, idempotent=idempotent)

    def fetch_token(self) -> tuple[str, float]:
        conn, settings = self.connection, self.settings
        timestamp = str(int(time.time()))
        parts = [settings.acct_id, conn.login or "", settings.app_id, conn.password or "", timestamp]
        sign = hashlib.sha256("".join(sorted(parts)).encode()).hexdigest()
        args = [settings.acct_id, conn.login, settings.app_id, timestamp, sign, settings.lcid]
        # positional arguments, as the Java SDK and most clients send LoginBySign
        body = self.request_token("POST", LOGIN, json={"parameters": args})
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
        where: dict[str, Any] = {"vendor": self.vendor, "endpoint": endpoint, "status": response.status_code}
        code = status.get("MsgCode")
        if str(code) == "1" or SESSION_LOST in message:
            raise TokenInvalidError(message or "session lost", code=code, **where)
        raise VendorRequestError(message or "K3Cloud refused the call", code=code, **where)
