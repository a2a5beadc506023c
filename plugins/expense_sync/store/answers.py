"""Answers people give to queue items through Airflow's HITL questions: who answered and what, and
the answers that decide nothing (a Defer, or an item settled meanwhile), recorded the same way for
every question."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import psycopg

from expense_sync.store import queue

DEFER = "Defer"  # every question offers it; an unanswered question becomes it
TIMEOUT_ACTOR = "airflow:timeout"


@dataclass(frozen=True)
class Answer:
    option: str  # the option chosen (DEFER when nobody answered)
    actor: str  # who answered (TIMEOUT_ACTOR when nobody did)
    facts: dict[str, Any]  # user id, time, whether it timed out
    detail: dict[str, Any]  # what the item's events record


def read(answer: dict[str, Any] | None, run_key: str) -> Answer:
    """One HITL answer (``None``: the question timed out unanswered)."""
    answer = answer or {}
    user = answer.get("responded_by_user")
    facts = {"user_id": user.get("id") if user else None, "responded_at": answer.get("responded_at")}
    facts["timed_out"] = user is None
    actor = (user.get("name") or user.get("id")) if user else TIMEOUT_ACTOR
    option = (answer.get("chosen_options") or [DEFER])[0]
    return Answer(option, actor, facts, {"option": option, "run_key": run_key, **facts})


def decides_nothing(conn: psycopg.Connection, item_id: int, status: str, answer: Answer, counts: Counter) -> bool:
    """Record an answer to an item settled meanwhile (``ignored``) or a Defer (``deferred``); True then,
    False when the answer decides the item (the caller applies it)."""
    if status == "resolved":
        queue.add_event(conn, item_id, answer.actor, "answer_ignored", {**answer.detail, "why": "already resolved"})
        counts["ignored"] += 1
        return True
    if answer.option == DEFER:
        queue.defer_item(conn, item_id, actor=answer.actor, detail=answer.detail)
        counts["deferred"] += 1
        return True
    return False
