"""Connections to the middle platform and set-based loading helpers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from psycopg import sql

from expense_sync.settings import MDM_CONN_ID
from expense_sync.store import sqlfile


def connect(conn_id: str = MDM_CONN_ID) -> psycopg.Connection:
    """A psycopg 3 connection to the middle platform, from the Airflow connection ``conn_id``.

    The connection is in autocommit mode: every multi-statement unit of work is an explicit
    ``with conn.transaction():`` block, which then really commits when the block ends (inside an
    implicit transaction psycopg would only make it a savepoint).

    Server-side prepared statements are off: psycopg prepares a statement after five runs, and
    PostgreSQL may then keep a generic plan made while a table was still small (a sequential scan of
    the outbound ledger, run a thousand times as it grows to 100 000 rows). Our statements are few
    and set-based, so planning each run is cheap; it also suits PgBouncer in transaction mode.
    """
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    conn = PostgresHook(postgres_conn_id=conn_id).get_conn()
    if not isinstance(conn, psycopg.Connection):  # pragma: no cover - depends on installed drivers
        raise RuntimeError("expense-sync needs psycopg 3 (PostgresHook fell back to psycopg2)")
    conn.autocommit = True
    conn.prepare_threshold = None
    return conn


def sqlalchemy_url(conn_id: str = MDM_CONN_ID) -> str:
    """The connection as a SQLAlchemy URL with its password (for Great Expectations)."""
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    return PostgresHook(postgres_conn_id=conn_id).sqlalchemy_url.render_as_string(hide_password=False)


def copy_rows(cur: psycopg.Cursor, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """``COPY table (columns) FROM STDIN`` the rows; returns how many were written.

    ``table`` is a table name (``schema.table`` or a temporary table's name), quoted as identifiers.
    """
    statement = sqlfile.step("store/db", "copy_in").format(
        table=sql.Identifier(*table.split(".")), columns=sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    count = 0
    with cur.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count
