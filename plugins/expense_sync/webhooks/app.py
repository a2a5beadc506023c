"""The receiver's FastAPI app: one route per sender, the same steps for each.

``POST /webhooks/{ekuaibao,dingtalk,wecom,standard}`` and ``POST /webhooks/ekuaibao/<token>`` (and
``GET /webhooks/wecom`` for WeCom's URL check; ``GET /health``), under the plugin's url_prefix
(``/expense-sync``) in the api-server:

0. for a sender that cannot sign (合思), a token of its address's bucket (429, :mod:`.ratelimit`);
1. size and media type, before reading the body (413, 415), then the body up to the limit (413)
   and within ``body_timeout`` of the request's start (408, and the connection is closed);
2. the sender's secrets (cached; 404 when the sender is not configured, 503 when misconfigured);
3. the sender's verification of the raw bytes, then parsing (400 malformed, 401 forged or stale);
4. the insert into ``sync.event_inbox``, committed before the answer (with the deliveries that
   arrived meanwhile, in one statement and one commit: :mod:`.writer`; a duplicate inserts nothing;
   503 when the database cannot take it, so that the sender retries, never a 2xx);
5. a poke to the notifier (asset event on ``expense_claims``, coalesced, off the request path);
6. the sender's own success answer (the same for a duplicate).

The inbox connections are opened when the app starts (its lifespan), so the first delivery is as
fast as the next ones; a database that is down then does not stop the start (deliveries get 503).

Every refusal is logged as one line (sender, status, fixed reason, peer), never with the body or a
secret. Anything unexpected is caught by :class:`CatchAll`: one line, and 503 so that the sender
tries again. The app is not behind Airflow's auth: every request authenticates itself.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route

from expense_sync.store.inbox import InboundEvent
from expense_sync.webhooks import dingtalk, ekuaibao, standard, wecom
from expense_sync.webhooks.config import ReceiverSettings
from expense_sync.webhooks.credentials import CredentialCache
from expense_sync.webhooks.delivery import Delivery, receive, sender_address
from expense_sync.webhooks.errors import Rejected
from expense_sync.webhooks.notify import CoalescingNotifier, Notifier
from expense_sync.webhooks.ratelimit import TokenBuckets
from expense_sync.webhooks.writer import InboxWriter

log = logging.getLogger("expense_sync.webhooks")
WARM_SECONDS = 10.0  # the longest the start up waits for the inbox connections
NOT_FOUND = {"detail": "Not Found"}  # FastAPI's answer to a path no route matches


@dataclass(frozen=True)
class Sender:
    """What differs between senders: media types, where the secrets come from, verify, answer."""

    source: str
    content_types: tuple[str, ...]
    load: Callable[[], Any]
    verify: Callable[[Delivery, Any, float], InboundEvent | None]
    reply: Callable[[Any, bool | None], Response]
    rate_limited: bool = False


SENDERS = {
    m.SOURCE: Sender(m.SOURCE, m.CONTENT_TYPES, m.load, m.verify, m.reply, getattr(m, "RATE_LIMITED", False))
    for m in (ekuaibao, dingtalk, wecom, standard)
}


class Receiver:
    """One app's state: the secrets cache, the inbox writer and the notifier."""

    def __init__(
        self,
        settings: ReceiverSettings,
        notifier: Notifier | None,
        connect: Callable[[], psycopg.Connection] | None = None,
    ) -> None:
        self.settings = settings
        self.credentials = CredentialCache(settings.config_ttl)
        self._notify_to = notifier
        self.notifier = CoalescingNotifier(notifier, settings.notify_interval) if notifier else None
        self._connect = connect
        self._writer: InboxWriter | None = None
        self.trusted = settings.trusted_networks()
        self.buckets = TokenBuckets(settings.rate_per_second, settings.rate_burst)

    @property
    def writer(self) -> InboxWriter:
        if self._writer is None:  # created on first use: importing the plugin opens nothing
            self._writer = InboxWriter(self.settings.pool_size, self.settings.db_timeout, self._connect)
        return self._writer

    async def secrets(self, sender: Sender) -> Any:
        if self.credentials.fresh(sender.source):
            return self.credentials.get(sender.source, sender.load)
        return await run_in_threadpool(self.credentials.get, sender.source, sender.load)  # Airflow lookups

    async def deliver(self, sender: Sender, request: Request) -> Response:
        try:
            if sender.rate_limited:
                self.buckets.take(sender_address(request, self.trusted))
            delivery = await receive(request, self.settings.max_body_bytes, sender.content_types, self.trusted)
            secrets = await self.secrets(sender)
            event = sender.verify(delivery, secrets, time.time())
            stored = None
            if event is not None:
                stored = await self.writer.store(event)
                if stored and self.notifier is not None:
                    self.notifier.poke(event.source)
                log.debug(
                    "webhook %s: source=%s type=%s", "stored" if stored else "duplicate", event.source, event.event_type
                )
            return sender.reply(secrets, stored)
        except Rejected as rejected:
            return refuse(sender.source, request, rejected)

    async def wecom_url_check(self, request: Request) -> Response:
        sender = SENDERS[wecom.SOURCE]
        try:
            delivery = await receive(request, self.settings.max_body_bytes, (), self.trusted)
            return wecom.verify_url(delivery, await self.secrets(sender), time.time())
        except Rejected as rejected:
            return refuse(sender.source, request, rejected)

    def close(self) -> None:
        """Flush and stop the notifier and the writer threads (the app's shutdown). The receiver is
        left as new: served again in the same process (the plugin's app is one per process: another
        api-server app, a reload, a test), it starts fresh threads and connections."""
        if self.notifier is not None and self._notify_to is not None:
            self.notifier.close()
            self.notifier = CoalescingNotifier(self._notify_to, self.settings.notify_interval)
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def refuse(source: str, request: Request, rejected: Rejected) -> JSONResponse:
    """One log line, and the answer: a 404 is the app's own answer to an unknown path, word for word."""
    peer = request.client.host if request.client else "-"
    log.warning(
        "webhook refused: source=%s status=%d reason=%s peer=%s%s",
        source,
        rejected.status,
        rejected.reason,
        peer,
        f" ({rejected.detail})" if rejected.detail else "",
    )
    headers = {"Retry-After": str(rejected.retry_after)} if rejected.retry_after else {}
    if rejected.status == 408:  # the rest of a stalled body is not waited for
        headers["Connection"] = "close"
    if rejected.status == 404:
        return JSONResponse(NOT_FOUND, 404)
    return JSONResponse({"error": rejected.reason}, rejected.status, headers=headers)


