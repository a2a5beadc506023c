"""What every vendor sandbox shares: tokens, the rate limit, fault injection and the control API.

A sandbox is a faithful local server of one vendor's API. Each vendor module subclasses
:class:`Sandbox`, adds its routes to ``self.app`` and says how the vendor answers a throttled call,
a server fault and an invalid token. This module adds, for every vendor alike:

* a **rate limit** (token bucket, ``qps`` per second with a one-second burst) answered the way that
  vendor answers throttling (an errcode inside HTTP 200, a 429, an HTML page);
* **fault injection**, deterministic from a seed: ``5xx``, ``throttle``, ``html_throttle``,
  ``timeout`` (the call is dropped unprocessed after a delay), ``slow_commit`` (processed, then
  answered too late: the client cannot know it succeeded) and ``token_expired``;
* a **control API** under ``/_sandbox``: health, reset with a seed and sizes, faults, rate limit,
  token expiry, call statistics, vendor-specific mutations and a dump of the state.

The control API is for tests and the demo; real vendors have nothing like it.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import random
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response

CONTROL_PREFIX = "/_sandbox"
FAULT_KINDS = ("5xx", "throttle", "html_throttle", "timeout", "slow_commit", "token_expired")


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response with Chinese text kept readable (as the vendors send it)."""
    return Response(
        content=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status_code=status,
        media_type="application/json;charset=UTF-8",
        headers=headers,
    )


class VendorHTTPError(Exception):
    """Raised inside a route to answer with the vendor's own error response."""

    def __init__(self, response: Response) -> None:
        self.response = response


@dataclass
class FaultRule:
    """Inject ``kind`` into matching calls: every ``every``-th one, or with probability ``rate``."""

    kind: str
    rate: float = 0.0
    every: int = 0
    paths: list[str] = field(default_factory=lambda: ["*"])
    methods: list[str] = field(default_factory=lambda: ["*"])
    limit: int | None = None  # stop after this many injections
    delay: float = 2.0  # seconds, for timeout and slow_commit
    seen: int = 0
    fired: int = 0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; known: {', '.join(FAULT_KINDS)}")

    def matches(self, method: str, path: str) -> bool:
        return any(fnmatch.fnmatchcase(path, p) for p in self.paths) and ("*" in self.methods or method in self.methods)

    def fire(self, rng: random.Random) -> bool:
        if self.limit is not None and self.fired >= self.limit:
            return False
        self.seen += 1
        hit = (self.every and self.seen % self.every == 0) or (self.rate and rng.random() < self.rate)
        if hit:
            self.fired += 1
        return bool(hit)


