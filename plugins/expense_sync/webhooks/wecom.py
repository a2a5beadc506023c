"""WeCom callbacks (接收事件): URL verification and signed, AES-encrypted XML events.

* ``GET <url>?msg_signature=&timestamp=&nonce=&echostr=``: the URL check when the callback is
  saved. The signature covers ``echostr``; the answer is the decrypted ``echostr`` as plain text.
* ``POST <url>?msg_signature=&timestamp=&nonce=`` with ``<xml><ToUserName/><Encrypt/>
  <AgentID/></xml>``: the signature covers the ``Encrypt`` text exactly as sent, the timestamp
  (seconds) must be within ±5 minutes, the decrypted message must end with our CorpID (the
  ``oa_wecom`` login). The answer is ``success``; without it WeCom retries.

Media types accepted for the POST: ``text/xml`` and ``application/xml`` [I: WeCom does not
document the header it sends]. XML with a DOCTYPE or entity declaration is refused before parsing
(stdlib ElementTree; expat also limits entity expansion).

Dedup key: ``MsgId`` for plain messages, else
``ToUserName|Event|ChangeType|UserID|NewUserID|Id|TagId|SpNo|CreateTime`` (``SpNo`` from
``ApprovalInfo`` for approval events, which is also the subject). The event is stored as JSON: one
key per element, text values, repeated elements as lists.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

from fastapi.responses import PlainTextResponse

from expense_sync.hooks.wecom import WeComHook, WeComSettings
from expense_sync.store.inbox import InboundEvent
from expense_sync.webhooks.credentials import (
    Callback,
    connection_settings,
    crypt_callback,
)
from expense_sync.webhooks.delivery import Delivery, check_timestamp, dedup_key, text
from expense_sync.webhooks.errors import bad_request, unauthorized

SOURCE = "wecom"
CONTENT_TYPES = ("text/xml", "application/xml")
KEY_FIELDS = ("ToUserName", "Event", "ChangeType", "UserID", "NewUserID", "Id", "TagId", "SpNo", "CreateTime")
FORBIDDEN_XML = (b"<!doctype", b"<!entity")


def load() -> Callback:
    conn_id = WeComHook.default_conn_name
    conn, settings = connection_settings(conn_id, WeComSettings)
    return crypt_callback(conn_id, settings.callback_token, settings.callback_aes_key, conn.login, "login (the CorpID)")


def _signed_params(delivery: Delivery, now: float) -> tuple[str, str, str]:
    query = delivery.query
    given = query.get("msg_signature")
    if not given:
        raise unauthorized("missing msg_signature")
    nonce = query.get("nonce")
    if not nonce:
        raise bad_request("missing nonce")
    return given, check_timestamp(query.get("timestamp"), now), nonce


def verify_url(delivery: Delivery, callback: Callback, now: float) -> PlainTextResponse:
    """The GET URL check: answer the decrypted ``echostr`` in plain text."""
    given, timestamp, nonce = _signed_params(delivery, now)
    echostr = delivery.query.get("echostr")
    if not echostr:
        raise bad_request("missing echostr")
    echostr = echostr.replace(" ", "+")  # a '+' that arrived unescaped in the query string
    callback.crypt.check_signature(given, timestamp, nonce, echostr)
    plain = callback.crypt.decrypt(echostr)
    try:
        return PlainTextResponse(plain.decode("utf-8"))
    except UnicodeDecodeError:
        raise bad_request("echostr is not text") from None


def parse_xml(data: bytes, what: str) -> ET.Element:
    lowered = data.lower()
    if any(marker in lowered for marker in FORBIDDEN_XML):
        raise bad_request(f"{what}: DTDs are not accepted")
    try:
        return ET.fromstring(data)
    except (ET.ParseError, ValueError, LookupError):
        raise bad_request(f"{what} is not valid XML") from None


def to_dict(element: ET.Element) -> Any:
    children = list(element)
    if not children:
        return element.text or ""
    result: dict[str, Any] = {}
    for child in children:
        value = to_dict(child)
        if child.tag not in result:
            result[child.tag] = value
        elif isinstance(result[child.tag], list):
            result[child.tag].append(value)
        else:
            result[child.tag] = [result[child.tag], value]
    return result


def verify(delivery: Delivery, callback: Callback, now: float) -> InboundEvent:
    given, timestamp, nonce = _signed_params(delivery, now)
    encrypt = parse_xml(delivery.body, "body").findtext("Encrypt")
    if not encrypt:
        raise bad_request("no Encrypt element")
    callback.crypt.check_signature(given, timestamp, nonce, encrypt)
    event = to_dict(parse_xml(callback.crypt.decrypt(encrypt), "event"))
    if not isinstance(event, dict):
        raise bad_request("event is empty")
    info = event.get("ApprovalInfo")
    approval = info if isinstance(info, dict) else {}
    fields = {**{name: text(event.get(name)) for name in KEY_FIELDS}, "SpNo": text(approval.get("SpNo"))}
    msg_id = text(event.get("MsgId"))
    kind = fields["Event"] or text(event.get("MsgType"))
    return InboundEvent(
        source=SOURCE,
        dedup_key=dedup_key("MsgId", msg_id) if msg_id else dedup_key(*fields.values()),
        payload_json=json.dumps(event, ensure_ascii=False),
        event_type="/".join(filter(None, (kind, fields["ChangeType"]))) or None,
        subject=fields["SpNo"],
        headers=delivery.kept_headers("timestamp", "nonce"),
    )


def reply(callback: Callback, stored: bool | None) -> PlainTextResponse:
    return PlainTextResponse("success")
