"""Durable inserts into the inbox from the event loop: a few writer threads, one connection each.

``pool_size`` threads each keep one autocommit connection to ``mdm_postgres`` (made by
:func:`expense_sync.store.db.connect`, with a statement timeout and an application name), so the
pool is the thread pool: at most ``pool_size`` inserts run at once and the rest wait their turn.
A store returns only after PostgreSQL committed the row. A broken connection (the server
restarted) is replaced and the insert tried once more, which is safe: the insert is idempotent.
What the sender hears when the database cannot take the event:

* cannot connect, connection lost twice, too slow (``db_timeout``), any other database error → 503
  with ``Retry-After`` (the sender retries; the event is not lost, and never answered 2xx);
* the payload holds a lone surrogate (JSON ``"\\ud800"``), which no UTF-8 text can carry → 400,
  found before the insert;
* the server refuses the payload's data (e.g. a NUL character inside a JSON string) → 422.

Either refused payload is kept for a person: a quarantine item in the exception queue
(``webhook_payload_unstorable``, keyed by source and dedup key, the payload as escaped text), so a
4xx never loses an event silently.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import psycopg

from expense_sync.store import inbox, queue, sqlfile
from expense_sync.store.inbox import InboundEvent
from expense_sync.webhooks.errors import Rejected

log = logging.getLogger(__name__)
APPLICATION_NAME = "expense-sync-webhooks"
RETRY_AFTER = 5
UNSTORABLE = "webhook_payload_unstorable"


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


class InboxWriter:
    """``size`` writer threads with a connection each; :meth:`store` awaits one insert."""

    def __init__(self, size: int, timeout: float, connect: Callable[[], psycopg.Connection] | None = None) -> None:
        self.size = size
        self.timeout = timeout
        self._connect = connect or (lambda: connect_mdm(timeout))
        self._executor = ThreadPoolExecutor(max_workers=size, thread_name_prefix="inbox-writer")
        self._local = threading.local()
        self._connections: list[psycopg.Connection] = []
        self._lock = threading.Lock()

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
        future = asyncio.get_running_loop().run_in_executor(self._executor, self._insert, event)
        try:
            return await asyncio.wait_for(future, self.timeout)
        except TimeoutError:
            raise Rejected(503, "database too slow", retry_after=RETRY_AFTER) from None

    def _insert(self, event: InboundEvent) -> bool:
        attempt = 0
        while True:  # ends by returning or raising: a lost connection earns one more attempt
            attempt += 1
            conn = self._connection()
            try:
                if has_lone_surrogate(event.payload_json):
                    keep(conn, event, "a lone surrogate")
                    raise Rejected(400, "body has a lone surrogate")
                return inbox.insert(conn, event) is not None
            except psycopg.DataError as err:
                keep(conn, event, f"sqlstate {err.sqlstate}")
                raise Rejected(422, "payload cannot be stored", detail=f"sqlstate {err.sqlstate}") from None
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
