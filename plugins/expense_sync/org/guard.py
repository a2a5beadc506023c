"""The mass-deactivation guard of the org sync, and the person who lifts it.

Every HR sync has one: an OA answering with half its directory missing (a wrong scope, a broken
sync account) must not disable half the company. Before the merge applies anything it stages what
the extraction would deactivate (``include/sql/org/leaving.sql``); when that is more than the
configured share of the active departments or of the active people, it deactivates **nobody** and
opens one conflict item (``mass_deactivation``) holding the ids. While that item is unresolved every
run holds its deactivations too (the item is refreshed with the latest ids), and each run asks a
person in the Airflow UI: *Deactivate them* applies the held deactivations (then 合思 follows),
*Keep them active* closes the item (a later run that still misses them asks again), *Defer* (also
what an unanswered question becomes) leaves it held. An item is cleared by itself once a run would
deactivate nobody.

The push applies the same share to the enabled 合思 staff the OA does not know at all (leavers from
before the first sync), which only it can see: above the share it disables none of them and opens
its own item (``ekuaibao_only``), asked about the same way; *Deactivate them* disables those held.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import psycopg
from psycopg.rows import dict_row

from expense_sync.hooks.ekuaibao import EkuaibaoHook
from expense_sync.org import APPROVE, DEFER, KEEP
from expense_sync.org.push import push_directory
from expense_sync.store import answers as answers_
from expense_sync.store import queue, sqlfile

REASON, ENTITY, RECORD_KEY = "mass_deactivation", "directory", "deactivations"
EKUAIBAO_ONLY = "ekuaibao_only"  # the record key of a hold of 合思-only staff
DECISIONS = {APPROVE: "deactivate", KEEP: "keep_active"}
EFFECTS = {
    APPROVE: "the held departments and people are deactivated, in the middle platform and in 合思",
    KEEP: "nobody is deactivated; a later run that still misses them asks again",
}
SQL = "org/guard"
LEAVING = ("org_unit", "employee")  # staged in org_leaving and emp_leaving (include/sql/org/leaving.sql)


def stage_leaving(conn: psycopg.Connection, params: dict[str, Any], share: float, run_key: str) -> dict[str, Any]:
    """Stage what one extraction deactivates (``org_leaving``, ``emp_leaving``) and hold all of it
    when it is too much, or while an earlier hold waits for a person; return what was held."""
    system = params["system"]
    sqlfile.run(conn, "org/leaving", params, only=["units", "employees"])
    leaving: dict[str, tuple[Any, ...]] = {}
    active: dict[str, int] = {}
    for entity in LEAVING:
        leaving[entity] = sqlfile.one(conn.execute(sqlfile.step(SQL, f"leaving_{entity}")))
        active[entity] = sqlfile.one(conn.execute(sqlfile.step(SQL, f"active_{entity}"), (system,)))[0]
    held = conn.execute(sqlfile.step(SQL, "open_item"), (system, ENTITY, RECORD_KEY, REASON)).fetchone()
    too_many = any(leaving[e][2] > share * active[e] for e in LEAVING)
    if not too_many and not (held and any(n for *_, n in leaving.values())):
        if held:  # the OA lists everyone again: nothing left to decide
            queue.resolve_item(conn, held[0], decision="auto_cleared", actor=queue.SYSTEM_ACTOR, action="auto_resolved")
        return {"held": 0}
    record = {
        "observed_at": params["observed_at"].isoformat(),
        "share": share,
        **{e: {"ids": ids, "keys": keys, "leaving": n, "active": active[e]} for e, (ids, keys, n) in leaving.items()},
    }
    detail = (
        f"{leaving['employee'][2]} of {active['employee']} active people and "
        f"{leaving['org_unit'][2]} of {active['org_unit']} active departments (limit {share:.0%})"
    )
    item_id = queue.open_item(
        conn,
        kind="conflict",
        system=system,
        entity=ENTITY,
        record_key=RECORD_KEY,
        reason_code=REASON,
        detail=detail,
        record=record,
        run_key=run_key,
    )
    sqlfile.run(conn, "org/leaving", params, only=["hold"])
    return {"held": item_id, "org_unit": leaving["org_unit"][2], "employee": leaving["employee"][2]}


def hold_ekuaibao_only(conn: psycopg.Connection, keys: list[str], active: int, share: float, run_key: str) -> bool:
    """Whether disabling the 合思-only staff ``keys`` (of ``active`` enabled staff) is held: it is
    when they are more than ``share`` of them; then one item asks a person. An open item is cleared
    once a run would disable no more than the share."""
    held = conn.execute(sqlfile.step(SQL, "open_item"), ("ekuaibao", ENTITY, EKUAIBAO_ONLY, REASON)).fetchone()
    if len(keys) <= share * active:
        if held:
            with conn.transaction():
                queue.resolve_item(conn, held[0], decision="auto_cleared", actor=queue.SYSTEM_ACTOR,
                                   action="auto_resolved")  # fmt: skip
        return False
    record = {
        "observed_at": dt.datetime.now(dt.UTC).isoformat(),
        "share": share,
        EKUAIBAO_ONLY: True,
        "org_unit": {"ids": [], "keys": [], "leaving": 0, "active": 0},
        "employee": {"ids": [], "keys": keys, "leaving": len(keys), "active": active},
    }
    detail = f"{len(keys)} of {active} enabled 合思 staff unknown to the OA (limit {share:.0%})"
    with conn.transaction():
        queue.open_item(conn, kind="conflict", system="ekuaibao", entity=ENTITY, record_key=EKUAIBAO_ONLY,
                        reason_code=REASON, detail=detail, record=record, run_key=run_key)  # fmt: skip
    return True


def questions(conn: psycopg.Connection) -> dict[str, list]:
    """The held deactivations to ask about: item ids, and one question (subject, body) each."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(sqlfile.step(SQL, "questions"), (ENTITY, REASON)).fetchall()
    return {"items": [r["item_id"] for r in rows], "questions": [_question(r) for r in rows]}


