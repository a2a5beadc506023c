"""The one exactly-once write (``store.exactly_once.write_once``) against a real PostgreSQL ledger.

The vendor here is a small in-memory record store reached through ``send`` and ``lookup``, the two
callables a hook provides (the network edge); the ledger, the locks and the transactions are the
real ones. Each case is one of the worst operating day's: a repeat, a commit whose answer is lost,
a refused record inside a batch, two processes at once, a side effect that fails.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid

import psycopg
import pytest

from expense_sync.hooks.errors import OutcomeUnknownError, VendorRequestError
from expense_sync.store.exactly_once import Write, settle, write_once


class Vendor:
    """A vendor that keeps records by business key and may commit, then lose its answer."""

    def __init__(self, *, lose_answers: int = 0, refuse: set[str] = frozenset(), delay: float = 0.0):
        self.records: dict[str, list[dict]] = {}
        self.calls = 0
        self.lose_answers, self.refuse, self.delay = lose_answers, set(refuse), delay
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def create(self, intents: list[tuple[str, dict]]) -> dict[str, str]:
        with self._lock:
            self.calls += 1
            if refused := [k for k, _ in intents if k in self.refuse]:
                raise VendorRequestError(f"refused {refused}", vendor="test", status=400)
            answer = {}
            for key, state in intents:
                remote = f"R{next(self._ids)}"
                self.records.setdefault(key, []).append({"id": remote, **state})
                answer[key] = remote
            if self.lose_answers:
                self.lose_answers -= 1
                raise OutcomeUnknownError("committed, answer lost", vendor="test")
        time.sleep(self.delay)
        return answer

    def find(self, keys: list[str]) -> dict[str, str]:
        return {k: self.records[k][0]["id"] for k in keys if self.records.get(k)}


@pytest.fixture
def entity() -> str:
    return f"thing_{uuid.uuid4().hex[:8]}"  # a fresh ledger namespace per test


def ledger(conn, entity: str) -> dict[str, tuple[str, str | None]]:
    rows = conn.execute(
        "SELECT business_key, state, remote_id FROM sync.outbound WHERE target_system = 'test' AND entity = %s",
        (entity,),
    ).fetchall()
    return {k: (s, r) for k, s, r in rows}


def creates(vendor: Vendor, entity: str, **kw) -> Write:
    return Write("test", entity, vendor.create, **({"lookup": vendor.find} | kw))


def test_a_repeat_sends_nothing(mdm, entity):
    vendor = Vendor()
    intents = [(f"K{i}", {"v": i}) for i in range(5)]
    first = write_once(mdm, creates(vendor, entity, batch=2), intents, run_key="r1")
    again = write_once(mdm, creates(vendor, entity, batch=2), intents, run_key="r2")
    assert [o.how for o in first] == ["sent"] * 5 and [o.how for o in again] == ["already"] * 5
    assert vendor.calls == 3  # batches of 2: 2 + 2 + 1
    assert all(len(r) == 1 for r in vendor.records.values())
    assert {k: s for k, (s, _) in ledger(mdm, entity).items()} == {f"K{i}": "done" for i in range(5)}


def test_a_lost_answer_is_looked_up_never_sent_twice(mdm, entity):
    vendor = Vendor(lose_answers=1)
    outcomes = write_once(mdm, creates(vendor, entity), [("A", {"v": 1}), ("B", {"v": 2})], run_key="r1")
    assert {o.key: o.how for o in outcomes} == {"A": "adopted", "B": "adopted"}
    assert vendor.calls == 1 and {k: len(r) for k, r in vendor.records.items()} == {"A": 1, "B": 1}
    assert ledger(mdm, entity) == {"A": ("done", "R1"), "B": ("done", "R2")}


def test_an_overwrite_of_unknown_outcome_stays_in_doubt_and_is_sent_again(mdm, entity):
    vendor = Vendor(lose_answers=1)
    write = Write("test", entity, vendor.create)  # no look-up: an overwrite
    with pytest.raises(OutcomeUnknownError):
        write_once(mdm, write, [("A", {"v": 1})], run_key="r1")
    assert ledger(mdm, entity)["A"][0] == "sending"
    (outcome,) = write_once(mdm, write, [("A", {"v": 1})], run_key="r2")
    assert outcome.how == "sent" and outcome.in_doubt and ledger(mdm, entity)["A"] == ("done", "R2")


def test_a_create_left_in_doubt_by_a_dead_process_is_settled_first(mdm, entity):
    vendor = Vendor(lose_answers=1)
    write = creates(vendor, entity, lookup=lambda keys: {})  # the look-up misses it the first time
    with pytest.raises(OutcomeUnknownError):
        write_once(mdm, write, [("A", {"v": 1})], run_key="r1")
    adopted = settle(mdm, creates(vendor, entity))  # the next run, before deciding anything
    assert [(o.key, o.how, o.remote_id) for o in adopted] == [("A", "adopted", "R1")]
    (outcome,) = write_once(mdm, creates(vendor, entity), [("A", {"v": 1})], run_key="r2")
    assert outcome.how == "already" and len(vendor.records["A"]) == 1


def test_one_refused_record_is_held_back_and_the_rest_proceed(mdm, entity):
    vendor = Vendor(refuse={"BAD"})
    queued = []

    def refused(conn, key, state, err):
        conn.execute("SELECT 1")  # runs inside the refusal's transaction
        queued.append((key, str(err)))
        return "blocked"

    intents = [("A", {"v": 1}), ("BAD", {"v": 2}), ("C", {"v": 3})]
    outcomes = write_once(mdm, creates(vendor, entity, refused=refused), intents, run_key="r1")
    assert {o.key: o.how for o in outcomes} == {"A": "sent", "BAD": "refused", "C": "sent"}
    assert [k for k, _ in queued] == ["BAD"] and sorted(vendor.records) == ["A", "C"]
    assert ledger(mdm, entity)["BAD"] == ("blocked", None)


def test_two_processes_at_once_write_a_key_once(mdm, entity):
    vendor = Vendor(delay=0.5)
    results = []

    def run() -> None:
        with psycopg.connect(mdm.info.dsn, password=mdm.info.password, autocommit=True) as conn:
            results.extend(write_once(conn, creates(vendor, entity), [("A", {"v": 1})], run_key="r"))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(o.how for o in results) == ["already", "already", "sent"]
    assert vendor.calls == 1 and len(vendor.records["A"]) == 1


def test_a_failing_side_effect_leaves_the_key_in_doubt_not_done(mdm, entity):
    vendor = Vendor()

    def record(conn, outcomes):
        conn.execute("SELECT 1 / 0")  # the crosswalk write fails: the success must not be half recorded

    with pytest.raises(psycopg.errors.DivisionByZero):
        write_once(mdm, creates(vendor, entity, record=record), [("A", {"v": 1})], run_key="r1")
    assert ledger(mdm, entity)["A"][0] == "sending"
    (outcome,) = write_once(mdm, creates(vendor, entity), [("A", {"v": 1})], run_key="r2")
    assert outcome.how == "adopted" and len(vendor.records["A"]) == 1
