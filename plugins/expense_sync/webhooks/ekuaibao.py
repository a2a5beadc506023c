"""合思 / Ekuaibao outbound messages (出站消息): plain JSON authenticated by a static signKey.

合思 signs nothing: an outbound message is a plain JSON POST with the fields the admin selected,
and each message configuration has a system-issued 签名秘钥 (``signKey``) that is a shared secret
(wire facts and their sources: ``docs/vendors/ekuaibao.md``, "Outbound messages"). The receiver
accepts the key

* in the header ``signKey`` [I], checked before the body is parsed, or
* in the body field ``signKey`` [I], checked right after.

Either way it is compared in constant time with every configured key (``outbound_sign_keys`` of
the ``expense_ekuaibao`` connection) and removed from the payload before it is stored. There is
no timestamp and no body signature, so a flipped byte outside the key cannot be detected and a
replay is only caught by the dedup key: ``flowId|nodeId|action`` (``state`` when there is no
``action``, as in approval-event messages). ``flowId`` is required; it is also the subject.

Reply: HTTP 200 ``{"code":"1","status":...}``, which passes either success setting of the
configuration (status 200, or status plus the keyword ``"code":"1"``).
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from typing import Any

from fastapi.responses import JSONResponse

from expense_sync.hooks.ekuaibao import EkuaibaoHook, EkuaibaoSettings
from expense_sync.store.inbox import InboundEvent
from expense_sync.webhooks.credentials import NotConfigured, connection_settings, masked
from expense_sync.webhooks.delivery import Delivery, dedup_key, parse_json_object, text
from expense_sync.webhooks.errors import bad_request, unauthorized

SOURCE = "ekuaibao"
CONTENT_TYPES = ("application/json",)
SIGN_KEY_HEADER = "signKey"
SIGN_KEY_FIELD = "signKey"


@dataclass(frozen=True)
class SignKeys:
    keys: tuple[bytes, ...]

    def check(self, given: Any) -> None:
        if not isinstance(given, str) or not given:
            raise unauthorized("missing signKey")
        candidate = given.encode("utf-8", "replace")
        if not any([hmac.compare_digest(candidate, key) for key in self.keys]):
            raise unauthorized("bad signKey")


def load() -> SignKeys:
    _, settings = connection_settings(EkuaibaoHook.default_conn_name, EkuaibaoSettings)
    keys = [k for k in settings.outbound_sign_keys if k]
    if not keys:
        raise NotConfigured(f"connection {EkuaibaoHook.default_conn_name} has no outbound_sign_keys")
    masked(*keys)
    return SignKeys(tuple(k.encode() for k in keys))


def verify(delivery: Delivery, keys: SignKeys, now: float) -> InboundEvent:
    header_key = delivery.headers.get(SIGN_KEY_HEADER)
    if header_key is not None:
        keys.check(header_key)
    message = parse_json_object(delivery.body)
    body_key = message.pop(SIGN_KEY_FIELD, None)
    if header_key is None or body_key is not None:
        keys.check(body_key)
    flow_id = text(message.get("flowId"))
    if not flow_id:
        raise bad_request("no flowId")
    action = text(message.get("action")) or text(message.get("state"))
    return InboundEvent(
        source=SOURCE,
        dedup_key=dedup_key(flow_id, text(message.get("nodeId")), action),
        payload_json=json.dumps(message, ensure_ascii=False),
        event_type=action,
        subject=flow_id,
        headers=delivery.kept_headers(),
    )


def reply(keys: SignKeys, stored: bool | None) -> JSONResponse:
    return JSONResponse({"code": "1", "status": "stored" if stored else "duplicate"})
