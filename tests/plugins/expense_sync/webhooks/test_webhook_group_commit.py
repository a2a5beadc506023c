"""Group commit in the inbox writer: deliveries that arrive together share one statement and one
commit, and each is answered only after that commit; a batch that fails fails every delivery in it.

The writer runs against the test's real PostgreSQL. Deliveries stored "together" are the stores a
single ``asyncio.gather`` starts: they all queue their events in one turn of the loop, before the
writer hands the waiting events to a thread, so they form one batch whatever the machine's speed.
"""

from __future__ import annotations

import asyncio
import json
import os
import time

import psycopg
import pytest

from expense_sync.store.inbox import InboundEvent
from expense_sync.webhooks.errors import Rejected
from expense_sync.webhooks.writer import APPLICATION_NAME, UNSTORABLE, InboxWriter

TIMEOUT = 30.0  # no delivery of these tests is meant to be too slow


def event(key: str, payload: str | None = None) -> InboundEvent:
    body = payload if payload is not None else json.dumps({"type": "claim.approved", "key": key})
    return InboundEvent(source="standard", dedup_key=key, payload_json=body, event_type="claim.approved")


def store_together(writer: InboxWriter, events: list[InboundEvent]) -> list[bool | BaseException]:
    async def together() -> list[bool | BaseException]:
        return await asyncio.gather(*(writer.store(e) for e in events), return_exceptions=True)

    return asyncio.run(together())


def transactions(conn: psycopg.Connection) -> int:
    """How many transactions wrote the inbox rows (rows written by one share its xmin)."""
    return conn.execute("SELECT count(DISTINCT xmin::text) FROM sync.event_inbox").fetchone()[0]


def keys(conn: psycopg.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT dedup_key FROM sync.event_inbox ORDER BY event_id").fetchall()]


@pytest.fixture
def writer(webhook_env):
    writer = InboxWriter(1, TIMEOUT)
    yield writer
    writer.close()


def test_deliveries_arriving_together_share_one_commit_and_each_gets_its_answer(writer, webhook_env):
    batch = [event(f"msg_{n}") for n in range(20)] + [event("msg_3")]  # the last one replays msg_3

    outcomes = store_together(writer, batch)

    assert outcomes == [True] * 20 + [False]
    assert keys(webhook_env) == [f"msg_{n}" for n in range(20)]  # in arrival order, msg_3 once
    assert transactions(webhook_env) == 1
    assert store_together(writer, [event("msg_3"), event("msg_20")]) == [False, True]  # a later replay
    assert transactions(webhook_env) == 2


def test_no_delivery_is_answered_before_its_batch_is_committed(writer, webhook_env):
    locker = psycopg.connect(os.environ["AIRFLOW_CONN_MDM_POSTGRES"])  # holds the table: the batch waits
    locker.execute("LOCK TABLE sync.event_inbox IN ACCESS EXCLUSIVE MODE")

    async def scenario() -> tuple[bool, int, list[bool]]:
        stores = asyncio.gather(*(writer.store(event(f"msg_{n}")) for n in range(5)))
        deadline = time.monotonic() + TIMEOUT
        while not webhook_env.execute(  # until the writer's statement waits for the lock
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s AND wait_event_type = 'Lock'",
            (APPLICATION_NAME,),
        ).fetchone()[0]:
            assert time.monotonic() < deadline, "the writer never reached the table"
            await asyncio.sleep(0.02)
        answered_early = stores.done()
        rows_meanwhile = locker.execute("SELECT count(*) FROM sync.event_inbox").fetchone()[0]
        locker.rollback()  # the lock goes: the batch commits
        return answered_early, rows_meanwhile, await stores

    try:
        answered_early, rows_meanwhile, outcomes = asyncio.run(scenario())
    finally:
        locker.close()

    assert not answered_early and rows_meanwhile == 0
    assert outcomes == [True] * 5
    assert keys(webhook_env) == [f"msg_{n}" for n in range(5)] and transactions(webhook_env) == 1


def test_a_batch_whose_statement_fails_answers_503_to_every_delivery_in_it(writer, webhook_env):
    webhook_env.execute(  # one event of the batch breaks a constraint: the statement, hence the batch, fails
        "ALTER TABLE sync.event_inbox ADD CONSTRAINT test_no_poison CHECK (dedup_key <> 'msg_poison')"
    )
    batch = [event("msg_a"), event("msg_poison"), event("msg_b"), event("msg_c")]

    outcomes = store_together(writer, batch)

    assert all(isinstance(o, Rejected) for o in outcomes), outcomes
    assert [(o.status, o.reason, o.retry_after) for o in outcomes] == [(503, "database error", 5)] * 4
    assert len({id(o) for o in outcomes}) == 4  # each delivery its own refusal
    assert keys(webhook_env) == []
    assert store_together(writer, [event("msg_a"), event("msg_b")]) == [True, True]  # the senders' retries


def test_a_payload_the_database_refuses_in_a_batch_refuses_only_that_delivery(writer, webhook_env):
    nul = json.dumps({"type": "claim.approved", "note": "nul \u0000 inside"})  # jsonb refuses \u0000
    surrogate = json.dumps({"type": "claim.approved", "note": "\ud800"}, ensure_ascii=False)  # no UTF-8 form
    batch = [event("msg_1"), event("msg_nul", nul), event("msg_2"), event("msg_lone", surrogate), event("msg_3")]

    outcomes = store_together(writer, batch)

    assert outcomes[0::2] == [True, True, True]
    assert [(o.status, o.reason) for o in outcomes[1::2]] == [
        (422, "payload cannot be stored"),
        (400, "body has a lone surrogate"),
    ]
    assert keys(webhook_env) == ["msg_1", "msg_2", "msg_3"]
    kept = webhook_env.execute("SELECT record_key FROM sync.exception_item WHERE reason_code = %s", (UNSTORABLE,))
    assert sorted(r[0] for r in kept.fetchall()) == ["msg_lone", "msg_nul"]
