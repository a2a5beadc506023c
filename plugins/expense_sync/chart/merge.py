"""Merge the landed chart into the canonical tables, set-based, in one transaction.

For each entity: stage candidates with their quarantine reason (an indexed, analyzed temporary
table, so that the plans stay linear at 20 000 rows), queue the malformed ones (and clear
items whose problem is gone), then apply the clean ones (``include/sql/chart/merge_*.sql``): new
records are inserted, changed ones updated, and — on a full load only — records the ERP no longer
lists are deactivated. The loads are marked merged and the watermarks advanced (to the newest ERP
change time seen) in the same transaction, so a crash leaves either everything or nothing.
"""

from __future__ import annotations

from typing import Any

import psycopg

from expense_sync.store import queue, runs, sqlfile

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
            system, status = conn.execute(
                "SELECT source_system, status FROM sync.load WHERE load_id = %s FOR UPDATE", (load["load_id"],)
            ).fetchone()
            if status == "merged":  # a cleared task merging again: nothing left to do
                counts[entity] = {"already_merged": True}
                continue
            if status != "landed":
                raise RuntimeError(f"load {load['load_id']} is {status}, not landed")
            params = {"load_id": load["load_id"], "system": system, "full": load["full"]}
            sqlfile.run(conn, sql_name, params, only=["candidates", "index", "analyze"])
            quarantined = queue.queue_from(
                conn,
                kind="quarantine",
                system=system,
                entity=entity,
                table=temp_table,
                run_key=run_key,
                detail_col="detail",
            )
            cleared = queue.resolve_cleared(
                conn,
                kind="quarantine",
                system=system,
                entity=entity,
                table=temp_table,
                run_key=run_key,
                full_snapshot=load["full"],
            )
            applied = sqlfile.run(conn, sql_name, params, only=STEPS)
            counts[entity] = {
                "received": conn.execute(f"SELECT count(*) FROM {temp_table}").fetchone()[0],
                "created": applied["insert_new"],
                "updated": applied["update_existing"],
                "deactivated": applied["deactivate_missing"],
                "quarantined": quarantined,
                "quarantine_cleared": cleared,
                "full": load["full"],
            }
            conn.execute(
                "UPDATE sync.load SET status = 'merged', merged_at = now() WHERE load_id = %s", (load["load_id"],)
            )
            newest = conn.execute(
                f"SELECT max(source_updated_at) FROM staging.{entity} WHERE load_id = %s", (load["load_id"],)
            ).fetchone()[0]
            previous = runs.watermark(conn, system, entity)
            if newest is not None and (previous is None or newest > previous):
                runs.set_watermark(conn, system, entity, newest, run_key=run_key, load_id=load["load_id"])
            prune_staging(conn, system, entity)
    return counts


def prune_staging(conn: psycopg.Connection, system: str, entity: str, keep: int = KEEP_LOADS) -> None:
    """Drop staged loads older than the last ``keep`` merged ones (their rows cascade)."""
    conn.execute(
        """DELETE FROM sync.load WHERE source_system = %s AND entity = %s AND load_id < (
               SELECT min(load_id) FROM (SELECT load_id FROM sync.load
                                          WHERE source_system = %s AND entity = %s AND status = 'merged'
                                          ORDER BY load_id DESC LIMIT %s) newest)""",
        (system, entity, system, entity, keep),
    )
