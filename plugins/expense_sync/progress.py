"""Progress lines for long loops (an extract landing 100 000 people, a push of thousands of items):
at most one line every ``every`` seconds, with the count so far, the rate and, when the total is
known, the time left. A loop shorter than ``every`` logs nothing."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
log = logging.getLogger("expense_sync.progress")


class Progress:
    def __init__(
        self,
        what: str,
        *,
        total: int | None = None,
        every: float = 15.0,
        extra: Callable[[], str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.what, self.total, self.every, self.extra, self.clock = what, total, every, extra, clock
        self.done = 0
        self.started = self.last = clock()

    def tick(self, n: int = 1) -> None:
        self.done += n
        now = self.clock()
        if now - self.last >= self.every:
            self.last = now
            log.info("%s", self.line(now))

    def line(self, now: float) -> str:
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed
        text = f"{self.what}: {self.done:,}" + (f" of {self.total:,}" if self.total else "") + f" so far, {rate:,.0f}/s"
        if self.total and rate > 0:
            text += f", about {max(self.total - self.done, 0) / rate:,.0f} s left"
        if self.extra:
            text += f", {self.extra()}"
        return text


def tracked(items: Iterable[T], what: str, **kw) -> Iterator[T]:
    """Iterate ``items`` with a :class:`Progress` line every so often."""
    progress = Progress(what, **kw)
    for item in items:
        yield item
        progress.tick()
