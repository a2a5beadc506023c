"""Client-side rate limit: paces calls so that a connection never exceeds its vendor's QPS.

One limiter per connection id per process, shared by every hook instance on that connection.
Across processes (several Celery workers), the Airflow pool of the vendor bounds concurrency.
"""

from __future__ import annotations

import threading
import time


class RateLimiter:
    """Evenly spaced calls at ``qps`` per second (GCRA with a burst of one).

    A burst of one means the limiter never sends two calls closer together than ``1/qps``, so a
    vendor enforcing ``qps`` with any window or bucket never sees us over its limit.
    """

    def __init__(self, qps: float) -> None:
        if qps <= 0:
            raise ValueError("qps must be positive")
        self.interval = 1.0 / qps
        self._next = 0.0
        self._lock = threading.Lock()
        self.waited = 0.0

    def acquire(self) -> float:
        """Block until the next call may go; return the seconds waited."""
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        wait = start - now
        if wait > 0:
            time.sleep(wait)
            self.waited += wait
        return wait

    def penalize(self, seconds: float) -> None:
        """Push the next allowed call back (after the vendor said it is throttling us)."""
        with self._lock:
            self._next = max(self._next, time.monotonic() + seconds)


_registry: dict[tuple[str, float], RateLimiter] = {}
_registry_lock = threading.Lock()


def limiter_for(conn_id: str, qps: float) -> RateLimiter:
    """The process-wide limiter of a connection."""
    with _registry_lock:
        key = (conn_id, float(qps))
        if key not in _registry:
            _registry[key] = RateLimiter(qps)
        return _registry[key]
