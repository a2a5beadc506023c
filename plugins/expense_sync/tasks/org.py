"""Tasks of ``org_sync_daily``: extract the OA directory, merge it, push the delta to 合思, summarize."""

from __future__ import annotations

import json
import logging
from typing import Any

from airflow.sdk import get_current_context, task

from expense_sync.pools import POOL_EXPENSE, POOL_OA
from expense_sync.tasks.common import record_counts, run_key

log = logging.getLogger(__name__)


@task(pool=POOL_OA)
def extract_directory() -> dict[str, Any]:
    """Read the configured OA's departments and people and land them in staging."""
    from expense_sync.hooks.oa import oa_hook
    from expense_sync.org.extract import extract_directory as extract
    from expense_sync.settings import oa_vendor
    from expense_sync.store.db import connect

    with connect() as conn:
        result = extract(conn, oa_hook(oa_vendor()), run_key())
    record_counts("extract", {"system": result["system"], "rows": result["rows"], "api": result["api"]})
    return result


@task
def merge_directory(extracted: dict[str, Any]) -> dict[str, Any]:
    """Merge the landed loads into the canonical tables (OA wins; leavers deactivated; bad rows quarantined)."""
    from expense_sync.org.merge import merge_directory as merge
    from expense_sync.store.db import connect

    with connect() as conn:
        counts = merge(conn, extracted["loads"], run_key())
    record_counts("merge", counts)
    log.info("merged: %s", json.dumps(counts, ensure_ascii=False))
    return counts


@task(pool=POOL_EXPENSE)
def push_to_expense_system(full: bool = False) -> dict[str, Any]:
    """Push what changed to 合思 (staff and departments), exactly once per change."""
    from expense_sync.hooks.ekuaibao import EkuaibaoHook
    from expense_sync.org.push import push_directory
    from expense_sync.store.db import connect

    context = get_current_context()
    full = bool(full or context["params"].get("full_push"))
    with connect() as conn:
        counts = push_directory(conn, EkuaibaoHook(), run_key(context), full=full)
    record_counts("push", counts)
    log.info("pushed: %s", json.dumps(counts, ensure_ascii=False))
    return counts


@task
def summarize() -> dict[str, Any]:
    """Close the run in the ledger and log what it did, with the open exception queue."""
    from expense_sync.quality.checkpoint import docs_index
    from expense_sync.store.db import connect
    from expense_sync.store.runs import finish_run

    with connect() as conn:
        steps = finish_run(conn, run_key())
        open_items = conn.execute(
            "SELECT kind, entity, count(*) FROM sync.exception_item WHERE status <> 'resolved' "
            "GROUP BY kind, entity ORDER BY kind, entity"
        ).fetchall()
    summary = {"steps": steps, "open_exceptions": [list(r) for r in open_items], "data_docs": docs_index().as_uri()}
    log.info("org sync summary: %s", json.dumps(summary, ensure_ascii=False))
    return summary
