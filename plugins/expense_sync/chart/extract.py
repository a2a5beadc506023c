"""Extract the ERP's chart and land it in staging: incrementally where the ERP can filter by change
time, else in full; streaming, in one transaction.

The ERP hooks hand over the ERP's own records; the mapping files
(``include/mappings/<erp>/<entity>.yaml``) say which vendor field lands in which staging column, so
staging holds the typed canonical fields and the vendor's record as it came. A record that cannot be
mapped is landed anyway with its error, and the merge quarantines it.

An optional entity the ERP installation lacks (the hook raises
:class:`~expense_sync.hooks.errors.EntityUnavailableError`: a service not activated, a form switched
off in the connection's extras) is reported as ``skipped`` with the reason and left out of the merge,
so its canonical records stay as they are. The GL accounts are not optional: without them nothing
else can be checked, and the extraction fails.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg

from expense_sync import mapping
from expense_sync.erp.ledger import ErpLedger
from expense_sync.erp.model import ChartKind
from expense_sync.hooks.errors import EntityUnavailableError
from expense_sync.store import loads as staged
from expense_sync.store import watermarks

# the ERP's chart kinds and the canonical entities they become, in merge order
ENTITIES: dict[ChartKind, str] = {
    "gl_account": "gl_account",
    "expense_item": "expense_category",
    "cost_center": "cost_center",
    "project": "project",
}
REQUIRED: frozenset[ChartKind] = frozenset({"gl_account"})
log = logging.getLogger(__name__)


def columns(entity: str) -> tuple[str, ...]:
    """The staging columns of an inbound entity (see V0100)."""
    return ("load_id", "source_key", *sorted(mapping.INBOUND_FIELDS[entity][0]), "mapping_error", "raw")


def extract_chart(conn: psycopg.Connection, erp: ErpLedger, run_key: str, *, full: bool = False) -> dict[str, Any]:
    """Land every chart of the ERP; ``full`` ignores the watermarks. Returns the loads per entity
    (``{"skipped": reason}`` for an optional entity the ERP does not offer)."""
    system = erp.vendor
    loads: dict[str, dict] = {}
    with conn.transaction(), conn.cursor() as cur:
        for kind, entity in ENTITIES.items():
            since = None if full or not erp.supports_changed_since(kind) else watermarks.watermark(conn, system, entity)
            try:
                with conn.transaction():  # a savepoint: an entity given up leaves no half load
                    records = erp.chart(kind, since)
                    landed = staged.land(conn, cur, system, entity, run_key, records, columns(entity))
            except EntityUnavailableError as err:
                if kind in REQUIRED:
                    raise
                log.warning("%s %s skipped: %s", system, entity, err)
                loads[entity] = {"skipped": str(err)}
                continue
            loads[entity] = {**landed, "full": since is None, "since": since.isoformat() if since else None}
    skipped = {entity: load["skipped"] for entity, load in loads.items() if "skipped" in load}
    return {"system": system, "loads": loads, "skipped": skipped, "api": dict(erp.stats)}
