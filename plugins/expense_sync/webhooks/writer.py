"""Durable inserts into the inbox from the event loop: group commit on a few writer threads.

``pool_size`` threads each keep one autocommit connection to ``mdm_postgres`` (made by
:func:`expense_sync.store.db.connect`, with a statement timeout and an application name), so the
pool is the thread pool. Deliveries are not inserted one by one: :meth:`InboxWriter.store` queues
its event and waits; whenever a writer thread is free it takes every event waiting (up to
``MAX_BATCH``) and inserts them in one statement: one transaction, one commit
(:func:`expense_sync.store.inbox.insert_many`). Under load, the events that arrive while the threads
are busy share the next commit (and its fsync); alone, an event is a batch of one. A store returns
only after PostgreSQL committed the statement holding its row, so every 2xx still means committed.
A broken connection (the server restarted) is replaced and the batch tried once more, which is
safe: the insert is idempotent. What the sender hears when the database cannot take the event:

* cannot connect, connection lost twice, too slow (``db_timeout``), any other database error → 503
  with ``Retry-After``, for every event of the batch (the statement failed, so none of them was
  stored; the senders retry, and no event is lost or answered 2xx);
* the payload holds a lone surrogate (JSON ``"\\ud800"``), which no UTF-8 text can carry → 400,
  found before the insert;
* the server refuses the payload's data (e.g. a NUL character inside a JSON string) → 422. That
  fails the whole statement, so the batch is then written one event at a time: only the event at
  fault is refused.

Either refused payload is kept for a person: a quarantine item in the exception queue
(``webhook_payload_unstorable``, keyed by source and dedup key, the payload as escaped text), so a
4xx never loses an event silently.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import psycopg

from expense_sync.store import inbox, queue, sqlfile
from expense_sync.store.inbox import InboundEvent
from expense_sync.webhooks.errors import Rejected

log = logging.getLogger(__name__)
APPLICATION_NAME = "expense-sync-webhooks"
RETRY_AFTER = 5
UNSTORABLE = "webhook_payload_unstorable"
MAX_BATCH = 200  # events in one statement
Outcome = bool | Rejected  # stored now, stored before, or refused
Waiting = tuple[InboundEvent, asyncio.Future[Outcome]]
R = TypeVar("R")


def connect_mdm(statement_timeout: float) -> psycopg.Connection:
    from expense_sync.store.db import connect

    conn = connect()
    conn.execute(
        sqlfile.step("webhooks/writer", "configure_session"),
        (f"{int(statement_timeout * 1000)}ms", APPLICATION_NAME),
    )
    return conn


def has_lone_surrogate(text: str) -> bool:
    """Whether ``text`` holds a lone surrogate, which UTF-8 (and so PostgreSQL) cannot encode."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def keep(conn: psycopg.Connection, event: InboundEvent, why: str) -> None:
    """Queue a payload the inbox cannot take for a person (escaped, so that the queue can store it)."""
    payload = event.payload_json.encode("utf-8", "backslashreplace").decode("utf-8")  # "\ud800" → r"\ud800"
    with conn.transaction():
        queue.open_item(
            conn,
            kind="quarantine",
            system=event.source,
            entity="webhook_event",
            record_key=event.dedup_key,
            reason_code=UNSTORABLE,
            detail=f"the inbox cannot store the payload ({why})",
            record={"event_type": event.event_type, "subject": event.subject, "payload": payload},
        )


def _too_slow(outcome: asyncio.Future[Outcome]) -> None:
    if not outcome.done():  # its batch may still commit: the retry is then answered as a duplicate
        outcome.set_result(Rejected(503, "database too slow", retry_after=RETRY_AFTER))


