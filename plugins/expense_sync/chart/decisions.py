"""Conflicts that need a person: the questions asked in the Airflow UI, and applying the answers.

Each open conflict becomes one human-in-the-loop question (one mapped ``HITLOperator`` task each,
so every answer carries its own respondent and time, and people can settle some now and defer
others) with three options and a required reason. What they do depends on the conflict:

=============================  =====================================  ======================================
conflict                       Take ERP value                          Keep expense value
=============================  =====================================  ======================================
``changed_both_sides``         the ERP's record is written to 合思       合思's item stays as it is and counts as
(cost center, project)                                                 synced: asked again only when either
                                                                       side changes again
``no_fee_type``                the category waits for a fee type with   合思 offers no fee type for it
(expense category)             its code (a 合思 admin adds it; the      (the category is not used in 合思)
                               next run maps it by code)
``fee_type_gl_inactive`` /     the mapping stays suspended until the    the mapping stays in force
``fee_type_gl_not_postable``   ERP's account can be posted again        (``kept``), by this decision
=============================  =====================================  ======================================

Fee types are read-only in 合思's API, so for a category "Take ERP value" cannot write anything to
合思: it records that 合思 has to follow the ERP. A category decision stands while neither side
changes. **Defer** (also what an unanswered question becomes when it times out) leaves the conflict
in the queue as ``deferred``: it is asked again when its values change, or when a run is triggered
with ``review_deferred``. Every answer is recorded on the queue item and in its history: who
(the responding user, one of those Variable ``expense_sync_deciders`` names for ``chart``), when
(the response time), what (the option) and why (the reason they gave).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from typing import Any

import psycopg
from psycopg.rows import dict_row

from expense_sync.chart import DEFER, KEEP_EXPENSE, TAKE_ERP, push, state
from expense_sync.chart.categories import reconcile_categories
from expense_sync.hooks.ekuaibao import EkuaibaoHook
from expense_sync.store import answers as answers_
from expense_sync.store import queue, sqlfile

SQL = "chart/decisions"

DECISIONS = {TAKE_ERP: "take_erp", KEEP_EXPENSE: "keep_expense"}
ASKED = ["changed_both_sides", "no_fee_type", "fee_type_gl_inactive", "fee_type_gl_not_postable"]
MAX_QUESTIONS = 200  # per run; the rest are asked in the next one
LABELS = {"cost_center": "成本中心", "project": "项目", "expense_category": "费用类别"}
FIELDS = {"code": "编码", "name": "名称", "parent": "上级", "active": "启用"}

EFFECTS = {
    "changed_both_sides": {
        TAKE_ERP: "write the ERP's record to 合思",
        KEEP_EXPENSE: "leave 合思's item as it is and count it as synced (not asked again until either side changes)",
    },
    "no_fee_type": {
        TAKE_ERP: "the category waits for a 合思 fee type with its code (a 合思 admin adds it; the next run maps it)",
        KEEP_EXPENSE: "合思 offers no fee type for this category",
    },
    "fee_type_gl_inactive": {
        TAKE_ERP: "keep the fee-type mapping suspended until the ERP account can be posted again",
        KEEP_EXPENSE: "keep the fee-type mapping in force by this decision",
    },
}
EFFECTS["fee_type_gl_not_postable"] = EFFECTS["fee_type_gl_inactive"]


def questions(conn: psycopg.Connection, *, review_deferred: bool = False) -> dict[str, list]:
    """The conflicts to ask about: item ids, and one HITL question (subject, body) for each."""
    with conn.cursor(row_factory=dict_row) as cur:
        params = {"asked": ASKED, "deferred": review_deferred, "limit": MAX_QUESTIONS}
        rows = cur.execute(sqlfile.step(SQL, "questions"), params).fetchall()
    return {"items": [r["item_id"] for r in rows], "questions": [question(r) for r in rows]}


def question(item: dict[str, Any]) -> dict[str, str]:
    record = item["record"] or {}
    label = f"{LABELS.get(item['entity'], item['entity'])} {item['record_key']}"
    lines = [f"**Conflict #{item['item_id']}** — {label}: {item['reason']}", "", "| | ERP | 合思 |", "|---|---|---|"]
    erp, expense = record.get("erp") or {}, record.get("expense")
    if item["entity"] == "expense_category":
        fee = expense or {}
        gl = erp.get("gl_account")
        usable = "active, postable" if erp.get("gl_active") and erp.get("gl_postable") else "not usable"
        rows = [("编码", erp.get("code"), fee.get("code")), ("名称", erp.get("name"), fee.get("name"))]
        rows += [("GL 科目", f"{gl} ({usable})" if gl else None, None)]
    else:
        rows = [(name, erp.get(key), (expense or {}).get(key)) for key, name in FIELDS.items()]
    for name, ours, theirs in rows:
        lines.append(f"| {name} | {_cell(ours)} | {'(none)' if expense is None else _cell(theirs)} |")
    effects = EFFECTS[item["reason_code"]]
    lines += ["", f"- **{TAKE_ERP}**: {effects[TAKE_ERP]}", f"- **{KEEP_EXPENSE}**: {effects[KEEP_EXPENSE]}"]
    lines += [f"- **{DEFER}**: decide later (also what happens when nobody answers in time)"]
    lines += ["", "Give the reason for your decision (a ticket, a name, a fact): it goes into the audit trail."]
    return {"subject": f"{label}: {item['reason'].split(':')[0]}", "body": "\n".join(lines)}


def _cell(value: Any) -> str:
    return "—" if value is None else str(value).replace("|", "\\|")


def apply_answers(
    conn: psycopg.Connection,
    hook: EkuaibaoHook,
    run_key: str,
    dimensions: dict[str, str],
    items: list[int],
    answers: list[dict[str, Any] | None],
) -> dict[str, Any]:
    """Apply each answer to its conflict and record who, when and what."""
    counts: Counter = Counter()
    take: dict[str, list[str]] = defaultdict(list)
    with conn.cursor(row_factory=dict_row) as cur:
        rows = {r["item_id"]: r for r in cur.execute(sqlfile.step(SQL, "items"), (items,)).fetchall()}
    for item_id, given in zip(items, answers, strict=True):
        item, answer = rows[item_id], answers_.read(given, run_key)
        with conn.transaction():
            # an item settled meanwhile (e.g. both sides agree again) ignores its answer
            if answers_.decides_nothing(conn, item_id, item["status"], answer, counts):
                continue
            decision = DECISIONS[answer.option]
            effect = EFFECTS[item["reason_code"]][answer.option]
            queue.resolve_item(
                conn,
                item_id,
                decision=decision,
                actor=answer.actor,
                note=answer.reason,
                at=answer.facts["responded_at"],
                detail={**answer.detail, "effect": effect},
            )
            record, entity, key = item["record"], item["entity"], item["record_key"]
            if entity == "expense_category":
                state.save(conn, entity, key, record["erp_hash"], record["expense_hash"], decision=decision,
                           decision_item_id=item_id)  # fmt: skip
            elif decision == "keep_expense":
                state.save(conn, entity, key, record["erp_hash"], record["expense_hash"])
            else:  # take the ERP's value: 合思's side as shown is acknowledged, the ERP's is written below
                held = conn.execute(sqlfile.step(SQL, "held_erp_hash"), (entity, key)).fetchone()
                state.save(conn, entity, key, held[0] if held else None, record["expense_hash"])
                take[entity].append(key)
            counts[decision] += 1
    pusher = push.DimensionPush(conn, hook, run_key, dimensions)
    for entity, codes in take.items():
        pusher.push(entity, codes=codes, force=True)
    categories = (
        reconcile_categories(conn, run_key) if any(rows[i]["entity"] == "expense_category" for i in items) else {}
    )
    return {"answers": dict(counts), "pushed": pusher.result(), "categories": categories}


def decisions_log(conn: psycopg.Connection, run_key: str) -> list[dict[str, Any]]:
    """The decisions recorded in a run (for the summary)."""
    rows = conn.execute(sqlfile.step(SQL, "decisions_of_run"), (run_key,)).fetchall()
    return [json.loads(json.dumps(dict(zip(("item", "entity", "key", "actor", "action", "detail"), r, strict=True)),
                                  default=str)) for r in rows]  # fmt: skip
