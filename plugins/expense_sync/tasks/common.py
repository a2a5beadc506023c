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


def record_counts(step: str, counts: dict[str, Any]) -> None:
    """Keep a step's counts in the run ledger (``sync.run_step``)."""
    from expense_sync.store.db import connect
    from expense_sync.store.runs import record_step

    with connect() as conn:
        record_step(conn, run_key(), step, counts)


def run_step(name: str, work: Callable[[psycopg.Connection], dict[str, Any]]) -> dict[str, Any]:
    """Run one engine step on a middle-platform connection; keep its counts in the run ledger, log
    them and return them (the task's XCom)."""
    from expense_sync.store.db import connect

    with connect() as conn:
        counts = work(conn)
    record_counts(name, counts)
    log.info("%s: %s", name, json.dumps(counts, ensure_ascii=False, default=str))
    return counts
