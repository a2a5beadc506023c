"""Per-key locks in PostgreSQL: at most one process works on one outbound key at a time.

``max_active_runs=1`` does not stop a manual trigger beside a scheduled run, a zombie task beside its
retry or two Celery workers from running the same write. Every outbound write therefore runs its
whole intent → call → record sequence under :func:`held`, a session-level advisory lock per key:
the second process waits, then finds the key done and sends nothing.

Session locks (not transaction locks) because the sequence spans several commits; they are released
in ``finally`` and, if the process dies, by PostgreSQL when its connection closes. Keys are hashed to
the 64-bit lock space with BLAKE2b (stable across processes, unlike ``hash()``) and taken in sorted
order, so two processes asking for overlapping key sets cannot deadlock.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import psycopg

from expense_sync.store import sqlfile

DEFAULT_WAIT = "15min"  # a vendor call under retry may take minutes; a stuck holder fails the waiter loudly


def lock_id(key: str) -> int:
    """The signed 64-bit advisory lock id of a key."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)


@contextmanager
def held(conn: psycopg.Connection, keys: str | Iterable[str], *, wait: str = DEFAULT_WAIT) -> Iterator[None]:
    """Hold the advisory lock of each key (waiting up to ``wait`` for each) for the block's duration.

    ``conn`` must be in autocommit mode (the project's connections are, see ``store.db.connect``).
    A wait longer than ``wait`` raises ``psycopg.errors.LockNotAvailable``.
    """
    ids = sorted({lock_id(k) for k in ([keys] if isinstance(keys, str) else keys)})
    taken: list[int] = []
    try:
        for lid in ids:
            with conn.transaction():
                conn.execute(sqlfile.step("store/locks", "set_lock_timeout"), (wait,))
                conn.execute(sqlfile.step("store/locks", "lock"), (lid,))
            taken.append(lid)
        yield
    finally:
        for lid in reversed(taken):
            with contextlib.suppress(psycopg.Error):  # a lost connection has released it already
                conn.execute(sqlfile.step("store/locks", "unlock"), (lid,))
