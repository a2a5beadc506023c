"""Tasks every sync DAG uses: migrate the middle platform, and close the run with a summary."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from airflow.sdk import get_current_context, task

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