class BodyTimeout:
    """Pure ASGI guard: the whole request body must arrive within ``seconds`` of the request's start.

    A read that would end later raises :class:`Rejected` (408), which the route answers as any
    refusal; a client that stalls its body cannot hold a connection for ever."""

    def __init__(self, app: Any, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.seconds
        body_done = False

        async def timed_receive() -> dict:
            nonlocal body_done
            if body_done:  # after the body only a disconnect can come: no time limit
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):  # a timer, not a task per read as wait_for makes
                    message = await receive()
            except TimeoutError:
                raise Rejected(408, "body too slow", detail=f"not complete after {self.seconds:g} s") from None
            body_done = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        await self.app(scope, timed_receive, send)


class CatchAll:
    """Pure ASGI guard: an unexpected exception becomes one log line and a 503, never a 500."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: dict) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as err:
            log.error("webhook failed: path=%s error=%s", _loggable(scope.get("path")), type(err).__name__)
            log.debug("webhook failure", exc_info=True)
            if not started:
                response = JSONResponse({"error": "temporarily unavailable"}, 503, headers={"Retry-After": "5"})
                await response(scope, receive, send)


def _loggable(path: str | None) -> str:
    """The path without the secret token of the 合思 route."""
    head, marker, _ = (path or "").partition(f"/webhooks/{ekuaibao.SOURCE}/")
    return head + marker + "<token>" if marker else (path or "")


def create_app(
    *,
    notifier: Notifier | None = None,
    settings: ReceiverSettings | None = None,
    prefix: str = "",
    connect: Callable[[], psycopg.Connection] | None = None,
) -> FastAPI:
    """The receiver app. ``notifier`` gets the asset events (see :mod:`.notify`); ``connect`` makes
    the inbox connections (default: ``mdm_postgres``); ``prefix`` is for serving it standalone."""
    receiver = Receiver(settings or ReceiverSettings.from_env(), notifier, connect)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # Open the inbox connections off the event loop; a database that is down only logs, and a slow
        # one does not hold the start up for more than WARM_SECONDS (the opening goes on meanwhile).
        warming = asyncio.get_running_loop().run_in_executor(None, receiver.writer.warm)
        await asyncio.wait([warming], timeout=WARM_SECONDS)
        yield
        receiver.close()

    app = FastAPI(title="expense-sync webhooks", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.receiver = receiver
    app.add_middleware(BodyTimeout, seconds=receiver.settings.body_timeout)
    app.add_middleware(CatchAll)  # the outermost
    # Plain ASGI endpoints on Starlette routes: the handlers take the raw request, so FastAPI's
    # parameter machinery, or Starlette's request-response wrapper, would only add cost per delivery.
    for sender in SENDERS.values():
        app.router.routes.append(
            Route(
                f"{prefix}/webhooks/{sender.source}",
                _Endpoint(receiver, sender),
                methods=["POST"],
                name=f"webhook_{sender.source}",
            )
        )
    app.router.routes.append(  # 合思 signs nothing: its 调用Url carries a secret token (see .ekuaibao)
        Route(
            f"{prefix}/webhooks/{ekuaibao.SOURCE}/{{token}}",
            _Endpoint(receiver, SENDERS[ekuaibao.SOURCE]),
            methods=["POST"],
            name="webhook_ekuaibao_token",
        )
    )
    app.add_route(f"{prefix}/webhooks/wecom", receiver.wecom_url_check, methods=["GET"], name="wecom_url_check")
    app.add_route(f"{prefix}/health", _health, methods=["GET"], name="health")
    return app


class _Endpoint:
    """A sender's route as a plain ASGI app: Starlette serves it as is, without wrapping it in a
    request-response adapter and an exception handler of its own (CatchAll is the only one)."""

    def __init__(self, receiver: Receiver, sender: Sender) -> None:
        self.receiver = receiver
        self.sender = sender

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        response = await self.receiver.deliver(self.sender, Request(scope, receive, send))
        await response(scope, receive, send)


async def _health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})
