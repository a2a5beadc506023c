"""Shared body check for vendors that answer HTTP 200 with ``{"errcode": …, "errmsg": …}``.

DingTalk and WeCom report token expiry and throttling this way; a client that only looks at the
HTTP status would take a throttle for a success. DingTalk's ``topapi`` wraps a bad token in
``errcode 88`` ("鉴权异常") with the token code as ``sub_code`` (``"40014"``): the sub-code decides then.
"""

from __future__ import annotations

from typing import Any, ClassVar

import requests

from expense_sync.hooks.base import Settings, VendorHook
from expense_sync.hooks.errors import (
    ThrottledError,
    TokenInvalidError,
    TransientVendorError,
    VendorRequestError,
)


def sub_code(body: dict[str, Any]) -> int | None:
    """The numeric ``sub_code`` of an error body (DingTalk sends it as a string), if any."""
    try:
        return int(body["sub_code"])
    except (KeyError, TypeError, ValueError):
        return None


class ErrcodeHook(VendorHook[Settings]):
    """A vendor whose errors travel as a non-zero ``errcode`` inside the body."""

    token_invalid_codes: ClassVar[frozenset[int]] = frozenset()
    throttle_codes: ClassVar[dict[int, float]] = {}  # errcode -> seconds to wait when nothing else says
    busy_codes: ClassVar[frozenset[int]] = frozenset({-1})

    def check_body(self, response: requests.Response, body: Any, endpoint: str) -> None:
        if not isinstance(body, dict):
            return
        code = body.get("errcode")
        if code in (0, None):
            return
        message = body.get("errmsg") or ""
        if body.get("sub_code"):
            message = f"{message} [sub_code={body['sub_code']}: {body.get('sub_msg', '')}]"
        where: dict[str, Any] = {
            "vendor": self.vendor,
            "endpoint": endpoint,
            "status": response.status_code,
            "code": code,
        }
        if code in self.token_invalid_codes or sub_code(body) in self.token_invalid_codes:
            raise TokenInvalidError(message, **where)
        if code in self.throttle_codes:
            wait = self.settings.throttle_wait
            raise ThrottledError(message, retry_after=self.throttle_codes[code] if wait is None else wait, **where)
        if code in self.busy_codes:
            raise TransientVendorError(message, **where)
        raise VendorRequestError(message, **where)
