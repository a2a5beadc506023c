"""Read what 合思 holds: its fee types (in full: one call, no paging) and every item of the cost
center and project dimensions (in full too, a few pages once a week).

Both are landed in staging (raw kept) and folded into ``mdm.fee_type`` and
``sync.expense_dimension_item`` in one transaction; an item whose content differs from the last read
gets ``changed_at`` on the middle platform's clock, which is what the push compares against. The
items are not read incrementally on 合思's ``updateTime``: that is 合思's clock, and an edit stamped
by a clock running behind (or after one that ran ahead and pushed the watermark into the future)
would never be read, so the push would overwrite it with the ERP's value without a queue item. The
newest ``updateTime`` seen is still kept as the stream's watermark (for the record, not as a filter).
"""

from __future__ import annotations

from typing import Any

import psycopg

from expense_sync.chart.extract import columns
from expense_sync.hooks.ekuaibao import EkuaibaoHook
from expense_sync.store import loads, sqlfile, watermarks

TARGET = "ekuaibao"
SQL = "chart/merge_expense_side"
KEEP_LOADS = 8  # two weeks of reads of both dimensions


def dimension_ids(hook: EkuaibaoHook) -> dict[str, str]:
    """The 合思 category ids that hold cost centers and projects (connection extras name them)."""
    settings = hook.settings
    return {
        "cost_center": hook.dimension(settings.cost_center_dimension)["id"],
        "project": hook.dimension(settings.project_dimension)["id"],
    }


def items_stream(dimension_id: str) -> str:
    return f"dimension_items:{dimension_id}"


def read_expense_side(conn: psycopg.Connection, hook: EkuaibaoHook, run_key: str) -> dict[str, Any]:
    """Land and fold in 合思's fee types and changed dimension items; returns counts."""
    dimensions = dimension_ids(hook)
    counts: dict[str, Any] = {}
    with conn.transaction(), conn.cursor() as cur:
        fee_types = loads.land(conn, cur, TARGET, "fee_type", run_key, hook.fee_types(), columns("fee_type"))
        applied = sqlfile.run(conn, SQL, {"load_id": fee_types["load_id"]}, only=["fee_types", "fee_types_gone"])
        counts["fee_type"] = {
            "received": fee_types["rows"],
            "changed": applied["fee_types"] + applied["fee_types_gone"],
        }
        for entity, dimension_id in dimensions.items():
            stream = items_stream(dimension_id)
            pages = hook.iter_dimension_items(dimension_id, None)  # in full: 合思's clock is not ours
            records = (item for page in pages for item in page)
            items = loads.land(conn, cur, TARGET, "dimension_item", run_key, records, columns("dimension_item"))
            applied = sqlfile.run(conn, SQL, {"load_id": items["load_id"]}, only=["dimension_items"])
            counts[entity] = {"received": items["rows"], "changed": applied["dimension_items"]}
            newest = sqlfile.one(conn.execute(sqlfile.step(SQL, "newest_update"), (items["load_id"],)))
            if newest[0]:
                watermarks.set_watermark(conn, TARGET, stream, newest[1], cursor=newest[0], run_key=run_key)
            loads.merged(conn, items["load_id"], TARGET, "dimension_item", None, run_key, keep=KEEP_LOADS)
        loads.merged(conn, fee_types["load_id"], TARGET, "fee_type", None, run_key, keep=KEEP_LOADS)
    return {"dimensions": dimensions, "counts": counts, "api": dict(hook.stats)}