class InboxWriter:
    """``size`` writer threads with a connection each; :meth:`store` awaits its event's commit."""

    def __init__(self, size: int, timeout: float, connect: Callable[[], psycopg.Connection] | None = None) -> None:
        self.size = size
        self.timeout = timeout
        self._connect = connect or (lambda: connect_mdm(timeout))
        self._executor = ThreadPoolExecutor(max_workers=size, thread_name_prefix="inbox-writer")
        self._local = threading.local()
        self._connections: list[psycopg.Connection] = []
        self._lock = threading.Lock()
        # on the event loop only: the events waiting for a thread, and how many batches are in flight
        self._waiting: list[Waiting] = []
        self._in_flight = 0
        self._dispatch_due = False

    def warm(self, timeout: float = 30.0) -> int:
        """Open every writer thread's connection now (the app's start), so that the first delivery
        does not pay for a connection inside its ``db_timeout``. Blocks; returns how many opened.
        A database that cannot be reached is logged, not raised: deliveries get 503 until it is back."""
        together = threading.Barrier(self.size, timeout=timeout)  # holds each thread, so each opens its own

        def open_one() -> Rejected | None:
            try:
                self._connection()
                return None
            except Rejected as rejected:
                return rejected
            finally:
                try:
                    together.wait()
                except threading.BrokenBarrierError:
                    pass

        failures = [f for f in [self._executor.submit(open_one) for _ in range(self.size)] if f.result()]
        if failures:
            rejected = failures[0].result()
            assert rejected is not None  # a failure is a Rejected
            log.warning(
                "inbox connections opened at start: %d of %d (%s: %s)",
                self.size - len(failures),
                self.size,
                rejected.reason,
                rejected.detail,
            )
        return self.size - len(failures)

    async def store(self, event: InboundEvent) -> bool:
        """Insert and commit; ``True`` if stored now, ``False`` if it was stored before."""
        loop = asyncio.get_running_loop()
        outcome: asyncio.Future[Outcome] = loop.create_future()
        self._waiting.append((event, outcome))
        if not self._dispatch_due:  # after this turn of the loop, so that its deliveries go together
            self._dispatch_due = True
            loop.call_soon(self._dispatch)
        expiry = loop.call_later(self.timeout, _too_slow, outcome)  # a timer: cheaper than asyncio.timeout
        try:
            result = await outcome
        finally:
            expiry.cancel()
        if isinstance(result, Rejected):
            raise result
        return result

    def _dispatch(self) -> None:
        """On the loop: the waiting events, in batches, to the free writer threads."""
        self._dispatch_due = False
        loop = asyncio.get_running_loop()
        while self._waiting and self._in_flight < self.size:
            batch = [(event, f) for event, f in self._waiting[:MAX_BATCH] if not f.done()]  # not timed out
            del self._waiting[:MAX_BATCH]
            if batch:
                self._in_flight += 1
                written = loop.run_in_executor(self._executor, self._write, [event for event, _ in batch])
                written.add_done_callback(functools.partial(self._settle, batch))

    def _settle(self, batch: list[Waiting], done: asyncio.Future[list[Outcome]]) -> None:
        """On the loop: answer each event of a written batch, and hand the thread the next one."""
        self._in_flight -= 1
        failure = Rejected(503, "writer stopped", retry_after=RETRY_AFTER) if done.cancelled() else done.exception()
        for n, (_, future) in enumerate(batch):
            if future.done():  # its delivery was already answered 503 (too slow)
                continue
            if failure is not None:  # unexpected (a driver bug): the app's catch-all answers 503
                future.set_exception(failure)
            else:
                future.set_result(done.result()[n])
        if self._waiting:
            self._dispatch()

    def _write(self, events: list[InboundEvent]) -> list[Outcome]:
        """On a writer thread: the events in one statement (one commit), and each one's outcome."""
        if len(events) > 1 and not any(has_lone_surrogate(e.payload_json) for e in events):
            try:
                return list[Outcome](self._attempt(inbox.insert_many, events))
            except psycopg.DataError:
                pass  # the statement stored nothing: one at a time, so that only the event at fault is refused
            except Rejected as rejected:  # the statement stored nothing: each sender is told
                return [rejected.again() for _ in events]
        return [self._write_one(event) for event in events]

    def _write_one(self, event: InboundEvent) -> Outcome:
        try:
            if has_lone_surrogate(event.payload_json):
                self._attempt(keep, event, "a lone surrogate")
                return Rejected(400, "body has a lone surrogate")
            try:
                return self._attempt(inbox.insert_many, [event])[0]
            except psycopg.DataError as err:
                self._attempt(keep, event, f"sqlstate {err.sqlstate}")
                return Rejected(422, "payload cannot be stored", detail=f"sqlstate {err.sqlstate}")
        except Rejected as rejected:
            return rejected

    def _attempt(self, write: Callable[..., R], *args: Any) -> R:
        """``write(conn, *args)`` on this thread's connection. A lost connection earns one more
        attempt (the writes are idempotent); a database error becomes a 503, except a payload the
        server refuses (:class:`psycopg.DataError`), which is the caller's."""
        attempt = 0
        while True:  # ends by returning or raising
            attempt += 1
            conn = self._connection()
            try:
                return write(conn, *args)
            except psycopg.DataError:
                raise
            except (psycopg.OperationalError, psycopg.InterfaceError) as err:
                lost = conn.broken or conn.closed
                if lost:
                    self._discard(conn)
                if attempt == 2 or not lost:  # only a lost connection is worth a second try
                    raise Rejected(
                        503,
                        "database unavailable",
                        retry_after=RETRY_AFTER,
                        detail=f"{type(err).__name__} sqlstate {err.sqlstate}",
                    ) from None
            except psycopg.Error as err:
                raise Rejected(
                    503,
                    "database error",
                    retry_after=RETRY_AFTER,
                    detail=f"{type(err).__name__} sqlstate {err.sqlstate}",
                ) from None

    def _connection(self) -> psycopg.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is not None and not conn.closed:
            return conn
        try:
            conn = self._connect()
        except psycopg.Error as err:
            raise Rejected(
                503, "database unavailable", retry_after=RETRY_AFTER, detail=f"connect: {type(err).__name__}"
            ) from None
        except Exception as err:  # e.g. mdm_postgres is not defined
            raise Rejected(
                503, "database not configured", retry_after=RETRY_AFTER, detail=f"connect: {type(err).__name__}"
            ) from None
        self._local.conn = conn
        with self._lock:
            self._connections.append(conn)
        return conn

    def _discard(self, conn: psycopg.Connection) -> None:
        self._local.conn = None
        with self._lock:
            if conn in self._connections:
                self._connections.remove(conn)
        try:
            conn.close()
        except psycopg.Error:
            pass

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()
