"""The outbound ledger: exactly-once writes to another system, keyed by business key.

Callers do not use it directly to write: :func:`expense_sync.store.exactly_once.write_once` runs the
protocol below for every outbound write. Protocol:

1. :func:`mark_sending` records the intent (payload and its hash) and **commits** before the call;
2. the call is made;
3. :func:`mark_done` records the remote id; a refusal is :func:`mark_failed`. The success may be
   committed asynchronously: if it is lost, the row is still ``sending`` and the next attempt
   settles it by lookup, which is the same path as a crash after the call.

A row still ``sending`` when the next attempt starts means the outcome is unknown (crash,
timeout, 5xx): the caller must look the record up at the vendor by its business key before it
sends anything again. A row is pushed again only when the desired state's hash differs from the
recorded one, so a re-run pushes nothing.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import psycopg

from expense_sync.store import queue, sqlfile

SQL = "store/outbound"


def state_hash(state: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(state, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def mark_sending(
    conn: psycopg.Connection,
    target: str,
    entity: str,
    items: list[tuple[str, dict[str, Any]]],
    run_key: str | None,
) -> None:
    """Record the intent to write each (business key, desired state); commits (durably) before the call."""
    if not items:
        return
    rows = json.dumps(
        [{"k": key, "p": state, "h": state_hash(state)} for key, state in items], ensure_ascii=False, default=str
    )
    with conn.transaction():
        conn.execute(
            sqlfile.step(SQL, "mark_sending"),
            (target, entity, run_key, rows),
        )


def mark_done(
    conn: psycopg.Connection,
    target: str,
    entity: str,
    items: list[tuple[str, str | None]],
    *,
    verified: bool = True,
) -> None:
    """Record success with the remote ids.

    ``verified=False`` (a record adopted after a lookup, not written by us) clears the hash so
    that the next run compares and, if needed, updates it. Call it inside the caller's
    transaction to record the rest of a success (crosswalk, queue) atomically with it.
    """
    if not items:
        return
    conn.execute(
        sqlfile.step(SQL, "mark_done"),
        (verified, [k for k, _ in items], [r for _, r in items], target, entity),
    )


def record_done(
    conn: psycopg.Connection,
    target: str,
    entity: str,
    key: str,
    state: dict[str, Any],
    remote_id: str | None,
    run_key: str | None,
) -> None:
    """Record a state that needed no call (e.g. an inactive record never created remotely)."""
    mark_sending(conn, target, entity, [(key, state)], run_key)
    with conn.transaction():
        mark_done(conn, target, entity, [(key, remote_id)])


def mark_failed(
    conn: psycopg.Connection,
    target: str,
    entity: str,
    key: str,
    error: str,
    *,
    state: str = "failed",
) -> None:
    """Record a refusal (``failed``) or a rule that blocks the write for now (``blocked``); commits."""
    with conn.transaction():
        conn.execute(
            sqlfile.step(SQL, "mark_failed"),
            (state, error[:2000], target, entity, key),
        )


def in_doubt(conn: psycopg.Connection, target: str, entity: str) -> list[tuple[str, dict | None, str | None]]:
    """Rows whose last write has an unknown outcome: (business key, intended state, remote id)."""
    return conn.execute(
        sqlfile.step(SQL, "in_doubt"),
        (target, entity),
    ).fetchall()


def fail_and_queue(
    conn: psycopg.Connection,
    target: str,
    entity: str,
    key: str,
    reason_code: str,
    error: str,
    record: Any,
    *,
    run_key: str | None,
    state: str = "failed",
) -> None:
    """Give up on one write for now: the ledger names the key ``failed`` (or ``blocked``) and a
    conflict waits for a person, in one transaction."""
    with conn.transaction():
        mark_failed(conn, target, entity, key, error, state=state)
        queue.open_item(
            conn,
            kind="conflict",
            system=target,
            entity=entity,
            record_key=key,
            reason_code=reason_code,
            detail=error,
            record=record,
            run_key=run_key,
        )
