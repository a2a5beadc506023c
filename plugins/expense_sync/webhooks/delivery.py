"""One HTTP delivery as the verifiers see it, and the checks made before any of it is parsed.

Order of the checks (each refusal is final): a declared ``Content-Length`` over the limit → 413;
a media type the sender does not use → 415; the body is read up to the limit, one byte more → 413.
Only then does the sender's verifier look at the bytes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import ClientDisconnect, Request

from expense_sync.webhooks.config import TOLERANCE_SECONDS
from expense_sync.webhooks.errors import Rejected, bad_request, unauthorized
from expense_sync.webhooks.peers import Network, client_address

MAX_KEY_CHARS = 200  # longer dedup keys are stored as their SHA-256
# Request headers worth keeping with an event (for tracing); nothing that authenticates.
KEPT_HEADERS = ("content-type", "user-agent", "webhook-id", "webhook-timestamp", "x-request-id", "x-forwarded-for")


@dataclass(frozen=True)
class Delivery:
    method: str
    headers: Mapping[str, str]  # case-insensitive (Starlette's Headers)
    query: Mapping[str, str]
    body: bytes
    peer: str  # the sender's address (see :func:`.peers.client_address`)
    path_params: Mapping[str, str] = field(default_factory=dict)

    def kept_headers(self, *query_params: str) -> dict[str, str]:
        """The allow-listed headers plus the named query parameters, for the inbox row."""
        kept = {name: self.headers[name][:200] for name in KEPT_HEADERS if name in self.headers}
        kept.update({f"?{name}": self.query[name][:200] for name in query_params if name in self.query})
        return kept


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def check_declared(request: Request, limit: int, content_types: tuple[str, ...]) -> None:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not (declared.isascii() and declared.isdigit()):
            raise bad_request("bad Content-Length")
        if int(declared) > limit:
            raise Rejected(413, "body too large")
    if content_types and media_type(request) not in content_types:
        raise Rejected(415, "unsupported content type")


async def read_body(request: Request, limit: int) -> bytes:
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise Rejected(413, "body too large")
            chunks.append(chunk)
    except ClientDisconnect:
        raise bad_request("client went away before the body ended") from None
    return b"".join(chunks)


def sender_address(request: Request, trusted: Sequence[Network] = ()) -> str:
    """The sender's address: the socket peer, or what ``trusted`` proxies say it is."""
    peer = request.client.host if request.client else ""
    return client_address(peer, request.headers.get("x-forwarded-for"), trusted)


async def receive(
    request: Request, limit: int, content_types: tuple[str, ...], trusted: Sequence[Network] = ()
) -> Delivery:
    """The request as a :class:`Delivery`, after the size and media-type checks."""
    check_declared(request, limit, content_types)
    body = await read_body(request, limit) if request.method == "POST" else b""
    peer = sender_address(request, trusted)
    return Delivery(request.method, request.headers, request.query_params, body, peer, dict(request.path_params))


def check_timestamp(raw: str | None, now: float, *, millis: bool = False) -> str:
    """A Unix timestamp (seconds, or milliseconds) within ±5 minutes of ``now``; returns it as sent."""
    if not raw:
        raise bad_request("missing timestamp")
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 16:
        raise bad_request("bad timestamp")
    seconds = int(raw) / 1000 if millis else int(raw)
    if seconds < now - TOLERANCE_SECONDS:
        raise unauthorized("timestamp too old")
    if seconds > now + TOLERANCE_SECONDS:
        raise unauthorized("timestamp in the future")
    return raw


def dedup_key(*parts: Any) -> str:
    """Join the parts with ``|`` (lists with ``,``); a key longer than 200 characters becomes its hash."""
    key = "|".join(",".join(map(str, p)) if isinstance(p, list) else ("" if p is None else str(p)) for p in parts)
    if len(key) > MAX_KEY_CHARS:
        return "sha256:" + hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()
    return key


def parse_json_object(data: bytes | str, what: str = "body") -> dict[str, Any]:
    """Strict JSON (UTF-8, no NaN/Infinity) that must be an object."""
    try:
        value = json.loads(data, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise bad_request(f"{what} is not valid JSON") from None
    if not isinstance(value, dict):
        raise bad_request(f"{what} is not a JSON object")
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def text(value: Any, limit: int = 200) -> str | None:
    """A scalar event field as text for a key column (``None`` when absent or not a scalar)."""
    if value is None or isinstance(value, dict | list):
        return None
    return str(value)[:limit]
