"""DingTalk event subscription over HTTP (事件与回调): signed, AES-encrypted JSON.

``POST <url>?msg_signature=&timestamp=&nonce=`` (older pushes name it ``signature``) with the body
``{"encrypt": "<base64>"}``. The signature is checked over the ``encrypt`` string exactly as sent,
then the timestamp (milliseconds) must be within ±5 minutes, then the message is decrypted and its
trailing owner key must be ours (``callback_owner_key``, default the AppKey). The first push after
the URL is saved is ``{"EventType": "check_url"}``: answered, not stored.

Dedup key: ``eventId`` when the event has one, else
``EventType|CorpId|processInstanceId|taskId|type|result|UserId|DeptId|TimeStamp|createTime|finishTime``
(absent fields empty). The subject is the approval's ``processInstanceId`` when there is one.

Reply (also to a duplicate): ``{"msg_signature", "timeStamp", "nonce", "encrypt"}`` with the
encrypted string ``success``; without it DingTalk retries.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from fastapi.responses import JSONResponse

from expense_sync.hooks.dingtalk import DingTalkHook, DingTalkSettings
from expense_sync.store.inbox import InboundEvent
from expense_sync.webhooks.credentials import (
    Callback,
    connection_settings,
    crypt_callback,
)
from expense_sync.webhooks.delivery import Delivery, check_timestamp, dedup_key, parse_json_object, text
from expense_sync.webhooks.errors import bad_request, unauthorized

SOURCE = "dingtalk"
CONTENT_TYPES = ("application/json",)
CHECK_URL = "check_url"
KEY_FIELDS = (
    "CorpId",
    "processInstanceId",
    "taskId",
    "type",
    "result",
    "UserId",
    "DeptId",
    "TimeStamp",
    "createTime",
    "finishTime",
)


def load() -> Callback:
    conn_id = DingTalkHook.default_conn_name
    conn, settings = connection_settings(conn_id, DingTalkSettings)
    owner = settings.callback_owner_key or conn.login
    needs = "callback_owner_key or login (the AppKey)"
    return crypt_callback(conn_id, settings.callback_token, settings.callback_aes_key, owner, needs)


def verify(delivery: Delivery, callback: Callback, now: float) -> InboundEvent | None:
    query = delivery.query
    given = query.get("msg_signature") or query.get("signature")
    if not given:
        raise unauthorized("missing msg_signature")
    nonce = query.get("nonce")
    if not nonce:
        raise bad_request("missing nonce")
    timestamp = check_timestamp(query.get("timestamp"), now, millis=True)
    envelope = parse_json_object(delivery.body)
    encrypt = envelope.get("encrypt")
    if not isinstance(encrypt, str) or not encrypt:
        raise bad_request("no encrypt field")
    callback.crypt.check_signature(given, timestamp, nonce, encrypt)
    event = parse_json_object(callback.crypt.decrypt(encrypt), "event")
    event_type = text(event.get("EventType"))
    if not event_type:
        raise bad_request("event has no EventType")
    if event_type == CHECK_URL:
        return None
    return InboundEvent(
        source=SOURCE,
        dedup_key=_key(event, event_type),
        payload_json=json.dumps(event, ensure_ascii=False),
        event_type=event_type,
        subject=text(event.get("processInstanceId")),
        headers=delivery.kept_headers("timestamp", "nonce"),
    )


def _key(event: dict[str, Any], event_type: str) -> str:
    event_id = text(event.get("eventId") or event.get("EventId"))
    if event_id:
        return dedup_key("eventId", event_id)
    return dedup_key(event_type, *(_field(event, name) for name in KEY_FIELDS))


def _field(event: dict[str, Any], name: str) -> Any:
    value = event.get(name, event.get(name[0].lower() + name[1:]))
    return value if isinstance(value, list) else text(value)


def reply(callback: Callback, stored: bool | None) -> JSONResponse:
    timestamp, nonce = str(int(time.time() * 1000)), secrets.token_hex(8)
    encrypt = callback.crypt.encrypt(b"success")
    return JSONResponse(
        {
            "msg_signature": callback.crypt.sign(timestamp, nonce, encrypt),
            "timeStamp": timestamp,
            "nonce": nonce,
            "encrypt": encrypt,
        }
    )
