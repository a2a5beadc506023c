"""The event inbox as the claim_events DAG will use it: claim with SKIP LOCKED, mark, fail, replay."""

from __future__ import annotations

import json
import os

import psycopg
import pytest
from psycopg import sql

from expense_sync.store import inbox, sqlfile
from expense_sync.store.inbox import InboundEvent


def _event(n: int, source: str = "ekuaibao") -> InboundEvent:
    return InboundEvent(
        source=source,
        dedup_key=f"flow{n}|node|flow.paid",
        event_type="flow.paid",
        subject=f"flow{n}",
        payload_json=json.dumps({"flowId": f"flow{n}", "金额": "12.30"}),
        headers={"content-type": "application/json"},
    )


def test_insert_stores_once_per_source_and_key(mdm):
    first = inbox.insert(mdm, _event(1))

    assert isinstance(first, int)
    assert inbox.insert(mdm, _event(1)) is None
    assert isinstance(inbox.insert(mdm, _event(1, source="standard")), int)
    row = mdm.execute(
        "SELECT status, attempts, processed_at, payload FROM sync.event_inbox WHERE event_id = %s", (first,)
    ).fetchone()
    assert row == ("new", 0, None, {"flowId": "flow1", "金额": "12.30"})


def test_claim_needs_a_transaction(mdm):
    with pytest.raises(RuntimeError, match="open transaction"):
        inbox.claim(mdm)


def test_two_consumers_claim_disjoint_events_in_arrival_order(mdm):
    ids = [inbox.insert(mdm, _event(n)) for n in range(5)]
    with psycopg.connect(os.environ["AIRFLOW_CONN_MDM_POSTGRES"], autocommit=True) as other:
        with mdm.transaction(), other.transaction():
            mine = inbox.claim(mdm, limit=3)
            theirs = inbox.claim(other, limit=3)
            assert [e.event_id for e in mine] == ids[:3]
            assert [e.event_id for e in theirs] == ids[3:]
            inbox.mark_processed(mdm, [e.event_id for e in mine])
        with mdm.transaction():
            assert [e.event_id for e in inbox.claim(mdm)] == ids[3:]  # theirs were released unprocessed


def test_claim_filters_by_source_and_returns_the_payload(mdm):
    inbox.insert(mdm, _event(1))
    std = inbox.insert(mdm, _event(2, source="standard"))
    with mdm.transaction():
        [event] = inbox.claim(mdm, sources=["standard"])
    assert (event.event_id, event.source, event.subject) == (std, "standard", "flow2")
    assert event.payload["金额"] == "12.30"


def test_processed_and_ignored_events_leave_the_queue(mdm):
    a, b, c = (inbox.insert(mdm, _event(n)) for n in range(3))
    with mdm.transaction():
        assert inbox.mark_processed(mdm, [a]) == 1
        assert inbox.mark_ignored(mdm, [b], "event type not handled") == 1
        assert inbox.mark_processed(mdm, [a]) == 0  # only 'new' rows change
    rows = mdm.execute(
        "SELECT event_id, status, attempts, last_error, processed_at IS NOT NULL "
        "FROM sync.event_inbox ORDER BY event_id"
    ).fetchall()
    assert rows == [
        (a, "processed", 1, None, True),
        (b, "ignored", 1, "event type not handled", True),
        (c, "new", 0, None, False),
    ]
    with mdm.transaction():
        assert [e.event_id for e in inbox.claim(mdm)] == [c]


def test_failures_are_counted_until_the_event_fails_and_a_replay_requeues_it(mdm):
    event_id = inbox.insert(mdm, _event(1))

    statuses = [inbox.record_failure(mdm, event_id, f"ERP timeout {n}", max_attempts=3) for n in range(3)]

    assert statuses == ["new", "new", "failed"]
    assert mdm.execute("SELECT attempts, last_error FROM sync.event_inbox").fetchone() == (3, "ERP timeout 2")
    with pytest.raises(LookupError):
        inbox.record_failure(mdm, event_id, "again")
    assert inbox.replay(mdm, [event_id]) == 1
    with mdm.transaction():
        [event] = inbox.claim(mdm)
    assert (event.event_id, event.attempts) == (event_id, 0)


def test_a_finished_status_needs_its_time_and_an_unknown_status_is_refused(mdm):
    event_id = inbox.insert(mdm, _event(1))
    with pytest.raises(psycopg.errors.CheckViolation):
        mdm.execute("UPDATE sync.event_inbox SET status = 'processed' WHERE event_id = %s", (event_id,))
    with pytest.raises(psycopg.errors.CheckViolation):
        mdm.execute(
            "UPDATE sync.event_inbox SET status = 'done', processed_at = now() WHERE event_id = %s", (event_id,)
        )


@pytest.mark.parametrize("sources", [None, ["ekuaibao"]])
def test_the_claim_query_can_use_the_queue_index(mdm, sources):
    for n in range(50):
        inbox.insert(mdm, _event(n))
    with mdm.transaction():
        mdm.execute("SET LOCAL enable_seqscan = off")
        claim = sql.SQL("EXPLAIN ") + sqlfile.step(inbox.SQL, "claim")
        plan = mdm.execute(claim, {"sources": sources, "types": None, "except": ["order.x"], "limit": 100}).fetchall()
    assert "event_inbox_new" in "\n".join(line for (line,) in plan)


def test_two_consumers_split_one_source_by_event_type(mdm):
    def typed(n: int, event_type: str | None) -> InboundEvent:
        return InboundEvent(
            source="ekuaibao", dedup_key=f"k{n}", event_type=event_type, subject=f"f{n}", payload_json="{}"
        )

    claim_ev, booking, untyped = (
        inbox.insert(mdm, typed(n, t)) for n, t in ((1, "flow.paid"), (2, "order.x"), (3, None))
    )
    with mdm.transaction():
        claims = [e.event_id for e in inbox.claim(mdm, sources=["ekuaibao"], except_types=["order.x"])]
        bookings = [e.event_id for e in inbox.claim(mdm, event_types=["order.x"])]
    assert claims == [claim_ev, untyped]  # an event without a type is never excluded
    assert bookings == [booking]
