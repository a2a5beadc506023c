"""Derive the approval matrix from the ERP budget center's cost-center holders, as versioned master data.

Every active cost center (``mdm.cost_center``) gets, for each amount band of
``include/dictionaries/approval_bands.yaml`` (and each expense category an override names), its chain:
主管 as the rule ``submitter_manager`` (the submitter's manager in the OA, resolved per document by
:mod:`expense_sync.matrix.resolve`), 财务 as the cost center's budget controller and 总监 as its owner
(both from the ERP, by 工号). A role nobody holds is kept as a vacant step: the chain is incomplete,
which the GX suite ``approval_matrix`` reports and the resolver refuses (``approval_chain_missing``).

A new version is written only when the content changed (its sha256 differs from the version in
force); every version stays, for the auditors, with the approvers that changed from the one before
(``mdm.approval_matrix_change``). Everything happens in one transaction under an advisory lock.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import psycopg

from expense_sync.erp.budget import CostCenterHolders
from expense_sync.matrix.bands import BandTable, band_table
from expense_sync.store import sqlfile

SQL = "matrix/derive"  # include/sql/matrix/derive.sql
SUBMITTER_MANAGER = "submitter_manager"
ROW_COLUMNS = ("company", "cost_center", "category", "band_low", "band_high", "seq", "role", "approver", "rule")


def record_holders(
    conn: psycopg.Connection, holders: Iterable[CostCenterHolders], source_system: str
) -> dict[str, int]:
    """Keep the ERP's holders of each cost center (a complete listing: a cost center it no longer names
    has no holders). Answers how many were listed and how many changed."""
    listed: list[str] = []
    changed = 0
    with conn.transaction():
        for holder in holders:
            listed.append(holder.cost_center)
            changed += conn.execute(
                sqlfile.step(SQL, "upsert_holder"),
                {
                    "cost_center": holder.cost_center,
                    "company": holder.company,
                    "owner": holder.owner or None,
                    "budget_controller": holder.budget_controller or None,
                    "source_system": source_system,
                },
            ).rowcount
        vacated = conn.execute(
            sqlfile.step(SQL, "vacate_unlisted"), {"listed": listed, "source_system": source_system}
        ).rowcount
    return {"listed": len(listed), "changed": changed, "vacated": vacated}


def matrix_rows(cost_centers: list[tuple[str, str | None, str | None, str | None]], bands: BandTable) -> list[dict]:
    """The matrix's rows for ``(code, company, owner, budget_controller)`` of each active cost center."""
    rows = []
    for code, company, owner, controller in cost_centers:
        holders = {"财务": controller, "总监": owner}
        for category in bands.scopes(company):
            for low, high, role, seq in bands.rows(company, category):
                rows.append(
                    {
                        "company": company,
                        "cost_center": code,
                        "category": category,
                        "band_low": low,
                        "band_high": high,
                        "seq": seq,
                        "role": role,
                        "approver": None if role == "主管" else holders[role],
                        "rule": SUBMITTER_MANAGER if role == "主管" else None,
                    }
                )
    return rows


def content_hash(rows: list[dict]) -> str:
    def plain(value: Any) -> Any:
        return str(value.normalize()) if isinstance(value, Decimal) else value

    text = json.dumps([[plain(row[k]) for k in sorted(row)] for row in rows], ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def derive_matrix(conn: psycopg.Connection, run_key: str, bands: BandTable | None = None) -> dict[str, Any]:
    """Derive the matrix from the middle platform's cost centers and holders; write a new version when
    its content changed. Answers the version in force, whether it is new, its counts and the changed
    approvers (``[[cost_center, role, old, new], …]``)."""
    bands = bands or band_table()
    with conn.transaction():
        conn.execute(sqlfile.step(SQL, "lock"))
        cost_centers = conn.execute(sqlfile.step(SQL, "cost_centers")).fetchall()
        rows = matrix_rows(cost_centers, bands)
        digest = content_hash(rows)
        latest = conn.execute(sqlfile.step(SQL, "latest")).fetchone()
        counts = {"rows": len(rows), "cost_centers": len(cost_centers), "vacant": sum(is_vacant(r) for r in rows)}
        if latest is not None and latest[1] == digest:
            return {"version": latest[0], "created": False, **counts, "changed": []}
        old = latest[0] if latest else None
        version = (old or 0) + 1
        conn.execute(
            sqlfile.step(SQL, "new_version"),
            {
                "version": version,
                "run_key": run_key,
                "content_hash": digest,
                "row_count": len(rows),
                "cost_centers": len(cost_centers),
                "vacant": counts["vacant"],
            },
        )
        with conn.cursor() as cur, cur.copy(sqlfile.step(SQL, "copy_rows")) as copy:
            for row in rows:
                copy.write_row((version, *(row[column] for column in ROW_COLUMNS)))
        changed = changed_approvers(conn, old, version) if old is not None else []
        with conn.cursor() as cur:
            cur.executemany(
                sqlfile.step(SQL, "record_changes"),
                [
                    {"new": version, "old": old, "cost_center": cc, "role": role, "old_approver": a, "new_approver": b}
                    for cc, role, a, b in changed
                ],
            )
    return {"version": version, "created": True, **counts, "changed": [list(c) for c in changed]}


def is_vacant(row: dict) -> bool:
    return row["approver"] is None and row["rule"] is None


def changed_approvers(
    conn: psycopg.Connection, old_version: int, new_version: int
) -> list[tuple[str, str, str | None, str | None]]:
    """Per cost center and role held by a named person (财务, 总监): ``(cost_center, role, old, new)``
    where the approver differs between the two versions (``None``: nobody, or the role is absent)."""
    found = conn.execute(sqlfile.step(SQL, "changed"), {"old": old_version, "new": new_version}).fetchall()
    return [(cc, role, old, new) for cc, role, old, new in found]
