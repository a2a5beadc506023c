"""Reconcile expense categories (ERP) with 合思 fee types, set-based (``include/sql/chart/categories.sql``).

Fee types are read-only in 合思's open API, so nothing is written to 合思 here: each active category
maps onto the active fee type that carries its code (provenance ``auto_code``), and what cannot be
decided automatically becomes a conflict with its reason — a category with no fee type
(``no_fee_type``), a mapped fee type whose GL account is inactive or unknown
(``fee_type_gl_inactive``) or not a postable leaf (``fee_type_gl_not_postable``). Such a mapping is
``suspended`` (not in force) until the ERP account is usable again or a person decides. Conflicts
whose cause is gone are cleared automatically; a deferred one whose values changed is reopened.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from expense_sync.store import queue, sqlfile

SQL = "chart/categories"
TARGET = "ekuaibao"
ENTITY = "expense_category"
REASONS = ["no_fee_type", "fee_type_gl_inactive", "fee_type_gl_not_postable"]


def reconcile_categories(conn: psycopg.Connection, run_key: str) -> dict[str, Any]:
    """Map categories onto fee types and queue what needs a person; returns counts."""
    params = {"run_key": run_key}
    with conn.transaction():
        sqlfile.run(conn, SQL, params, only=["evaluate", "index", "analyze", "reopen"])
        conflicts, cleared = queue.sync_from(
            conn,
            kind="conflict",
            system=TARGET,
            entity=ENTITY,
            table=sql.Identifier("category_eval"),
            run_key=run_key,
            key_col="code",
            record_col="record",
            detail_col="detail",
            reason_codes=REASONS,
        )
        applied = sqlfile.run(conn, SQL, params, only=["expire_decisions", "map"])
        states: dict[str, int] = dict(conn.execute(sqlfile.step(SQL, "count_states")).fetchall())
    return {"states": states, "conflicts": conflicts, "cleared": cleared, "mappings_changed": applied["map"]}
