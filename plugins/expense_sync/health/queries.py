"""The numbers of the sync-health page, read from the middle platform (``include/sql/health/numbers.sql``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg
from psycopg.rows import dict_row

from expense_sync.dag_defaults import DEADLINES
from expense_sync.store import sqlfile

SQL = "health/numbers"
SECTIONS = ("rows", "api_calls", "vouchers", "conflicts", "quality", "durations")
AGES = ("< 1 day", "1–7 days", "7–30 days", "> 30 days")  # the conflicts' age_rank 0…3


def numbers(conn: psycopg.Connection, *, days: int, now: dt.datetime | None = None) -> dict[str, Any]:
    """Every section's rows over the runs of the last ``days`` days (open conflicts: all of them)."""
    now = now or dt.datetime.now(dt.UTC)
    since = now - dt.timedelta(days=days)
    found: dict[str, Any] = {"since": since.isoformat(), "days": days}
    with conn.cursor(row_factory=dict_row) as cur:
        for section in SECTIONS:
            found[section] = [_plain(row) for row in cur.execute(sqlfile.step(SQL, section), {"since": since})]
    for row in found["conflicts"]:
        row["age"] = AGES[row.pop("age_rank")]
    for row in found["quality"]:
        row["pass_rate"] = round(row["passed"] / row["checks"], 4)
    for row in found["durations"]:
        deadline = DEADLINES.get(row["dag_id"])
        row["deadline_seconds"] = deadline.total_seconds() if deadline else None
        row["late"] = bool(deadline) and row["seconds"] > row["deadline_seconds"]
    found["deadlines"] = {dag_id: d.total_seconds() for dag_id, d in DEADLINES.items()}
    return found


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """A row as JSON values (times and dates as ISO strings)."""
    return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in row.items()}
