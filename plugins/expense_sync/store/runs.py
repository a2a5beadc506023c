"""The run ledger: counts per DAG run and step."""

from __future__ import annotations

import json
from typing import Any

import psycopg

from expense_sync.store import sqlfile

SQL = "store/runs"


def record_step(conn: psycopg.Connection, run_key: str, step: str, counts: dict[str, Any]) -> None:
    """Keep the counts of one step of a run (a re-run of the step replaces them)."""
    dag_id, _, run_id = run_key.partition("/")
    conn.execute(sqlfile.step(SQL, "open_run"), (run_key, dag_id, run_id))
    conn.execute(sqlfile.step(SQL, "record_step"), (run_key, step, json.dumps(counts, default=str)))


def finish_run(conn: psycopg.Connection, run_key: str, status: str = "success") -> dict[str, dict]:
    """Close a run in the ledger; return its steps' counts."""
    conn.execute(sqlfile.step(SQL, "finish_run"), (status, run_key))
    return steps(conn, run_key)


def steps(conn: psycopg.Connection, run_key: str) -> dict[str, dict]:
    rows = conn.execute(sqlfile.step(SQL, "steps_of_run"), (run_key,)).fetchall()
    return {step: counts for step, counts in rows}
