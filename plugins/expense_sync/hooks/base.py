"""The base of every vendor hook.

A vendor hook turns an Airflow connection into a working API client:

* **connection → client**: base URL from host/schema/port, credentials from login/password, hook
  settings from a few validated extras (unknown extras fail loudly instead of becoming headers);
* **token**: fetched once, cached until shortly before it expires, refreshed when the vendor says it
  is invalid (each vendor signals that differently, often inside an HTTP 200 body);
* **retries**: exponential backoff with jitter on timeouts, connection errors, 5xx and throttling,
  honouring ``Retry-After``; throttling reported inside a 200 body counts as throttling; which
  answer or transport failure means what is one table, :mod:`expense_sync.hooks.classify`;
* **rate limit**: a client-side pace per connection, so the vendor never has to throttle us;
* **paging**: :meth:`VendorHook.paginate` drives a paginator from :mod:`expense_sync.hooks.paginate`;
* **secrets**: tokens and passwords are registered with Airflow's masker, and errors name the
  endpoint path only (tokens travel in query strings).

Non-idempotent calls (``idempotent=False``) are only re-sent when the vendor provably did not act
on them (throttled, token refused, never connected); any other failure raises
:class:`OutcomeUnknownError`, and the caller looks the record up before trying again.

Why not ``HttpHook``: it copies unknown connection extras into HTTP headers and builds a new
session (hence a new token) on every ``run()``; we need one session and one token per hook, typed
errors that keep status and vendor code, and vendor-specific body checks. Transport stays
``requests``, retries stay ``tenacity``.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from functools import cached_property
from typing import Any, ClassVar, Generic, TypeVar
from urllib.parse import urlsplit

import requests
from airflow.sdk import BaseHook
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from tenacity import RetryCallState, Retrying, retry_if_exception

from expense_sync.hooks import classify, usage
from expense_sync.hooks.errors import (
    AuthenticationError,
    ConfigurationError,
    OutcomeUnknownError,
    ThrottledError,
    TokenInvalidError,
    TransientVendorError,
    VendorError,
    VendorRequestError,
)
from expense_sync.hooks.paginate import Paginator
from expense_sync.hooks.ratelimit import RateLimiter, limiter_for

log = logging.getLogger(__name__)

TOKEN_LEAD_SECONDS = 300  # refresh a token this long before the vendor says it expires
TOKEN_REFRESHES = 2  # new tokens one call may fetch when the vendor refuses the one it sent


def mask(secret: str | None) -> None:
    """Register a secret with Airflow's log masker (a no-op for empty values)."""
    if secret:
        from airflow.sdk.log import mask_secret

        mask_secret(secret)


class Session(requests.Session):
    """A ``requests`` session that reads the proxy and CA-bundle environment once per origin.

    ``requests`` reads them again for every request (``merge_environment_settings`` scans the whole
    of ``os.environ`` twice: a quarter of the org extract's client CPU before this). A task's
    environment does not change while it runs, so the answer for an origin (and for the session's
    own proxies, verify, cert and stream) is kept: the same call, made once, the same settings."""

    def __init__(self) -> None:
        super().__init__()
        self._environment: dict[tuple, Any] = {}

    def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any) -> Any:
        if proxies or not self.trust_env:
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        parts = urlsplit(url)
        own = (tuple(sorted(self.proxies.items())), self.stream, self.verify, self.cert)
        key = (parts.scheme, parts.netloc, stream, verify, repr(cert), repr(own))
        settings: Any = self._environment.get(key)
        if settings is None:
            settings = self._environment[key] = super().merge_environment_settings(url, proxies, stream, verify, cert)
        return {**settings, "proxies": dict(settings["proxies"])}


