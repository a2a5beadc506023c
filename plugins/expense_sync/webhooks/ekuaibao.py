"""合思 / Ekuaibao outbound messages (出站消息): a trigger, authenticated by a secret path token.

合思 posts plain JSON with the fields the admin selected (``flowId``, ``nodeId``, ``action``…) and
signs nothing: the configuration's 签名秘钥 (``signKey``) is what the *receiver* sends when it calls
合思 back (E-Bot approval), not something 合思 sends (wire facts and sources:
``docs/vendors/ekuaibao.md``, "Outbound messages"). So a message is only a trigger: its content is
never trusted (the claim intake re-reads the document by ``flowId``), and the endpoint is guarded by

* a secret path token: ``POST …/webhooks/ekuaibao/<token>``, compared in constant time with every
  configured token (extra ``outbound_path_tokens`` of the ``expense_ekuaibao`` connection; several
  while one replaces another). A wrong or missing token answers exactly as an unknown path does
  (404 ``Not Found``), so a guess learns nothing;
* an optional source-address allow-list (extra ``outbound_allowed_cidrs``; the sender's address is
  the socket peer, or what trusted proxies put in ``X-Forwarded-For``: :mod:`.peers`): 403;
* a per-address token bucket, checked before anything else (:mod:`.ratelimit`): 429.

A sender that signs the Standard Webhooks way (``webhook-signature``…) may post the same message;
its signature is then verified with the Standard Webhooks secrets (:mod:`.standard`), a wrong one is
refused (401) even on the right path, and a signed message needs no path token.

Dedup key: ``flowId|nodeId|action`` (``state`` when there is no ``action``, as in E-Bot node
messages). ``flowId`` is the subject. A message without one is a 业务对象数据变更 message (a travel
order, ``hooks/ekuaibao/bookings.py``) when it names the instance (``dataLinkId``): subject that id,
event type ``dataLink`` (the message log's name for the kind; ``accruals.model.BOOKING_EVENT_TYPES``),
dedup ``dataLink|<id>|<hash of the body>`` (a repeat is one event, a change another); any other
message without ``flowId`` is refused (400). A ``signKey`` field, should a configuration carry one,
is dropped before the payload is stored.

Reply: HTTP 200 ``{"code":"1","status":...}``, which passes either success setting of the
configuration (status 200, or status plus the keyword ``"code":"1"``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass

from fastapi.responses import JSONResponse, Response

from expense_sync.hooks.ekuaibao import EkuaibaoHook, EkuaibaoSettings
from expense_sync.store.inbox import InboundEvent
from expense_sync.webhooks import standard
from expense_sync.webhooks.credentials import Misconfigured, NotConfigured, connection_settings, masked
from expense_sync.webhooks.delivery import Delivery, dedup_key, parse_json_object, text
from expense_sync.webhooks.errors import Rejected, not_found
from expense_sync.webhooks.peers import Network, networks, within

SOURCE = "ekuaibao"
CONTENT_TYPES = ("application/json",)
SIGN_KEY_FIELD = "signKey"
DATA_LINK_FIELD, DATA_LINK_EVENT = "dataLinkId", "dataLink"
MIN_TOKEN_CHARS = 16
RATE_LIMITED = True  # unsigned by nature: every delivery takes a token of its address's bucket


@dataclass(frozen=True)
class Access:
    tokens: tuple[bytes, ...]
    allowed: tuple[Network, ...]  # empty: any address
    signed: standard.Secrets | None  # for senders that sign the Standard Webhooks way

    def check_source(self, peer: str) -> None:
        if self.allowed and not within(peer, self.allowed):
            raise Rejected(403, "source address not allowed")

    def check_token(self, given: str | None) -> None:
        candidate = (given or "").encode("utf-8", "replace")
        # compare_digest with every token (no early exit), so the time says nothing either
        if not any([hmac.compare_digest(candidate, token) for token in self.tokens]) or not candidate:
            raise not_found()


def load() -> Access:
    name = EkuaibaoHook.default_conn_name
    _, settings = connection_settings(name, EkuaibaoSettings)
    tokens = [t for t in settings.outbound_path_tokens if t]
    if any(len(t) < MIN_TOKEN_CHARS or not t.isascii() or "/" in t for t in tokens):
        raise Misconfigured(f"connection {name}: outbound_path_tokens need {MIN_TOKEN_CHARS}+ ASCII chars, no '/'")
    try:
        allowed = networks(settings.outbound_allowed_cidrs, f"connection {name} outbound_allowed_cidrs")
    except ValueError as err:
        raise Misconfigured(str(err)) from None
    try:
        signed: standard.Secrets | None = standard.load()
    except NotConfigured:
        signed = None
    if not tokens and signed is None:
        raise NotConfigured(f"connection {name} has no outbound_path_tokens")
    masked(*tokens)
    return Access(tuple(t.encode() for t in tokens), allowed, signed)


def verify(delivery: Delivery, access: Access, now: float) -> InboundEvent:
    access.check_source(delivery.peer)
    if "webhook-signature" in delivery.headers:
        if access.signed is None:
            raise Rejected(401, "bad signature")
        standard.verify(delivery, access.signed, now)  # raises on a wrong signature
    else:
        access.check_token(delivery.path_params.get("token"))
    message = parse_json_object(delivery.body)
    message.pop(SIGN_KEY_FIELD, None)
    flow_id = text(message.get("flowId"))
    instance = text(message.get(DATA_LINK_FIELD))
    if not flow_id and instance:
        canonical = json.dumps(message, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return InboundEvent(
            source=SOURCE,
            dedup_key=dedup_key(DATA_LINK_EVENT, instance, hashlib.sha256(canonical.encode()).hexdigest()[:32]),
            payload_json=json.dumps(message, ensure_ascii=False),
            event_type=DATA_LINK_EVENT,
            subject=instance,
            headers=delivery.kept_headers(),
        )
    if not flow_id:
        raise Rejected(400, "no flowId")
    action = text(message.get("action")) or text(message.get("state"))
    return InboundEvent(
        source=SOURCE,
        dedup_key=dedup_key(flow_id, text(message.get("nodeId")), action),
        payload_json=json.dumps(message, ensure_ascii=False),
        event_type=action,
        subject=flow_id,
        headers=delivery.kept_headers(),
    )


REPLIES = {
    stored: JSONResponse({"code": "1", "status": "stored" if stored else "duplicate"}).body for stored in (True, False)
}


def reply(access: Access, stored: bool | None) -> Response:
    return Response(REPLIES[bool(stored)], media_type="application/json")  # rendered once
