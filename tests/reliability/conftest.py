"""The reliability suite (``make reliability``): fault-injection scenarios against the vendor sandboxes
and a real PostgreSQL. Each scenario records one row — tried / accepted / refused / lost / duplicated —
and fails unless nothing is lost or duplicated; the session ends by printing the table and writing it
to ``test-artifacts/reliability.md``. Marked ``reliability``: ``make test`` leaves them out (they are
long); every case they repeat at scale has a focused test in ``make test``."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

from testkit import ROOT

# The inbound scenarios reuse the webhook and claim-intake tests' own cases and senders (imported by
# module name): their folders are importable before any scenario module is collected.
for _folder in ("webhooks", "claims"):
    _path = str(ROOT / "tests" / "plugins" / "expense_sync" / _folder)
    if _path not in sys.path:
        sys.path.insert(0, _path)

ROWS: list[dict] = []
COLUMNS = ("scenario", "tried", "accepted", "refused", "lost", "duplicated", "verdict")


@pytest.fixture
def figures():
    """Record a scenario's row: ``figures(scenario, tried=…, accepted=…, refused=…, lost=…, duplicated=…)``."""

    def record(scenario: str, **counts: int) -> dict:
        row = {"scenario": scenario, **counts}
        row["verdict"] = "ok" if counts["lost"] == 0 and counts["duplicated"] == 0 else "FAIL"
        ROWS.append(row)
        return row

    return record


def table() -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(str(row[c]) for c in COLUMNS) + " |" for row in ROWS]
    return "\n".join(lines)


def pytest_terminal_summary(terminalreporter):
    if not ROWS:
        return
    text = table()
    terminalreporter.write_sep("=", "reliability")
    terminalreporter.write_line(text)
    out = ROOT / "test-artifacts" / "reliability.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    out.write_text(f"`make reliability`, {stamp}\n\n{text}\n", encoding="utf-8")
    terminalreporter.write_line(f"written to {Path(out).relative_to(ROOT)}")
