"""Helpers shared by the webhook receiver tests (the fixtures are in conftest.py)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any


def inbox_rows(conn) -> list[dict[str, Any]]:
    cur = conn.execute(
        "SELECT event_id, source, dedup_key, event_type, subject, headers, payload, status, "
        "attempts FROM sync.event_inbox ORDER BY event_id"
    )
    names = [c.name for c in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def refusals(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("webhook refused")]


@dataclass
class Notifications:
    """A test notifier: records every asset event's extra; ``fail`` makes it raise like a dead Airflow."""

    fail: bool = False
    calls: list[dict] = field(default_factory=list)
    called: threading.Event = field(default_factory=threading.Event)

    def __call__(self, extra: dict) -> None:
        self.calls.append(extra)
        self.called.set()
        if self.fail:
            raise ConnectionError("Airflow API unreachable")

    def wait(self, timeout: float = 10) -> None:
        assert self.called.wait(timeout), "no asset notification was sent"
