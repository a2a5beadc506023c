"""Land the ERP's suppliers and tax codes in staging (``staging.supplier`` / ``staging.tax_code``):
one ``sync.load`` per entity, the hook's canonical records streamed by COPY, in one transaction.

Always a full listing (no ERP offers a change filter we rely on for these): the merge deactivates
what is gone. A supplier's credit code is checked here (GB 32100-2015), so the merge and the
exception queue see ``credit_code_valid``."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from collections.abc import Iterable, Iterator
from typing import Any

import psycopg

from expense_sync.erp.ledger import ErpLedger
from expense_sync.erp.masters import Supplier, TaxCode
from expense_sync.hooks.errors import EntityUnavailableError
from expense_sync.store import sqlfile
from expense_sync.store.db import copy_rows

LOADS = "store/loads"
log = logging.getLogger(__name__)
SUPPLIER_COLUMNS = (
    "load_id", "source_key", "code", "name", "credit_code", "credit_code_valid", "active", "bank_account",
    "remote_id", "raw",
)  # fmt: skip
TAX_CODE_COLUMNS = ("load_id", "source_key", "code", "name", "rate", "exempt", "active", "remote_id", "raw")


def _raw(record: Supplier | TaxCode) -> str:
    fields = dataclasses.asdict(record)
    return json.dumps(fields, ensure_ascii=False, sort_keys=True, default=str)  # rates: Decimal as text


def supplier_rows(load_id: int, suppliers: Iterable[Supplier]) -> Iterator[tuple[Any, ...]]:
    for s in suppliers:
        yield (
            load_id, s.code, s.code, s.name, s.credit_code, s.credit_code_valid, s.active, s.bank_account,
            s.remote_id, _raw(s),
        )  # fmt: skip


def tax_code_rows(load_id: int, codes: Iterable[TaxCode]) -> Iterator[tuple[Any, ...]]:
    for t in codes:
        yield (load_id, t.code, t.code, t.name, t.rate, t.exempt, t.active, t.remote_id, _raw(t))


def _land(
    conn: psycopg.Connection,
    cur: psycopg.Cursor,
    system: str,
    entity: str,
    run_key: str,
    rows: Any,
    columns: tuple[str, ...],
) -> dict[str, int]:
    now = dt.datetime.now(dt.UTC)
    load_id = sqlfile.one(conn.execute(sqlfile.step(LOADS, "new_load"), (system, entity, run_key, now)))[0]
    count = copy_rows(cur, f"staging.{entity}", columns, rows(load_id))
    conn.execute(sqlfile.step(LOADS, "mark_landed"), (count, load_id))
    return {"load_id": load_id, "rows": count}


def land_masters(conn: psycopg.Connection, erp: ErpLedger, run_key: str) -> dict[str, Any]:
    """Read the ERP's suppliers and tax codes and land each as a load; returns the loads per entity.
    A master the ERP installation does not offer (:class:`EntityUnavailableError`: an SAP system
    without the tax-code view, NC Cloud) is ``{"skipped": reason}``, its canonical records left as
    they are; the other is landed all the same."""
    system = erp.vendor
    readers = {
        "supplier": (lambda n: supplier_rows(n, erp.suppliers()), SUPPLIER_COLUMNS),
        "tax_code": (lambda n: tax_code_rows(n, erp.tax_codes()), TAX_CODE_COLUMNS),
    }
    loads: dict[str, dict[str, Any]] = {}
    with conn.transaction(), conn.cursor() as cur:
        for entity, (rows, columns) in readers.items():
            try:
                with conn.transaction():  # a savepoint: a master given up leaves no half load
                    loads[entity] = _land(conn, cur, system, entity, run_key, rows, columns)
            except EntityUnavailableError as err:
                log.warning("%s %s skipped: %s", system, entity, err)
                loads[entity] = {"skipped": str(err)}
    return {"system": system, "loads": loads}
