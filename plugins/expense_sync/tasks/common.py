"""What every sync DAG's tasks share: the run key, the migration task, and running one engine step
with its counts kept in the run ledger."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from airflow.sdk import get_current_context, task

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

VENDOR_API = "vendor_api"  # the run ledger's key of the API calls per vendor a step made


def run_key(context: Mapping[str, Any] | None = None) -> str:
    """The run ledger's key of the current DAG run: ``<dag_id>/<run_id>`` (the one place that composes it)."""
    context = context or get_current_context()
    return f"{context['dag'].dag_id}/{context['run_id']}"


@task
def migrate_mdm() -> list[str]:
    """Apply pending SQL migrations to the middle platform (idempotent)."""
    from expense_sync.store.db import connect
    from expense_sync.store.migrate import migrate

    with connect() as conn:
        return migrate(conn)


def record_counts(step: str, counts: dict[str, Any], used: dict[str, dict[str, int]] | None = None) -> None:
    """Keep a step's counts in the run ledger (``sync.run_step``), with the vendor API calls it made
    (``used``: what :func:`expense_sync.hooks.usage.metered` collected) under ``vendor_api``."""
    from expense_sync.store.db import connect
    from expense_sync.store.runs import record_step

    with connect() as conn:
        record_step(conn, run_key(), step, counts if used is None else {**counts, VENDOR_API: used})


def run_step(name: str, work: Callable[[psycopg.Connection], dict[str, Any]]) -> dict[str, Any]:
    """Run one engine step on a middle-platform connection; keep its counts in the run ledger, with
    the vendor API calls the step made (``vendor_api``, see :mod:`expense_sync.hooks.usage`), log
    them and return the step's own counts (the task's XCom)."""
    from expense_sync.hooks import usage
    from expense_sync.store.db import connect

    try:
        with usage.metered() as used, connect() as conn:
            counts = work(conn)
    except Exception as err:  # the cause in one line, above the traceback Airflow prints
        log.error("%s failed: %s: %s", name, type(err).__name__, str(err).strip().splitlines()[0] if str(err) else "")
        raise
    record_counts(name, counts, used)
    log.debug("%s: %s", name, json.dumps(counts, ensure_ascii=False, default=str))
    log.info("%s done: %s", name, human({**counts, "api calls": {v: c["calls"] for v, c in used.items()}}))
    return counts


def human(counts: Mapping[str, Any], limit: int = 600) -> str:
    """A step's counts as one line a person reads: nested keys joined by spaces, zeros and empties
    left out (``loads gl_account rows 120, loads project skipped: service not activated``)."""
    parts: list[str] = []

    def walk(value: Any, path: str) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                walk(item, f"{path} {key}".strip())
        elif isinstance(value, list | tuple):
            if value:
                parts.append(f"{path} {len(value)}")
        elif value is None or value is False or value == 0 or value == "":
            return
        elif value is True:
            parts.append(path)
        elif isinstance(value, str) and path.endswith("skipped"):
            parts.append(f"{path}: {value}")
        else:
            parts.append(f"{path} {value}")

    walk(counts, "")
    line = ", ".join(parts) or "nothing to do"
    return line if len(line) <= limit else line[: limit - 1] + "…"
