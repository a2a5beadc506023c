"""SQL kept in files, as named steps.

A file under ``include/sql/`` holds statements each introduced by a ``-- step: <name>`` line::

    -- step: candidates
    CREATE TEMP TABLE org_in ON COMMIT DROP AS SELECT ...;
    -- step: insert_new
    INSERT INTO mdm.org_unit ...;

:func:`run` executes the steps in order with the same named parameters (``%(load_id)s``) and
returns each step's row count, which is what the run ledger records. :func:`step` is one statement,
for the caller to execute (``conn.execute(sqlfile.step("claims/intake", "claim_of"), params)``) or,
where a table or column name varies, to compose with :class:`psycopg.sql.Identifier` (never with
string formatting). All SQL lives in these files: Python modules hold none.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import psycopg
from psycopg import sql

from expense_sync.settings import INCLUDE_DIR

STEP = re.compile(r"^--\s*step:\s*([a-z0-9_]+)\s*$", re.MULTILINE)


@cache
def steps(name: str) -> dict[str, str]:
    """The steps of ``include/sql/<name>.sql`` in file order."""
    text = (INCLUDE_DIR / "sql" / f"{name}.sql").read_text(encoding="utf-8")
    parts = STEP.split(text)
    found: dict[str, str] = {}
    for step, body in zip(parts[1::2], parts[2::2], strict=True):
        if step in found:
            raise ValueError(f"{name}.sql: step {step!r} appears twice")
        found[step] = body.strip().rstrip(";")
    if not found:
        raise ValueError(f"{name}.sql has no '-- step:' sections")
    return found


def run(
    conn: psycopg.Connection,
    name: str,
    params: dict[str, Any],
    *,
    only: list[str] | None = None,
) -> dict[str, int]:
    """Execute the steps of ``name`` (or just ``only``, in file order); return their row counts."""
    counts = {}
    for step, statement in steps(name).items():
        if only is None or step in only:
            counts[step] = conn.execute(statement, params).rowcount
    return counts


def step(name: str, step: str) -> sql.SQL:
    """Statement ``step`` of ``include/sql/<name>.sql``, ready to execute or to compose."""
    found = steps(name)
    if step not in found:
        raise KeyError(f"{name}.sql has no step {step!r}")
    return sql.SQL(found[step])  # trusted text: our own files


def one(cursor: psycopg.Cursor[Any]) -> tuple[Any, ...]:
    """The row of a statement that always returns exactly one (an aggregate, an upsert's ``RETURNING``)."""
    row = cursor.fetchone()
    if row is None:
        raise LookupError("the statement returned no row")
    return row