class TokenBucket:
    def __init__(self, qps: float | None) -> None:
        self.qps = qps
        self.tokens = qps or 0.0
        self.updated = time.monotonic()

    def take(self) -> bool:
        if not self.qps:
            return True
        now = time.monotonic()
        self.tokens = min(self.qps, self.tokens + (now - self.updated) * self.qps)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class TokenStore:
    """Access tokens with an expiry, as the vendor's auth server keeps them."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self.tokens: dict[str, float] = {}
        self.expired: set[str] = set()
        self.issued = 0

    def issue(self, prefix: str = "") -> tuple[str, float]:
        token = prefix + secrets.token_hex(16)
        self.tokens[token] = time.time() + self.ttl
        self.issued += 1
        return token, self.ttl

    def state(self, token: str | None) -> str:
        """``valid``, ``expired``, ``invalid`` (never issued) or ``missing``."""
        if not token:
            return "missing"
        expires = self.tokens.get(token)
        if expires is None:
            return "expired" if token in self.expired else "invalid"
        return "valid" if expires > time.time() else "expired"

    def valid(self, token: str | None) -> bool:
        return self.state(token) == "valid"

    def expire_all(self) -> None:
        self.expired.update(self.tokens)
        self.tokens.clear()

    def reset(self) -> None:
        """Forget every token and the count of issued ones (a sandbox reset)."""
        self.tokens.clear()
        self.expired.clear()
        self.issued = 0


class Sandbox:
    """One vendor's sandbox. Subclasses set ``vendor`` and add routes in :meth:`routes`."""

    vendor = ""
    token_ttl = 7200.0
    control_ops: tuple[str, ...] = ()  # names accepted by POST /_sandbox/mutate

    def __init__(self, *, seed: int = 1, qps: float | None = None, **sizes: Any) -> None:
        self.app = FastAPI(title=f"{self.vendor} sandbox", docs_url=None, redoc_url=None, openapi_url=None)
        self.app.add_exception_handler(VendorHTTPError, self._vendor_error)
        self.tokens = TokenStore(self.token_ttl)
        self.bucket = TokenBucket(qps)
        self.faults: list[FaultRule] = []
        self.stats: Counter[str] = Counter()
        self.rng = random.Random(seed)
        self.app.include_router(self._control_router(), prefix=CONTROL_PREFIX)
        self.routes()
        self.reset(seed=seed, **sizes)
        self.asgi = _Gate(self.app, self)

    # -- to override ------------------------------------------------------------------------------
    def routes(self) -> None:
        """Add the vendor's API routes to ``self.app``."""

    def reset(self, *, seed: int = 1, **sizes: Any) -> None:
        """Rebuild the vendor's data deterministically from ``seed``."""
        self.rng = random.Random(seed)

    def throttle_response(self, path: str) -> Response:
        return json_response({"message": "too many requests"}, status=429, headers={"Retry-After": "1"})

    def server_error_response(self, path: str) -> Response:
        return json_response({"message": "internal error"}, status=500)

    def html_throttle_response(self, path: str) -> Response:
        html = "<html><body><h1>访问过于频繁，请稍后再试</h1></body></html>"
        return Response(content=html, status_code=200, media_type="text/html;charset=UTF-8")

    def mutate(self, op: str, args: dict[str, Any]) -> Any:
        raise ValueError(f"{self.vendor} sandbox has no mutation {op!r}")

    def dump(self) -> dict[str, Any]:
        """What the sandbox holds now, for tests to read what was written."""
        return {}

    # -- shared helpers ---------------------------------------------------------------------------
    @staticmethod
    async def _vendor_error(request: Request, exc: VendorHTTPError) -> Response:
        return exc.response

    def _control_router(self) -> APIRouter:
        router = APIRouter()

        @router.get("/health")
        async def health() -> dict:
            return {"vendor": self.vendor, "ok": True}

        @router.post("/reset")
        async def reset(request: Request) -> dict:
            args = await _json(request)
            self.faults.clear()
            self.stats.clear()
            self.tokens.reset()
            self.bucket = TokenBucket(args.pop("qps", None))
            self.reset(**args)
            return {"ok": True}

        @router.put("/faults")
        async def set_faults(request: Request) -> dict:
            args = await _json(request)
            self.rng = random.Random(args.get("seed", 1))
            self.faults = [FaultRule(**rule) for rule in args.get("rules", [])]
            return {"ok": True, "rules": len(self.faults)}

        @router.put("/rate-limit")
        async def set_rate_limit(request: Request) -> dict:
            self.bucket = TokenBucket((await _json(request)).get("qps"))
            return {"ok": True}

        @router.post("/expire-tokens")
        async def expire_tokens() -> dict:
            self.tokens.expire_all()
            return {"ok": True}

        @router.get("/stats")
        async def stats() -> dict:
            fired = Counter()
            for rule in self.faults:
                fired[rule.kind] += rule.fired
            return {"calls": dict(self.stats), "faults_fired": dict(fired), "tokens_issued": self.tokens.issued}

        @router.post("/mutate")
        async def mutate(request: Request) -> Response:
            args = await _json(request)
            op = args.pop("op", "")
            try:
                return json_response({"ok": True, "result": self.mutate(op, args)})
            except (KeyError, ValueError) as err:
                return json_response({"ok": False, "error": str(err)}, status=400)

        @router.get("/state")
        async def state() -> Response:
            return json_response(self.dump())

        return router


class _Gate:
    """Pure ASGI wrapper: counts calls, applies the rate limit and injects faults before routing."""

    def __init__(self, app: FastAPI, sandbox: Sandbox) -> None:
        self.app, self.sandbox = app, sandbox

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        sandbox, path, method = self.sandbox, scope["path"], scope["method"]
        sandbox.stats["total"] += 1
        sandbox.stats[f"{method} {path}"] += 1
        if not sandbox.bucket.take():
            sandbox.stats["throttled"] += 1
            await sandbox.throttle_response(path)(scope, receive, send)
            return
        for rule in sandbox.faults:
            if rule.matches(method, path) and rule.fire(sandbox.rng):
                sandbox.stats[f"fault:{rule.kind}"] += 1
                if await self._inject(rule, scope, receive, send):
                    return
                break
        await self.app(scope, receive, send)

    async def _inject(self, rule: FaultRule, scope, receive, send) -> bool:
        """Answer with the fault; return False when the call should still go through."""
        sandbox, path = self.sandbox, scope["path"]
        if rule.kind == "5xx":
            await sandbox.server_error_response(path)(scope, receive, send)
        elif rule.kind == "throttle":
            await sandbox.throttle_response(path)(scope, receive, send)
        elif rule.kind == "html_throttle":
            await sandbox.html_throttle_response(path)(scope, receive, send)
        elif rule.kind == "timeout":
            await asyncio.sleep(rule.delay)  # the client gives up first; nothing was processed
            await JSONResponse({"message": "gateway timeout"}, status_code=504)(scope, receive, send)
        elif rule.kind == "slow_commit":
            # Processed and committed, answered too late. A call the app refuses (an expired token,
            # a validation error) commits nothing: it is answered at once and the rule fires again.
            late = _Late(send, rule.delay)
            await self.app(scope, receive, late)
            if not late.delayed:
                rule.fired -= 1
        elif rule.kind == "token_expired":
            sandbox.tokens.expire_all()
            return False
        return True


class _Late:
    """An ASGI ``send`` that holds a successful answer back for ``delay`` seconds."""

    def __init__(self, send, delay: float) -> None:
        self.send, self.delay, self.delayed = send, delay, False

    async def __call__(self, message) -> None:
        if message["type"] == "http.response.start" and message["status"] < 400:
            self.delayed = True
            await asyncio.sleep(self.delay)
        try:
            await self.send(message)
        except Exception:  # the client has hung up already
            pass


async def _json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    return json.loads(raw) if raw else {}
