"""Tasks of ``org_sync_daily``: extract the OA directory, merge it, push the delta to 合思, ask about
held mass deactivations, summarize."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from airflow.sdk import get_current_context, task

from expense_sync.pools import POOL_EXPENSE, POOL_OA
from expense_sync.tasks.common import record_counts, run_key, run_step

log = logging.getLogger(__name__)
# An unanswered question becomes "Defer" (the deactivations stay held) before the next daily run.
RESPONSE_TIMEOUT = dt.timedelta(hours=12)


@task(pool=POOL_OA)
def extract_directory() -> dict[str, Any]:
    """Land the configured OA's departments and people in staging: read whole, or only what its
    contact-change events name between full reads (``expense_sync.org.changes``)."""
    from expense_sync.hooks import usage
    from expense_sync.hooks.registry import oa_hook
    from expense_sync.org.changes import read_directory
    from expense_sync.settings import oa_vendor, org_full_read_every
    from expense_sync.store.db import connect

    full = bool(get_current_context()["params"].get("full_read"))
    with usage.metered() as used, connect() as conn:
        result = read_directory(conn, oa_hook(oa_vendor()), run_key(), full_every=org_full_read_every(), full=full)
    counts = {key: result[key] for key in ("system", "rows", "read", "api")}
    record_counts("extract", counts, used)
    log.info("OA directory read: %s", json.dumps(result["read"], ensure_ascii=False))
    return result


@task
def merge_directory(extracted: dict[str, Any]) -> dict[str, Any]:
    """Merge the landed loads into the canonical tables (OA wins; leavers deactivated; bad rows quarantined)."""
    from expense_sync.org.merge import merge_directory as merge
    from expense_sync.settings import org_max_deactivation

    return run_step(
        "merge", lambda conn: merge(conn, extracted["loads"], run_key(), max_deactivation=org_max_deactivation())
    )


@task(pool=POOL_EXPENSE)
def push_to_expense_system(full: bool = False) -> dict[str, Any]:
    """Push what changed to 合思 (staff and departments), exactly once per change."""
    from expense_sync.hooks.ekuaibao import EkuaibaoHook
    from expense_sync.org.push import push_directory
    from expense_sync.settings import org_max_deactivation

    context = get_current_context()
    full = bool(full or context["params"].get("full_push"))
    share = org_max_deactivation()  # also bounds the disables of staff only 合思 holds
    return run_step(
        "push",
        lambda conn: push_directory(conn, EkuaibaoHook(), run_key(context), full=full, max_deactivation=share),
    )


@task
def deactivation_questions() -> list[dict[str, Any]]:
    """The held mass deactivations to ask about: one question each (subject, body), mapped over by the
    question task, which is skipped when there is none. Their queue item ids go to XCom ``items``."""
    from expense_sync.org.guard import questions
    from expense_sync.store.answers import assignees
    from expense_sync.store.db import connect

    with connect() as conn:
        asked = questions(conn)
    get_current_context()["ti"].xcom_push(key="items", value=asked["items"])
    record_counts("questions", {"asked": asked["items"]})
    assigned = assignees("org")  # only they may answer (HTTP 403 for anyone else)
    return [{**question, "assigned_users": assigned} for question in asked["questions"]]


@task(trigger_rule="none_failed", pool=POOL_EXPENSE)
def apply_deactivation_decisions(items: list[int], answers: Any) -> dict[str, Any]:
    """Apply each answer (deactivate / keep active / defer), record who, when and what, and push."""
    if not items:  # nothing was asked: the question task was skipped
        record_counts("decisions", {})
        return {}
    from expense_sync.hooks.ekuaibao import EkuaibaoHook
    from expense_sync.org.guard import apply_answers

    responses = [answers[i] for i in range(len(items))]
    return run_step("decisions", lambda conn: apply_answers(conn, EkuaibaoHook(), run_key(), items, responses))


@task
def summarize_org_sync() -> dict[str, Any]:
    """Close the run in the ledger and log what it did, with the open exception queue; records
    quarantined or conflicts queued by this run leave a note and an alert (expense_sync.outcomes)."""
    from expense_sync.outcomes import close, outcome_of
    from expense_sync.quality.checkpoint import docs_index
    from expense_sync.store import sqlfile
    from expense_sync.store.db import connect
    from expense_sync.store.runs import finish_run

    with connect() as conn:
        steps = finish_run(conn, run_key())
        open_items = conn.execute(sqlfile.step("tasks/org", "open_exceptions")).fetchall()
        outcome = outcome_of(conn, run_key(), None)
    summary = {"steps": steps, "open_exceptions": [list(r) for r in open_items], "data_docs": docs_index().as_uri()}
    log.info("org sync summary: %s", json.dumps(summary, ensure_ascii=False))
    summary["outcome"] = close(outcome)  # quarantined / conflicts: a note and an alert, the run stays green
    return summary