def _question(item: dict[str, Any]) -> dict[str, str]:
    record = item["record"]
    people = ", ".join(record["employee"]["keys"][:20])
    units = ", ".join(record["org_unit"]["keys"][:20])
    lines = [
        f"**Conflict #{item['item_id']}** — {item['source_system']}: {item['reason']}",
        "",
        f"People (工号): {people}{' …' if record['employee']['leaving'] > 20 else ''}",
        f"Departments: {units}{' …' if record['org_unit']['leaving'] > 20 else ''}",
        "",
        f"- **{APPROVE}**: {EFFECTS[APPROVE]}",
        f"- **{KEEP}**: {EFFECTS[KEEP]}",
        f"- **{DEFER}**: decide later; nobody is deactivated meanwhile (also what happens when nobody answers)",
        "",
        "Give the reason for your decision (a ticket, a name, a fact): it goes into the audit trail.",
    ]
    return {"subject": f"org sync: {item['reason'].split(':')[0]}", "body": "\n".join(lines)}


def apply_answers(
    conn: psycopg.Connection,
    hook: EkuaibaoHook,
    run_key: str,
    items: list[int],
    answers: list[dict[str, Any] | None],
) -> dict[str, Any]:
    """Apply each answer to its held deactivations and record who, when and what; when any were
    applied, push the delta so 合思 follows."""
    counts: Counter = Counter()
    approved: list[str] = []  # 合思-only staff codes to disable
    for item_id, given in zip(items, answers, strict=True):
        answer = answers_.read(given, run_key)
        option = answer.option
        with conn.transaction():
            status, record = sqlfile.one(conn.execute(sqlfile.step(SQL, "take_item"), (item_id,)))
            # an item cleared meanwhile (the OA lists them again) ignores its answer
            if answers_.decides_nothing(conn, item_id, status, answer, counts):
                continue
            if option == APPROVE and record.get(EKUAIBAO_ONLY):
                approved += record["employee"]["keys"]
            elif option == APPROVE:
                params = {
                    "unit_ids": record["org_unit"]["ids"],
                    "employee_ids": record["employee"]["ids"],
                    "observed_at": record["observed_at"],
                }
                steps = ["approved_units", "approved_employees", "deactivate_units", "deactivate_employees"]
                done = sqlfile.run(conn, "org/leaving", params, only=steps)
                counts["org_unit_deactivated"] += done["deactivate_units"]
                counts["employee_deactivated"] += done["deactivate_employees"]
            queue.resolve_item(
                conn,
                item_id,
                decision=DECISIONS[option],
                actor=answer.actor,
                note=answer.reason,
                at=answer.facts["responded_at"],
                detail={**answer.detail, "effect": EFFECTS[option]},
            )
            counts[DECISIONS[option]] += 1
    pushed = push_directory(conn, hook, run_key, approved=approved) if counts["deactivate"] else {}
    return {"answers": dict(counts), "pushed": pushed}
