"""Merge the landed chart into the canonical tables, set-based, in one transaction.

For each entity: stage candidates with their quarantine reason (an indexed, analyzed temporary
table, so that the plans stay linear at 20 000 rows), queue the malformed ones (and clear
items whose problem is gone), then apply the clean ones (``include/sql/chart/merge_*.sql``): new
records are inserted, changed ones updated, and — on a full load only — records the ERP no longer
lists are deactivated. The load's life (take for merging, quarantine, mark merged with the watermark at the newest ERP
change time seen, prune) is the one pipeline of :mod:`expense_sync.store.loads`, in one
transaction, so a crash leaves either everything or nothing; merging a merged load again is a no-op.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from expense_sync.store import loads as staged
from expense_sync.store import sqlfile

KEEP_LOADS = 4  # staging keeps the last N merged loads per source and entity (a month of weekly runs)
STEPS = ["insert_new", "update_existing", "deactivate_missing"]
# entity, sql file, temp table
ENTITIES = (
    ("gl_account", "chart/merge_gl_accounts", "gl_in"),
    ("expense_category", "chart/merge_expense_categories", "category_in"),
    ("cost_center", "chart/merge_cost_centers", "cost_center_in"),
    ("project", "chart/merge_projects", "project_in"),
)


def merge_chart(conn: psycopg.Connection, loads: dict[str, dict], run_key: str) -> dict[str, Any]:
    """Merge one extraction's loads; returns counts per entity."""
    counts: dict[str, Any] = {}
    with conn.transaction():
        for entity, sql_name, temp_table in ENTITIES:
            load = loads[entity]
            if "skipped" in load:  # the ERP does not offer it: its canonical records stay as they are
                counts[entity] = {"skipped": load["skipped"]}
                continue
            system, _, status = staged.merging(conn, load["load_id"])
            if status in staged.REPEATS:  # a cleared task merging again: nothing left to do
                counts[entity] = {"already_merged": True}
                continue
            params = {"load_id": load["load_id"], "system": system, "full": load["full"]}
            quarantined, cleared = staged.quarantine(
                conn,
                sql_name,
                params,
                entity=entity,
                temp_table=temp_table,
                run_key=run_key,
                stage=["candidates", "index", "analyze"],
                full_snapshot=load["full"],
            )
            applied = sqlfile.run(conn, sql_name, params, only=STEPS)
            counts[entity] = {
                "received": staged.count_rows(conn, temp_table),
                "created": applied["insert_new"],
                "updated": applied["update_existing"],
                "deactivated": applied["deactivate_missing"],
                "quarantined": quarantined,
                "quarantine_cleared": cleared,
                "full": load["full"],
            }
            newest = sqlfile.one(
                conn.execute(
                    sqlfile.step("chart/merge", "newest_change").format(table=sql.Identifier("staging", entity)),
                    (load["load_id"],),
                )
            )[0]
            staged.merged(conn, load["load_id"], system, entity, newest, run_key, keep=KEEP_LOADS)
    return counts
