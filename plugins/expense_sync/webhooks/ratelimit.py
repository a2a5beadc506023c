"""Per-source token buckets: how many deliveries one address may make, and when it may try again.

No rate-limiting library is among the pinned requirements, and a bucket is a few lines: each source
address holds at most ``burst`` tokens, refilled at ``rate`` tokens per second; a delivery takes one.
When none is left the delivery is refused with 429 and ``Retry-After`` (whole seconds until a token
is back). The table is bounded: past ``max_sources`` addresses the ones idle longest (hence full
again, or nearly) are forgotten, so a flood of spoofed addresses cannot grow it without end.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from expense_sync.webhooks.errors import Rejected

MAX_SOURCES = 10_000


class TokenBuckets:
    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        max_sources: int = MAX_SOURCES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a token bucket needs a positive rate and a burst of at least 1")
        self.rate = rate
        self.burst = float(burst)
        self.max_sources = max_sources
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # source -> (tokens, at)
        self._lock = threading.Lock()

    def wait(self, source: str) -> float:
        """Take a token for ``source``: 0.0 if one was there, else the seconds until one will be."""
        with self._lock:
            now = self._clock()
            tokens, at = self._buckets.pop(source, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            wait = 0.0
            if tokens >= 1.0:
                tokens -= 1.0
            else:
                wait = (1.0 - tokens) / self.rate
            self._buckets[source] = (tokens, now)  # most recently used last
            while len(self._buckets) > self.max_sources:
                self._buckets.popitem(last=False)
            return wait

    def take(self, source: str) -> None:
        """Take a token for ``source`` or refuse the delivery with 429 and ``Retry-After``."""
        wait = self.wait(source)
        if wait > 0:
            raise Rejected(429, "too many requests", retry_after=max(1, math.ceil(wait)))
