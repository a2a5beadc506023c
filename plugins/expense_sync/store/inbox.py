"""The event inbox (``sync.event_inbox``): webhook events in, the claim_events DAG's work queue out.

The receiver calls :func:`insert_many` with the verified deliveries that arrived together (one
statement, one commit for all of them; :func:`insert` is one event); each row is committed before
its sender gets its 2xx, and a second delivery of the same event (same source and dedup key) inserts
nothing. The consumer works in one transaction per batch::

    with conn.transaction():
        for event in inbox.claim(conn, limit=100):   # FOR UPDATE SKIP LOCKED: runs never overlap
            ...                                       # act on it
            inbox.mark_processed(conn, [event.event_id])

and, when acting on an event fails, records the failure in its own transaction with
:func:`record_failure` (the row stays ``new`` until ``max_attempts``, then becomes ``failed``).
:func:`replay` puts failed rows back in the queue after a fix.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg

from expense_sync.settings import INBOX_MAX_ATTEMPTS
from expense_sync.store import sqlfile

SQL = "store/inbox"


@dataclass(frozen=True)
class InboundEvent:
    """A verified event as the receiver stores it; ``payload_json`` is the event as JSON text."""

    source: str
    dedup_key: str
    payload_json: str
    event_type: str | None = None
    subject: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class InboxEvent:
    """A claimed row."""

    event_id: int
    source: str
    dedup_key: str
    event_type: str | None
    subject: str | None
    payload: Any
    attempts: int
    received_at: datetime


def _values(event: InboundEvent) -> tuple[str | None, ...]:
    """The inbox columns of one event, in the statements' order."""
    headers = json.dumps(event.headers, ensure_ascii=False)
    return (event.source, event.dedup_key, event.event_type, event.subject, headers, event.payload_json)


def insert(conn: psycopg.Connection, event: InboundEvent) -> int | None:
    """Store the event; return its id, or ``None`` when it was already stored (a duplicate).

    On an autocommit connection the single statement is its own transaction: it is committed when
    this returns (no BEGIN/COMMIT round trips on the receiver's hot path).
    """
    row = conn.execute(sqlfile.step(SQL, "insert"), _values(event)).fetchone()
    return row[0] if row else None


def insert_many(conn: psycopg.Connection, events: list[InboundEvent]) -> list[bool]:
    """Store the events in one statement (on an autocommit connection: one transaction, committed
    when this returns); for each, ``True`` if stored now, ``False`` if stored before (or earlier in
    ``events``). Nothing is stored if the statement fails."""
    columns = tuple(list(column) for column in zip(*map(_values, events), strict=True))
    inserted = set(conn.execute(sqlfile.step(SQL, "insert_batch"), columns).fetchall())
    stored = []
    for event in events:
        key = (event.source, event.dedup_key)
        stored.append(key in inserted)
        inserted.discard(key)  # the same key again later in the batch is a duplicate
    return stored


def claim(
    conn: psycopg.Connection,
    *,
    limit: int = 100,
    sources: list[str] | None = None,
    event_types: list[str] | None = None,
    except_types: list[str] | None = None,
) -> list[InboxEvent]:
    """Lock up to ``limit`` ``new`` events in arrival order, skipping rows another run holds.

    Each consumer claims its own events: ``sources`` (senders), ``event_types`` (only these) and
    ``except_types`` (all but these; an event without a type is never excluded) narrow the claim,
    so that two consumers of one inbox never take, or ignore, each other's events.

    Call inside ``with conn.transaction():``; the locks last until that transaction ends.
    """
    if not conn.info.transaction_status:
        raise RuntimeError("inbox.claim needs an open transaction (with conn.transaction(): ...)")
    rows = conn.execute(
        sqlfile.step(SQL, "claim"),
        {"sources": sources, "types": event_types, "except": except_types, "limit": limit},
    ).fetchall()
    return [InboxEvent(*row) for row in rows]


def _finish(conn: psycopg.Connection, event_ids: list[int], status: str, note: str | None) -> int:
    cur = conn.execute(
        sqlfile.step(SQL, "finish"),
        (status, note, event_ids),
    )
    return cur.rowcount


def mark_processed(conn: psycopg.Connection, event_ids: list[int]) -> int:
    """The events were acted on; returns how many rows changed."""
    return _finish(conn, event_ids, "processed", None)


def mark_ignored(conn: psycopg.Connection, event_ids: list[int], reason: str) -> int:
    """The events need no action (e.g. an event type the consumer does not handle)."""
    return _finish(conn, event_ids, "ignored", reason)


def record_failure(
    conn: psycopg.Connection, event_id: int, error: str, *, max_attempts: int = INBOX_MAX_ATTEMPTS
) -> str:
    """Count a failed attempt; the event stays ``new`` until ``max_attempts``. Returns the new status."""
    row = conn.execute(
        sqlfile.step(SQL, "record_failure"),
        {"error": error, "max": max_attempts, "id": event_id},
    ).fetchone()
    if row is None:
        raise LookupError(f"inbox event {event_id} is not waiting to be processed")
    return row[0]


def replay(conn: psycopg.Connection, event_ids: list[int]) -> int:
    """Put failed events back in the queue (after a fix); their attempt count starts again."""
    cur = conn.execute(
        sqlfile.step(SQL, "replay"),
        (event_ids,),
    )
    return cur.rowcount
