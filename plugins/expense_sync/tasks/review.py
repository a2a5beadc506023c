"""Tasks of ``exception_review``: the open queue items asked about in the Airflow UI, the answers
applied (see :mod:`expense_sync.store.review`)."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from airflow.sdk import get_current_context, task

from expense_sync.tasks.common import record_counts, run_key, run_step

log = logging.getLogger(__name__)

RESPONSE_TIMEOUT = dt.timedelta(hours=8)  # a working day; unanswered questions count as Defer


@task
def review_questions() -> list[dict[str, Any]]:
    """The open items to ask about: one question each (subject, body, who may answer), mapped over
    by the question task, which is skipped when there is none. Their item ids go to XCom ``items``."""
    from expense_sync.store.answers import assignees
    from expense_sync.store.db import connect
    from expense_sync.store.review import questions

    context = get_current_context()
    with connect() as conn:
        asked = questions(conn, review_deferred=bool(context["params"].get("review_deferred")))
    context["ti"].xcom_push(key="items", value=asked["items"])
    record_counts("questions", {"asked": asked["items"]})
    deciders = {kind: assignees(kind) for kind in ("org", "claims")}
    deciders["claims"] = deciders["claims"] or assignees("chart")  # finance decides the chart too
    return [
        {"subject": q["subject"], "body": q["body"], "options": q["options"], "assigned_users": deciders[q["kind"]]}
        for q in asked["questions"]
    ]


@task(trigger_rule="none_failed")
def apply_review_decisions(items: list[int], answers: Any) -> dict[str, Any]:
    """Close each item a person decided, recording who, when and why."""
    if not items:  # nothing was asked: the question task was skipped
        record_counts("decisions", {})
        return {}
    from expense_sync.store.review import apply_answers

    responses = [answers[i] for i in range(len(items))]
    return run_step("decisions", lambda conn: apply_answers(conn, run_key(), items, responses))


@task
def summarize_review() -> dict[str, Any]:
    """Close the run in the ledger; one line: what was decided, what is still open."""
    from expense_sync.store import sqlfile
    from expense_sync.store.db import connect
    from expense_sync.store.runs import finish_run

    with connect() as conn:
        steps = finish_run(conn, run_key())
        still_open = sqlfile.one(conn.execute(sqlfile.step("store/review", "still_open")))[0]
    decided = steps.get("decisions") or {}
    log.info(
        "exception review: asked %d, decided %s, still open in the queue %d",
        len((steps.get("questions") or {}).get("asked") or []),
        json.dumps(decided, ensure_ascii=False),
        still_open,
    )
    return {"steps": steps, "still_open": still_open}
