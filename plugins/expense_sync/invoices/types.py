"""The canonical invoice types (``include/dictionaries/invoice_types.yaml``) and where each
vendor puts them; kept in ``mdm.invoice_type`` / ``mdm.invoice_type_source`` for SQL and auditors."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import psycopg
import yaml

from expense_sync.settings import INCLUDE_DIR
from expense_sync.store import sqlfile

TYPES_FILE = INCLUDE_DIR / "dictionaries" / "invoice_types.yaml"
VAT_RULES = ("invoice_tax", "transport_invoice_tax", "air_rail_9", "road_water_3", "none")
SQL = "invoices/types"  # include/sql/invoices/types.sql


@dataclass(frozen=True)
class InvoiceType:
    code: str
    name: str
    vat_rule: str
    special: bool
    ekuaibao: tuple[tuple[str, str | None], ...]


@cache
def invoice_types() -> tuple[InvoiceType, ...]:
    """Every canonical type, as the file lists them; a rule the code does not know is refused."""
    types = []
    for entry in yaml.safe_load(TYPES_FILE.read_text("utf-8"))["types"]:
        if entry["vat_rule"] not in VAT_RULES:
            raise ValueError(f"{TYPES_FILE.name}: {entry['code']}: unknown vat_rule {entry['vat_rule']!r}")
        sources = tuple((str(obj), None if cat is None else str(cat)) for obj, cat in entry.get("ekuaibao") or [])
        types.append(InvoiceType(entry["code"], entry["name"], entry["vat_rule"], bool(entry["special"]), sources))
    codes = [t.code for t in types]
    if len(set(codes)) != len(codes):
        raise ValueError(f"{TYPES_FILE.name}: a type code is listed twice")
    return tuple(types)


@cache
def _by_source() -> dict[tuple[str, str | None], InvoiceType]:
    found: dict[tuple[str, str | None], InvoiceType] = {}
    for kind in invoice_types():
        for source in kind.ekuaibao:
            if source in found:
                raise ValueError(f"{TYPES_FILE.name}: 合思 {source} is mapped twice")
            found[source] = kind
    return found


def ekuaibao_type(object_id: str, category: str | None) -> InvoiceType | None:
    """The canonical type of a 合思 invoice (its entity's object id and, for ``invoice``, 发票类别)."""
    return _by_source().get((object_id, category if object_id == "invoice" else None))


def sync_dictionary(conn: psycopg.Connection) -> None:
    """Bring ``mdm.invoice_type`` and its 合思 crosswalk in step with the file (idempotent)."""
    kinds = invoice_types()
    with conn.cursor() as cur:
        cur.executemany(sqlfile.step(SQL, "upsert_type"), [(t.code, t.name, t.vat_rule, t.special) for t in kinds])
        cur.executemany(
            sqlfile.step(SQL, "upsert_source"),
            [("ekuaibao", obj, cat or "", t.code) for t in kinds for obj, cat in t.ekuaibao],
        )
    conn.execute(sqlfile.step(SQL, "retire"), ([t.code for t in kinds],))
