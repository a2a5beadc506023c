"""Watermarks: how far each stream has synced."""

from __future__ import annotations

import datetime as dt

import psycopg

from expense_sync.store import sqlfile

SQL = "store/watermarks"


def watermark(conn: psycopg.Connection, system: str, stream: str) -> dt.datetime | None:
    row = conn.execute(sqlfile.step(SQL, "value_of"), (system, stream)).fetchone()
    return row[0] if row else None


def set_watermark(
    conn: psycopg.Connection,
    system: str,
    stream: str,
    value: dt.datetime | None,
    *,
    run_key: str | None = None,
    load_id: int | None = None,
    cursor: str | None = None,
) -> None:
    conn.execute(sqlfile.step(SQL, "set_value"), (system, stream, value, cursor, load_id, run_key))
