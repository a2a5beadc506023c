"""What both sides of a dimension item are compared on, and the state they last agreed on.

A cost center or project is compared with its 合思 dimension item on four fields — code, name,
parent (by code) and active — rendered the same way from either side (a *view*) and hashed. Per
record, ``sync.chart_sync_state`` keeps the hash of each side as of the last sync: the side whose
current hash differs has changed since, and when both have (to different values) it is a conflict.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import psycopg

from expense_sync.store import sqlfile

SQL = "chart/state"

View = dict[str, Any]


def erp_view(row: dict[str, Any]) -> View:
    """The view of a canonical (ERP) record."""
    return {"code": row["code"], "name": row["name"], "parent": row.get("parent_code") or "", "active": row["active"]}


def expense_view(item: dict[str, Any] | None, code_of: dict[str, str]) -> View | None:
    """The view of a 合思 item (``None`` when there is none); parents are named by their code."""
    if item is None:
        return None
    parent = item.get("parent_remote_id") or ""
    return {
        "code": item["code"],
        "name": item["name"],
        "parent": code_of.get(parent, parent) if parent else "",
        "active": bool(item["active"]),
    }


def view_hash(view: View | None) -> str:
    return hashlib.sha256(json.dumps(view, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def save(
    conn: psycopg.Connection,
    entity: str,
    key: str,
    erp_hash: str | None,
    expense_hash: str,
    *,
    decision: str | None = None,
    decision_item_id: int | None = None,
) -> None:
    """Record what both sides agreed on (written only when it changes)."""
    conn.execute(sqlfile.step(SQL, "save"), (entity, key, erp_hash, expense_hash, decision, decision_item_id))
