"""A claim's invoices into ``fin.claim_invoice`` (``include/sql/invoices/store.sql``)."""

from __future__ import annotations

import json
from collections.abc import Iterable

import psycopg

from expense_sync.invoices.parse import ClaimInvoice
from expense_sync.invoices.types import invoice_types
from expense_sync.invoices.vat import rule_vat
from expense_sync.store import sqlfile

SQL = "invoices/store"


def replace(conn: psycopg.Connection, claim_id: int, invoices: Iterable[ClaimInvoice]) -> None:
    """The claim's invoices become ``invoices`` (none: the claim has none any more)."""
    rules = {kind.code: kind.vat_rule for kind in invoice_types()}
    conn.execute(sqlfile.step(SQL, "clear"), (claim_id,))
    rows = [
        (
            claim_id,
            inv.line_no,
            inv.seq,
            inv.invoice_id,
            inv.source_type,
            inv.category,
            inv.invoice_type,
            inv.invoice_key,
            inv.invoice_code,
            inv.invoice_no,
            inv.invoice_date,
            inv.seller_name,
            inv.seller_tax_id,
            inv.buyer_tax_id,
            inv.net,
            inv.tax,
            inv.total,
            inv.fare,
            inv.fuel,
            inv.verified,
            inv.claimed_deductible,
            rule_vat(inv, rules[inv.invoice_type]) if inv.invoice_type else 0,
            inv.problem,
            None if inv.raw is None else json.dumps(inv.raw, ensure_ascii=False),
            json.dumps([item.as_json() for item in inv.items]),
        )
        for inv in invoices
    ]
    if rows:
        with conn.cursor() as cur:
            cur.executemany(sqlfile.step(SQL, "insert"), rows)
