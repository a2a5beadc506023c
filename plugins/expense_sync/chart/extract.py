"""Extract the ERP's chart and land it in staging: incrementally where the ERP can filter by change
time, else in full; streaming, in one transaction.

The ERP hooks hand over vendor-neutral :class:`~expense_sync.erp.model.ChartRecord` objects; the
mapping files (``include/mappings/<erp>/<entity>.yaml``) say which staging column each field lands
in, so staging holds the typed canonical fields and the vendor's record as it came. A record that
cannot be mapped is landed anyway with its error, and the merge quarantines it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterable, Iterator
from typing import Any

import psycopg

from expense_sync import mapping
from expense_sync.erp.model import ChartKind, ChartRecord
from expense_sync.hooks.erp import ErpLedger
from expense_sync.store import runs
from expense_sync.store.db import copy_rows

# the ERP's chart kinds and the canonical entities they become, in merge order
ENTITIES: dict[ChartKind, str] = {
    "gl_account": "gl_account",
    "expense_item": "expense_category",
    "cost_center": "cost_center",
    "project": "project",
}


def columns(entity: str) -> tuple[str, ...]:
    """The staging columns of an inbound entity (see V0100)."""
    return ("load_id", "source_key", *sorted(mapping.INBOUND_FIELDS[entity][0]), "mapping_error", "raw")


def staging_rows(
    load_id: int, spec: mapping.MappingSpec, records: Iterable[dict[str, Any]], cols: tuple[str, ...]
) -> Iterator[tuple]:
    """Map records to staging rows. A record listed again with the same content is skipped; the same
    key with different content is landed under a marked key with an error, so it is quarantined."""
    seen: dict[str, str] = {}
    for n, record in enumerate(records):
        raw = json.dumps(record.pop("raw", None) or record, ensure_ascii=False, sort_keys=True, default=str)
        try:
            key, values, error = spec.apply(record)
        except mapping.MappingError as err:
            key, values, error = f"?unkeyed-{n}", {}, str(err)
        if key in seen:
            if seen[key] == raw:
                continue
            key, error = f"{key}#dup{n}", f"the vendor listed {key} twice with different content"
        seen[key] = raw
        values |= {"load_id": load_id, "source_key": key, "mapping_error": error, "raw": raw}
        yield tuple(values.get(c) for c in cols)


def as_dict(record: ChartRecord) -> dict[str, Any]:
    return {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}


def new_load(conn: psycopg.Connection, system: str, entity: str, run_key: str, at: dt.datetime) -> int:
    return conn.execute(
        "INSERT INTO sync.load (source_system, entity, run_key, extracted_at) VALUES (%s, %s, %s, %s) "
        "RETURNING load_id",
        (system, entity, run_key, at),
    ).fetchone()[0]


def land(conn: psycopg.Connection, cur: psycopg.Cursor, system: str, entity: str, run_key: str, records) -> dict:
    """Land one entity's records as a new load; returns its id and row count."""
    load_id = new_load(conn, system, entity, run_key, dt.datetime.now(dt.UTC))
    cols = columns(entity)
    rows = copy_rows(cur, f"staging.{entity}", cols, staging_rows(load_id, mapping.load(system, entity), records, cols))
    conn.execute(
        "UPDATE sync.load SET status = 'landed', landed_at = now(), row_count = %s WHERE load_id = %s", (rows, load_id)
    )
    return {"load_id": load_id, "rows": rows}


def extract_chart(conn: psycopg.Connection, erp: ErpLedger, run_key: str, *, full: bool = False) -> dict[str, Any]:
    """Land every chart of the ERP; ``full`` ignores the watermarks. Returns the loads per entity."""
    system = erp.vendor
    loads: dict[str, dict] = {}
    with conn.transaction(), conn.cursor() as cur:
        for kind, entity in ENTITIES.items():
            since = None if full or not erp.supports_changed_since(kind) else runs.watermark(conn, system, entity)
            landed = land(conn, cur, system, entity, run_key, (as_dict(r) for r in erp.chart(kind, since)))
            loads[entity] = {**landed, "full": since is None, "since": since.isoformat() if since else None}
    return {"system": system, "loads": loads, "api": dict(erp.stats)}
