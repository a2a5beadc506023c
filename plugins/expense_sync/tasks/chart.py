"""Tasks of ``expense_category_sync_weekly``: the ERP chart into the middle platform, reconciled with 合思."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from airflow.sdk import get_current_context, task

from expense_sync.pools import POOL_ERP, POOL_EXPENSE
from expense_sync.tasks.common import record_counts, run_key, run_step

log = logging.getLogger(__name__)
RESPONSE_TIMEOUT = dt.timedelta(days=3)  # an unanswered conflict question becomes "Defer" after this


def _param(name: str) -> bool:
    return bool(get_current_context()["params"].get(name))


@task(pool=POOL_ERP)
def extract_chart() -> dict[str, Any]:
    """Land the configured ERP's GL accounts, expense items, cost centers and projects in staging."""
    from expense_sync.chart.extract import extract_chart as extract
    from expense_sync.hooks.registry import erp_hook
    from expense_sync.settings import erp_vendor

    return run_step("extract", lambda conn: extract(conn, erp_hook(erp_vendor()), run_key(), full=_param("full_sync")))


@task
def merge_chart(extracted: dict[str, Any]) -> dict[str, Any]:
    """Merge the loads into the canonical chart (ERP wins; malformed records quarantined)."""
    from expense_sync.chart.merge import merge_chart as merge

    return run_step("merge", lambda conn: merge(conn, extracted["loads"], run_key()))


@task(pool=POOL_EXPENSE)
def read_expense_side() -> dict[str, Any]:
    """Read 合思's fee types and the cost center / project items changed since the last read."""
    from expense_sync.chart.expense_side import read_expense_side as read
    from expense_sync.hooks.ekuaibao import EkuaibaoHook

    return run_step("read_expense_side", lambda conn: read(conn, EkuaibaoHook(), run_key()))


@task
def reconcile_categories() -> dict[str, Any]:
    """Map expense categories onto fee types; queue what needs a person."""
    from expense_sync.chart.categories import reconcile_categories as reconcile

    return run_step("categories", lambda conn: reconcile(conn, run_key()))


@task(pool=POOL_EXPENSE)
def push_dimensions(expense: dict[str, Any]) -> dict[str, Any]:
    """Push cost centers and projects to 合思; changes on both sides become conflicts."""
    from expense_sync.chart.push import push_dimensions as push
    from expense_sync.hooks.ekuaibao import EkuaibaoHook

    return run_step(
        "push", lambda conn: push(conn, EkuaibaoHook(), run_key(), expense["dimensions"], full=_param("full_sync"))
    )


@task
def conflict_questions() -> list[dict[str, Any]]:
    """The open conflicts to ask about: one question each (subject, body), mapped over by the
    question task, which is skipped when there is none. Their queue item ids go to XCom ``items``."""
    from expense_sync.chart.decisions import questions
    from expense_sync.store.answers import assignees
    from expense_sync.store.db import connect

    with connect() as conn:
        asked = questions(conn, review_deferred=_param("review_deferred"))
    get_current_context()["ti"].xcom_push(key="items", value=asked["items"])
    record_counts("questions", {"asked": asked["items"]})
    assigned = assignees("chart")  # only they may answer (HTTP 403 for anyone else)
    return [{**question, "assigned_users": assigned} for question in asked["questions"]]


@task(trigger_rule="none_failed", pool=POOL_EXPENSE)
def apply_decisions(items: list[int], answers: Any, expense: dict[str, Any]) -> dict[str, Any]:
    """Apply each answer (take ERP / keep 合思 / defer) and record who, when and what."""
    if not items:  # nothing was asked: the question task was skipped
        record_counts("decisions", {})
        return {}
    from expense_sync.chart.decisions import apply_answers
    from expense_sync.hooks.ekuaibao import EkuaibaoHook

    responses = [answers[i] for i in range(len(items))]
    return run_step(
        "decisions",
        lambda conn: apply_answers(conn, EkuaibaoHook(), run_key(), expense["dimensions"], items, responses),
    )


@task
def summarize_chart_sync() -> dict[str, Any]:
    """Close the run in the ledger and log what it did, with the conflicts still open; conflicts this
    run left waiting for a person leave a note and an alert (expense_sync.outcomes)."""
    from expense_sync.chart.decisions import decisions_log
    from expense_sync.outcomes import close, outcome_of
    from expense_sync.quality.checkpoint import docs_index
    from expense_sync.store import sqlfile
    from expense_sync.store.db import connect
    from expense_sync.store.runs import finish_run

    key = run_key()
    with connect() as conn:
        steps = finish_run(conn, key)
        decided = decisions_log(conn, key)
        still_open = conn.execute(sqlfile.step("tasks/chart", "open_exceptions")).fetchall()
        outcome = outcome_of(conn, key, ["gl_account", "expense_category", "cost_center", "project"])
    summary = {
        "steps": steps,
        "decisions": decided,
        "open_exceptions": [list(r) for r in still_open],
        "data_docs": docs_index().as_uri(),
    }
    log.info("chart sync summary: %s", json.dumps(summary, ensure_ascii=False, default=str))
    summary["outcome"] = close(outcome)  # conflicts left waiting / quarantined: a note and an alert
    return summary
