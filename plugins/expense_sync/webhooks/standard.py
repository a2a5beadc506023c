"""Standard Webhooks (standardwebhooks.com, v1 symmetric signatures), verified by its own library.

Headers ``webhook-id``, ``webhook-timestamp`` (Unix seconds, ±5 minutes both ways) and
``webhook-signature`` (space-separated ``v1,<base64>`` entries: any match is enough). The HMAC
covers ``{id}.{timestamp}.{raw body}``, so the body is verified exactly as received and parsed
after. The body must be a UTF-8 JSON object; its ``type`` is the event type.

Secrets: the Airflow Variable ``expense_sync_webhook_secrets``, either ``whsec_…`` secrets separated
by spaces, or a JSON list whose items are a secret or ``{"secret": "whsec_…", "not_after":
"<ISO 8601>"}``. During a rotation list the new and the old secret; give the old one a
``not_after`` to end its grace window (after it, deliveries signed only with it are refused).

A secret must hold at least 24 random bytes (after base64 decoding; the spec's generators make 24
to 64); a shorter one is a misconfiguration.

Dedup key: ``webhook-id`` (the same on every retry of an event, per the spec).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi.responses import JSONResponse, Response
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from expense_sync.settings import VAR_WEBHOOK_SECRETS
from expense_sync.store.inbox import InboundEvent
from expense_sync.webhooks.credentials import Misconfigured, NotConfigured, masked, variable
from expense_sync.webhooks.delivery import Delivery, check_timestamp, parse_json_object, text
from expense_sync.webhooks.errors import bad_request, unauthorized

SOURCE = "standard"
CONTENT_TYPES = ("application/json",)
MAX_ID_CHARS = 255
MAX_SIGNATURE_CHARS = 4096
MIN_SECRET_BYTES = 24
SECRET_PREFIX = "whsec_"


@dataclass(frozen=True)
class Secret:
    webhook: Webhook
    not_after: float | None = None  # Unix time after which this secret no longer verifies


@dataclass(frozen=True)
class Secrets:
    items: tuple[Secret, ...]

    def active(self, now: float) -> list[Webhook]:
        return [s.webhook for s in self.items if s.not_after is None or now <= s.not_after]


def _entries(raw: str) -> list[Any]:
    if raw.lstrip().startswith("["):
        try:
            entries = json.loads(raw)
        except ValueError:
            raise Misconfigured(f"Variable {VAR_WEBHOOK_SECRETS} is not a JSON list") from None
        return entries if isinstance(entries, list) else [entries]
    return raw.split()


def _secret(number: int, entry: Any) -> Secret:
    where = f"Variable {VAR_WEBHOOK_SECRETS} item {number}"
    not_after = None
    if isinstance(entry, dict):
        raw_not_after = entry.get("not_after")
        entry = entry.get("secret")
        if raw_not_after is not None:
            try:
                moment = datetime.fromisoformat(str(raw_not_after))
            except ValueError:
                raise Misconfigured(f"{where}: not_after is not an ISO 8601 time") from None
            not_after = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
    if not isinstance(entry, str) or not entry:
        raise Misconfigured(f"{where}: no secret")
    masked(entry)
    try:  # decoded as the library decodes it (unpadded base64 allowed), to check its length first
        key = base64.b64decode(entry.removeprefix(SECRET_PREFIX) + "==")
    except (binascii.Error, ValueError):
        raise Misconfigured(f"{where}: not a whsec_ base64 secret") from None
    if len(key) < MIN_SECRET_BYTES:
        raise Misconfigured(f"{where}: secret shorter than {MIN_SECRET_BYTES} bytes")
    return Secret(Webhook(key), not_after)


def load() -> Secrets:
    raw = variable(VAR_WEBHOOK_SECRETS)
    entries = _entries(raw) if raw else []
    if not entries:
        raise NotConfigured(f"Variable {VAR_WEBHOOK_SECRETS} is not set")
    return Secrets(tuple(_secret(n, entry) for n, entry in enumerate(entries, 1)))


def _message_id(value: str | None) -> str:
    if not value:
        raise bad_request("missing webhook-id")
    if len(value) > MAX_ID_CHARS or not value.isascii() or not value.isprintable() or any(c in value for c in " ."):
        raise bad_request("bad webhook-id")
    return value


def _signatures(value: str | None) -> str:
    if not value:
        raise unauthorized("missing webhook-signature")
    if len(value) > MAX_SIGNATURE_CHARS:
        raise bad_request("webhook-signature too long")
    # The library splits on single spaces and on one comma: keep the well-formed entries only.
    entries = [entry for entry in value.split() if entry.count(",") == 1]
    if not entries:
        raise unauthorized("bad signature")
    return " ".join(entries)


def verify(delivery: Delivery, secrets: Secrets, now: float) -> InboundEvent:
    headers = delivery.headers
    msg_id = _message_id(headers.get("webhook-id"))
    timestamp = check_timestamp(headers.get("webhook-timestamp"), now)
    signatures = _signatures(headers.get("webhook-signature"))
    try:
        body = delivery.body.decode("utf-8")
    except UnicodeDecodeError:
        raise bad_request("body is not UTF-8") from None
    signed = {"webhook-id": msg_id, "webhook-timestamp": timestamp, "webhook-signature": signatures}
    if not any(_matches(webhook, body, signed) for webhook in secrets.active(now)):
        raise unauthorized("bad signature")
    payload = parse_json_object(body)
    return InboundEvent(
        source=SOURCE,
        dedup_key=msg_id,
        payload_json=body,
        event_type=text(payload.get("type")),
        headers=delivery.kept_headers(),
    )


def _matches(webhook: Webhook, body: str, headers: dict[str, str]) -> bool:
    try:
        webhook.verify(body, headers, json_parse=False)
    except (WebhookVerificationError, ValueError):  # ValueError includes binascii.Error
        return False
    return True


REPLIES = {flag: JSONResponse({"status": "stored" if flag else "duplicate"}).body for flag in (True, False)}


def reply(secrets: Secrets, stored: bool | None) -> Response:
    return Response(REPLIES[bool(stored)], media_type="application/json")  # rendered once