class HookSettings(BaseModel):
    """Connection extras every vendor hook understands. Unknown keys are an error."""

    model_config = ConfigDict(extra="forbid")

    rate_limit_qps: float = Field(default=20.0, gt=0)
    timeout: float = Field(default=30.0, gt=0)
    max_attempts: int = Field(default=6, ge=1, le=20)
    backoff_initial: float = Field(default=1.0, ge=0)
    backoff_max: float = Field(default=60.0, ge=0)
    max_retry_after: float = Field(default=300.0, ge=0)
    throttle_wait: float | None = Field(default=None, ge=0)  # wait after a throttle that names none
    concurrency: int = Field(default=4, ge=1, le=32)  # parallel calls a task may make (independent writes)
    verify_ssl: bool = True


Settings = TypeVar("Settings", bound="HookSettings")


class VendorHook(BaseHook, Generic[Settings]):
    """Base class of the vendor hooks. Subclasses declare the vendor and implement auth and checks."""

    conn_name_attr = "conn_id"
    conn_type = "http"
    default_conn_name: ClassVar[str] = ""
    hook_name: ClassVar[str] = "Vendor API"
    vendor: ClassVar[str] = ""
    role: ClassVar[str] = ""  # "oa", "erp" or "expense": the role the vendor fills (see hooks/registry.py)
    quota_qps: ClassVar[float] = 10.0  # the vendor's request quota per app and API (sizes its pool)
    settings_model: type[Settings]  # the model of the connection's extras
    token_param: ClassVar[str | None] = None  # query parameter that carries the token, if any
    # the type JSON numbers with a fraction are read as: ``decimal.Decimal`` where money comes as numbers
    parse_float: ClassVar[type[Any] | None] = None
    html_throttle: ClassVar[bool] = False  # an HTML page on 2xx/5xx is the vendor's gateway throttling us

    def __init__(self, conn_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id or self.default_conn_name
        self._token: str | None = None
        self._token_expires_at = 0.0
        self._lock = threading.RLock()  # the token and the stats are shared by a task's worker threads
        self.stats: Counter[str] = Counter()

    def prerequisites(self) -> list[str]:
        """What this installation must offer beyond the vendor's standard product and does not (a
        custom field, a tenant setting), checked against the vendor: one line each, none when all is
        there. ``python -m expense_sync setup`` prints them. This one checks that the connection
        works (a token or session is issued: unreachable or refused raises); a vendor adds its own
        checks after calling it."""
        self.get_token()
        return []

    # -- connection -> client ---------------------------------------------------------------------
    @cached_property
    def connection(self):
        conn = self.get_connection(self.conn_id)
        mask(conn.password)
        return conn

    @cached_property
    def settings(self) -> Settings:
        extra = self.connection.extra_dejson or {}
        try:
            return self.settings_model(**extra)
        except ValidationError as err:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
            raise ConfigurationError(
                f"connection {self.conn_id!r} has invalid extras: {problems}", vendor=self.vendor
            ) from None

    @cached_property
    def base_url(self) -> str:
        conn = self.connection
        host = (conn.host or "").rstrip("/")
        if not host:
            raise ConfigurationError(f"connection {self.conn_id!r} has no host", vendor=self.vendor)
        if "://" not in host:
            host = f"{conn.schema or 'https'}://{host}"
        if conn.port:
            host = f"{host}:{conn.port}"
        return host

    @cached_property
    def session(self) -> requests.Session:
        session = Session()
        session.headers["User-Agent"] = "expense-sync/0.1"
        session.verify = self.settings.verify_ssl
        return session

    @cached_property
    def limiter(self) -> RateLimiter:
        return limiter_for(self.conn_id, self.settings.rate_limit_qps)

    def url(self, path: str) -> str:
        return path if "://" in path else f"{self.base_url}/{path.lstrip('/')}"

    # -- token ------------------------------------------------------------------------------------
    def fetch_token(self) -> tuple[str, float]:
        """Ask the vendor for a token; return it and its lifetime in seconds."""
        raise NotImplementedError

    def request_token(self, method: str, path: str, **kw: Any) -> Any:
        """Call the vendor's token or login endpoint (unauthenticated). A refusal there means wrong
        credentials, which no retry fixes: it raises :class:`AuthenticationError`."""
        try:
            return self.request(method, path, authorize=False, **kw)
        except (VendorRequestError, TokenInvalidError) as err:
            raise AuthenticationError(
                err.message, vendor=err.vendor or self.vendor, endpoint=err.endpoint, status=err.status, code=err.code
            ) from None

    def get_token(self) -> str:
        with self._lock:
            if self._token is None or time.monotonic() >= self._token_expires_at:
                token, ttl = self.fetch_token()
                mask(token)
                self.count("token_fetches")
                self._token = token
                self._token_expires_at = time.monotonic() + max(ttl - TOKEN_LEAD_SECONDS, ttl / 2)
            return self._token

    def count(self, key: str, n: int = 1) -> None:
        """Add to one of the hook's statistics (thread-safe)."""
        with self._lock:
            self.stats[key] += n
        usage.add(self.vendor, key, n)

    def invalidate_token(self) -> None:
        self._token = None

    def authorize(self, request: dict[str, Any]) -> None:
        """Put the token on a request (default: the ``token_param`` query parameter)."""
        if self.token_param:
            request["params"] = {**(request.get("params") or {}), self.token_param: self.get_token()}

    # -- responses --------------------------------------------------------------------------------
    def check_response(self, response: requests.Response, endpoint: str) -> Any:
        """Turn a response into its body, or raise the typed error :mod:`~expense_sync.hooks.classify`
        says it stands for (the vendor's ``check_body`` reads the body first where the table says so)."""
        status = response.status_code
        rule = classify.for_answer(status, response.headers.get("Content-Type", ""), html_throttle=self.html_throttle)
        body: Any = response.text
        if rule.body_first:
            body = None
            if response.content:
                try:
                    body = response.json(parse_float=self.parse_float)
                except ValueError:
                    body = response.text
            self.check_body(response, body, endpoint)
        if rule.error is None:
            return body
        summary = body if isinstance(body, str) or body is None else json.dumps(body, ensure_ascii=False, default=str)
        message = rule.message.format(body=_short(summary or "") or "no body", location=classify.location(response))
        if issubclass(rule.error, ThrottledError):
            page = rule.content is classify.Content.HTML  # a throttle page names no wait: take the configured one
            wait = retry_after_seconds(response) or (self.settings.throttle_wait if page else None)
            raise ThrottledError(message, retry_after=wait, vendor=self.vendor, endpoint=endpoint, status=status)
        raise rule.error(message, vendor=self.vendor, endpoint=endpoint, status=status)

    def check_body(self, response: requests.Response, body: Any, endpoint: str) -> None:
        """Raise the typed error carried inside a body (vendor-specific; default: nothing)."""

    # -- calls ------------------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        data: Any = None,
        headers: dict[str, str] | None = None,
        authorize: bool = True,
        idempotent: bool = True,
    ) -> Any:
        """Send one API call with retries, the rate limit and token refresh; return the body."""
        retrying = Retrying(
            stop=self._stop,
            wait=self._wait,
            retry=retry_if_exception(lambda e: isinstance(e, TransientVendorError) and not e.retried),
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            return retrying(
                self._send_refreshing_token,
                method,
                path,
                params=params,
                json=json,
                data=data,
                headers=headers,
                authorize=authorize,
                idempotent=idempotent,
            )
        except TransientVendorError as err:
            err.retried = True
            raise

    def _send_refreshing_token(self, method: str, path: str, *, authorize: bool, **kw: Any) -> Any:
        """``_send``; on a refused token, fetch a new one and send again, at most ``TOKEN_REFRESHES`` times."""
        refreshes = TOKEN_REFRESHES if authorize else 0
        while True:  # ends by returning the body or raising the last refusal
            try:
                return self._send(method, path, authorize=authorize, **kw)
            except TokenInvalidError:
                self.count("token_refusals", 1)
                if not refreshes:
                    raise
                refreshes -= 1
                self.invalidate_token()

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None,
        json: Any,
        data: Any,
        headers: dict[str, str] | None,
        authorize: bool,
        idempotent: bool,
    ) -> Any:
        request: dict[str, Any] = {"params": dict(params or {}), "headers": dict(headers or {})}
        if json is not None:
            request["json"] = json
        if data is not None:
            request["data"] = data
        if authorize:
            self.authorize(request)
        self.limiter.acquire()
        self.count("calls", 1)
        endpoint = f"{method} {path.split('?')[0]}"
        try:
            response = self.session.request(
                method, self.url(path), timeout=self.settings.timeout, allow_redirects=False, **request
            )
        except classify.FAILURES as err:
            rule = classify.for_failure(err)
            cls = rule.error or TransientVendorError  # every transport row names its error
            if rule.acted and not idempotent and issubclass(cls, TransientVendorError):
                cls = OutcomeUnknownError
            raise cls(rule.message, vendor=self.vendor, endpoint=endpoint) from None
        try:
            return self.check_response(response, endpoint)
        except ThrottledError as err:
            self.count("throttled", 1)
            if err.retry_after:
                self.limiter.penalize(min(err.retry_after, self.settings.max_retry_after))
            raise
        except TransientVendorError as err:
            if idempotent:
                raise
            raise OutcomeUnknownError(
                err.message, vendor=err.vendor, endpoint=err.endpoint, status=err.status, code=err.code
            ) from None

    def _wait(self, state: RetryCallState) -> float:
        settings = self.settings
        backoff = min(settings.backoff_max, settings.backoff_initial * 2 ** (state.attempt_number - 1))
        wait = random.uniform(backoff / 2, backoff) if backoff else 0.0  # jitter
        err = state.outcome.exception() if state.outcome else None
        if isinstance(err, ThrottledError) and err.retry_after:
            wait = max(wait, err.retry_after)
        return wait

    def _stop(self, state: RetryCallState) -> bool:
        """Stop after the configured attempts, or at once when the vendor blocks us for too long."""
        return state.attempt_number >= self.settings.max_attempts or self._blocked_too_long(state)

    def _blocked_too_long(self, state: RetryCallState) -> bool:
        """Stop retrying when the vendor blocks us for longer than a task should sleep."""
        err = state.outcome.exception() if state.outcome else None
        return bool(
            isinstance(err, ThrottledError) and err.retry_after and err.retry_after > self.settings.max_retry_after
        )

    def _log_retry(self, state: RetryCallState) -> None:
        self.count("retries", 1)
        err = state.outcome.exception() if state.outcome else None
        sleep = state.next_action.sleep if state.next_action else 0
        self.count("slept_ms", int(sleep * 1000))
        log.warning("%s; retry %d in %.1fs", err, state.attempt_number, sleep)

    def paginate(
        self,
        method: str,
        path: str,
        paginator: Paginator,
        *,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        paging_in: str = "params",
    ) -> Iterator[list]:
        """Yield the records of each page of a list call; paging parameters go in ``paging_in``."""

        def fetch(page: dict[str, Any]) -> Any:
            if paging_in == "json":
                return self.request(method, path, params=params, json={**(json or {}), **page})
            return self.request(method, path, params={**(params or {}), **page}, json=json)

        yield from paginator.pages(fetch)


def retry_after_seconds(response: requests.Response) -> float | None:
    """The wait a ``Retry-After`` header asks for (delay-seconds or an HTTP date), if any."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def _short(text: str, limit: int = 300) -> str:
    text = (text or "").strip()
    return text if len(text) <= limit else text[:limit] + "…"


__all__ = ["HookSettings", "VendorError", "VendorHook", "mask"]
