"""Merge the landed suppliers and tax codes into ``mdm.supplier`` / ``mdm.tax_code``, set-based, in
one transaction (``include/sql/masters/merge_*.sql``), through the load pipeline of
:mod:`expense_sync.store.loads`: take the load, stage its candidates with their reasons and bring
the exception queue in line (kind quarantine; ``supplier_credit_code_invalid`` for a supplier whose
credit code fails the check: merged all the same, never stopping the rest), apply, mark merged.
A load merged already merges nothing again; a re-run of the same listing writes nothing."""

from __future__ import annotations

from typing import Any

import psycopg

from expense_sync.store import loads as staged
from expense_sync.store import sqlfile

KEEP_LOADS = 4
STEPS = ["insert_new", "update_existing", "deactivate_missing", "crosswalk_stale", "crosswalk"]
STAGE = ["candidates", "index", "analyze"]
# entity, sql file, temp table
ENTITIES = (
    ("supplier", "masters/merge_suppliers", "supplier_in"),
    ("tax_code", "masters/merge_tax_codes", "tax_code_in"),
)


def merge_masters(conn: psycopg.Connection, loads: dict[str, dict], run_key: str) -> dict[str, Any]:
    """Merge one landing's loads; returns counts per entity."""
    counts: dict[str, Any] = {}
    with conn.transaction():
        for entity, sql_name, temp_table in ENTITIES:
            if "skipped" in loads[entity]:  # the ERP does not offer it: its canonical records stay as they are
                counts[entity] = {"skipped": loads[entity]["skipped"]}
                continue
            load_id = loads[entity]["load_id"]
            system, _, status = staged.merging(conn, load_id)
            if status in staged.REPEATS:
                counts[entity] = {"already_merged": True}
                continue
            params = {"load_id": load_id, "system": system}
            queued, cleared = staged.quarantine(
                conn, sql_name, params, entity=entity, temp_table=temp_table, run_key=run_key, stage=STAGE
            )
            applied = sqlfile.run(conn, sql_name, params, only=STEPS)
            counts[entity] = {
                "received": staged.count_rows(conn, temp_table),
                "created": applied["insert_new"],
                "updated": applied["update_existing"],
                "deactivated": applied["deactivate_missing"],
                "quarantined": queued,
                "quarantine_cleared": cleared,
            }
            staged.merged(conn, load_id, system, entity, None, run_key, keep=KEEP_LOADS)
    return counts
