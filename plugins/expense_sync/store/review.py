"""The exception queue reviewed from the Airflow UI: every open item that no sync asks about itself
(quarantined records, vouchers or write-backs the vendor refused, documents that cannot be read,
claims that disagree with the OA or the ERP) becomes a HITL question of the DAG
``exception_review``, decided by a named person with a reason, as ``make resolve`` does from a shell.

Closing an item records the decision and calls no vendor: the fix is made at the source (the OA,
合思, the ERP) or by hand, as the README's runbook for the reason says, and a sync that still meets
the problem queues it again as a new item. An item that holds a write back (:data:`HELD`) is only
released (its claim or voucher tried again by the next run, exactly once) or deferred. The org
guard's held deactivations and the chart's conflicts stay with the questions of their own DAGs,
which apply their effects."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import psycopg
from psycopg.rows import dict_row

from expense_sync.chart.decisions import ASKED as CHART_ASKED
from expense_sync.store import answers as answers_
from expense_sync.store import queue, sqlfile

SQL = "store/review"
ASKED_ELSEWHERE = [*CHART_ASKED, "mass_deactivation"]
MAX_QUESTIONS = 100  # per run, oldest first; the rest are asked in the next one
ORG_ENTITIES = {"employee", "org_unit", "staff", "department"}

FIXED = "Fixed at the source"
BY_HAND = "Handled by hand"
RELEASE = "Release: try it again"
OPTIONS = [FIXED, BY_HAND, answers_.DEFER]  # an item that holds nothing back
# Items that hold a write back while open: closing one releases it (a refused voucher is posted again
# through the exactly-once write, looked up by its reference first; an unreadable document is read
# again). "Handled by hand" is not offered there: closed, the sync would post it as well.
HELD = {"voucher_refused", "document_malformed"}
HELD_OPTIONS = [RELEASE, answers_.DEFER]
DECISIONS = {FIXED: "fixed_at_source", BY_HAND: "handled_by_hand", RELEASE: "released"}
EFFECTS = {
    FIXED: "the item is closed: the record was corrected where it comes from; the next sync takes it "
    "(and queues it again if the problem is still there)",
    BY_HAND: "the item is closed: it was settled outside the sync; the sync does nothing more about it",
    RELEASE: "the item is closed and what it held is tried again by the next run: a refused voucher is "
    "looked up in the ERP by its reference and posted once if absent (refused again: a new item); an "
    "unreadable document is read again. To settle a claim by hand instead, reject it in 合思 first "
    "(it is then cancelled, never posted), or key the voucher in the ERP with the claim number as its "
    "reference (it is then adopted, not doubled), and release it after",
}
RECORD_CHARS = 800  # of the queued record shown in the question


def kind_of(entity: str) -> str:
    """Whose question it is (Variable ``expense_sync_deciders``): ``org`` for people and departments,
    ``claims`` (else ``chart``'s deciders) for claims, vouchers and the chart."""
    return "org" if entity in ORG_ENTITIES else "claims"


def questions(conn: psycopg.Connection, *, review_deferred: bool = False) -> dict[str, list]:
    """The open items to ask about: their ids, and one question (subject, body, decider kind) each."""
    params = {"asked_elsewhere": ASKED_ELSEWHERE, "deferred": review_deferred, "limit": MAX_QUESTIONS}
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(sqlfile.step(SQL, "questions"), params).fetchall()
    return {"items": [r["item_id"] for r in rows], "questions": [question(r) for r in rows]}


def options_of(reason_code: str) -> list[str]:
    """The options a person has for an item: releasing what it holds back, or closing it."""
    return HELD_OPTIONS if reason_code in HELD else OPTIONS


def question(item: dict[str, Any]) -> dict[str, Any]:
    options = options_of(item["reason_code"])
    record = json.dumps(item["record"], ensure_ascii=False, default=str, indent=1)
    shown = record if len(record) <= RECORD_CHARS else record[:RECORD_CHARS] + "\n…"
    lines = [
        f"**Item #{item['item_id']}** — {item['kind']} from {item['source_system']}: "
        f"{item['entity']} `{item['record_key']}`",
        "",
        f"**{item['reason_code']}**: {item['reason']}",
        "",
        f"Seen {item['occurrences']} time(s), first {item['first_seen_at']:%Y-%m-%d %H:%M} UTC, "
        f"last {item['last_seen_at']:%Y-%m-%d %H:%M} UTC. The README's runbook for `{item['reason_code']}` "
        "says where to fix it.",
        "",
        "```",
        shown,
        "```",
        "",
        *(f"- **{option}**: {EFFECTS[option]}" for option in options[:-1]),
        f"- **{answers_.DEFER}**: decide later; the item stays open (also what happens when nobody answers)",
        "",
        "Give the reason for your decision (a ticket, a name, a fact): it goes into the audit trail.",
    ]
    subject = f"{item['entity']} {item['record_key']}: {item['reason_code']}"
    return {"subject": subject, "body": "\n".join(lines), "options": options, "kind": kind_of(item["entity"])}


def apply_answers(
    conn: psycopg.Connection, run_key: str, items: list[int], answers: list[dict[str, Any] | None]
) -> dict[str, int]:
    """Close each item a person decided, with who, when and why; record Defers and answers that
    decide nothing (see :func:`expense_sync.store.answers.decides_nothing`). Counts per outcome."""
    counts: Counter = Counter()
    for item_id, given in zip(items, answers, strict=True):
        answer = answers_.read(given, run_key)
        with conn.transaction():
            status, reason_code = sqlfile.one(conn.execute(sqlfile.step(SQL, "take_item"), (item_id,)))
            if answers_.decides_nothing(conn, item_id, status, answer, counts):
                continue
            if answer.option not in options_of(reason_code):  # an answer sent past the form (the REST API)
                queue.add_event(conn, item_id, answer.actor, "answer_ignored", {**answer.detail, "why": "not offered"})
                counts["not_offered"] += 1
                continue
            decision = DECISIONS[answer.option]
            queue.resolve_item(
                conn,
                item_id,
                decision=decision,
                actor=answer.actor,
                note=answer.reason,
                detail={**answer.detail, "effect": EFFECTS[answer.option]},
            )
            counts[decision] += 1
    return dict(counts)
