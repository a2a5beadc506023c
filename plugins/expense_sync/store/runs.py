"""The run ledger (counts per DAG run and step) and watermarks (how far each stream has synced)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import psycopg


def record_step(conn: psycopg.Connection, run_key: str, step: str, counts: dict[str, Any]) -> None:
    """Keep the counts of one step of a run (a re-run of the step replaces them)."""
    dag_id, _, run_id = run_key.partition("/")
    conn.execute(
        "INSERT INTO sync.run (run_key, dag_id, run_id) VALUES (%s, %s, %s) ON CONFLICT (run_key) DO NOTHING",
        (run_key, dag_id, run_id),
    )
    conn.execute(
        """INSERT INTO sync.run_step (run_key, step, counts) VALUES (%s, %s, %s)
           ON CONFLICT (run_key, step) DO UPDATE SET counts = EXCLUDED.counts, finished_at = now()""",
        (run_key, step, json.dumps(counts, default=str)),
    )


def finish_run(conn: psycopg.Connection, run_key: str, status: str = "success") -> dict[str, dict]:
    """Close a run in the ledger; return its steps' counts."""
    conn.execute("UPDATE sync.run SET finished_at = now(), status = %s WHERE run_key = %s", (status, run_key))
    return steps(conn, run_key)


def steps(conn: psycopg.Connection, run_key: str) -> dict[str, dict]:
    rows = conn.execute(
        "SELECT step, counts FROM sync.run_step WHERE run_key = %s ORDER BY finished_at", (run_key,)
    ).fetchall()
    return {step: counts for step, counts in rows}


def watermark(conn: psycopg.Connection, system: str, stream: str) -> dt.datetime | None:
    row = conn.execute(
        "SELECT value FROM sync.watermark WHERE system = %s AND stream = %s", (system, stream)
    ).fetchone()
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
    conn.execute(
        """INSERT INTO sync.watermark (system, stream, value, cursor, load_id, run_key)
           VALUES (%s, %s, %s, %s, %s, %s)
           ON CONFLICT (system, stream) DO UPDATE SET value = EXCLUDED.value, cursor = EXCLUDED.cursor,
               load_id = EXCLUDED.load_id, run_key = EXCLUDED.run_key, updated_at = now()""",
        (system, stream, value, cursor, load_id, run_key),
    )
