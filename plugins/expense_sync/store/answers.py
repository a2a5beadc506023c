"""Answers people give to queue items through Airflow's HITL questions: who answered, what and why,
and the answers that decide nothing (a Defer, an item settled meanwhile, a decision without a
reason), recorded the same way for every question.

Every question asks for a free-text **reason** (the form field :data:`REASON`), and is assigned to
the people who decide that kind of question (Variable ``expense_sync_deciders``, see
:func:`assignees`): Airflow's HITL API refuses an answer from anyone else (HTTP 403), and the
reason goes into the item's history (``sync.exception_event``) and the auditors' pack. Airflow does
not check a HITL form field on the server side, so a decision arriving without a reason (the REST
API, an old client) is not applied: it is recorded as ``answer_without_reason`` and the item stays
open, to be asked again in the next run."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import psycopg

from expense_sync.store import queue

DEFER = "Defer"  # every question offers it; an unanswered question becomes it
TIMEOUT_ACTOR = "airflow:timeout"
REASON = "reason"  # the form field of every question
MIN_REASON = 2  # characters: "重复" is a reason


def question_params() -> dict[str, Any]:
    """The form of every question: a free-text reason, required for every option but Defer.

    The field admits ``null``: Airflow validates a task's params, defaults included, before the
    question is even asked, so a field without a default fails the task (Airflow 3.3). The
    requirement is kept where the answer is applied (:func:`decides_nothing`)."""
    from airflow.sdk import Param

    return {
        REASON: Param(
            None,
            type=["null", "string"],
            minLength=MIN_REASON,
            title="Reason (required)",
            description="Why you decide so (a ticket, a name, a fact): it goes into the audit trail. "
            "A decision without a reason is not applied and is asked again.",
        )
    }


def assignees(kind: str) -> list[dict[str, str]] | None:
    """The Airflow users who may answer questions of ``kind`` (``chart`` or ``org``), from Variable
    ``expense_sync_deciders`` (JSON, e.g. ``{"chart": ["finance"], "org": ["hr"]}``); ``None`` (any
    user allowed to edit the DAG) when the Variable names nobody for ``kind``."""
    from expense_sync.settings import deciders

    users = deciders().get(kind) or []
    return [{"id": user, "name": user} for user in users] or None


@dataclass(frozen=True)
class Answer:
    option: str  # the option chosen (DEFER when nobody answered)
    actor: str  # who answered (TIMEOUT_ACTOR when nobody did)
    facts: dict[str, Any]  # user id, time, whether it timed out
    detail: dict[str, Any]  # what the item's events record
    reason: str  # the respondent's reason ("" when none was given)


def read(answer: dict[str, Any] | None, run_key: str) -> Answer:
    """One HITL answer (``None``: the question timed out unanswered)."""
    answer = answer or {}
    user = answer.get("responded_by_user")
    facts = {"user_id": user.get("id") if user else None, "responded_at": answer.get("responded_at")}
    facts["timed_out"] = user is None
    actor = (user.get("name") or user.get("id")) if user else TIMEOUT_ACTOR
    option = (answer.get("chosen_options") or [DEFER])[0]
    reason = str((answer.get("params_input") or {}).get(REASON) or "").strip()
    detail = {"option": option, "run_key": run_key, **facts, **({REASON: reason} if reason else {})}
    return Answer(option, actor, facts, detail, reason)


def decides_nothing(conn: psycopg.Connection, item_id: int, status: str, answer: Answer, counts: Counter) -> bool:
    """Record an answer to an item settled meanwhile (``ignored``), a Defer (``deferred``) or a
    decision without a reason (``without_reason``: the item stays open); True then, False when the
    answer decides the item (the caller applies it, with ``answer.reason`` as the decision's note)."""
    if status == "resolved":
        queue.add_event(conn, item_id, answer.actor, "answer_ignored", {**answer.detail, "why": "already resolved"})
        counts["ignored"] += 1
        return True
    if answer.option == DEFER:
        queue.defer_item(conn, item_id, actor=answer.actor, detail=answer.detail)
        counts["deferred"] += 1
        return True
    if len(answer.reason) < MIN_REASON:
        queue.add_event(conn, item_id, answer.actor, "answer_without_reason", answer.detail)
        counts["without_reason"] += 1
        return True
    return False
