"""The exception queue: quarantined records and conflicts, with an append-only history.

Items are keyed by (kind, source system, entity, record key, reason code); while an item is open,
seeing the same problem again only bumps ``last_seen_at`` and ``occurrences``. Every state change
appends a row to ``sync.exception_event`` (who, when, what), which is what auditors read.

The functions here are set-based: callers stage candidate rows in a (temporary) table, named by a
:class:`psycopg.sql.Identifier`, and the queue is updated from it in one statement each.
"""

from __future__ import annotations

import json
from typing import Any

import psycopg
from psycopg import sql

from expense_sync.store import sqlfile

SQL = "store/queue"
SYSTEM_ACTOR = "system"

# Human texts of the reason codes (the queue keeps both).
REASONS: dict[str, str] = {
    "mapping_error": "the vendor record could not be mapped to the canonical model",
    "missing_name": "the record has no name",
    "missing_code": "the record has no code",
    "duplicate_code": "another record in the same load has this code",
    "code_taken": "this code already belongs to another canonical record",
    "unknown_parent": "the parent department is not in the directory",
    "self_parent": "the department is its own parent",
    "orphaned": "the department cannot be reached from the root (its parent is quarantined or in a cycle)",
    "missing_employee_no": "the employee has no employee number (工号)",
    "missing_department": "the employee belongs to no department",
    "unknown_department": "the employee's department is unknown or inactive",
    "duplicate_employee_no": "another employee has the same employee number (工号)",
    "malformed_email": "the e-mail address is malformed",
    "malformed_phone": "the mobile number is malformed",
    "push_refused": "the expense system refused the record",
    "pending_documents": "the expense system refuses to disable staff who still have pending documents",
    "unit_has_staff": "the expense system refuses to disable a department that still has staff",
    "missing_mobile": "the expense system requires a mobile number for every staff",
    # the ERP chart (expense_category_sync_weekly)
    "changed_both_sides": "changed in the ERP and in the expense system since the last sync",
    "expense_side_edited": "changed by hand in the expense system; the ERP is master",
    "no_fee_type": "the expense category has no fee type in the expense system",
    "fee_type_gl_inactive": "the fee type is mapped to an inactive or unknown GL account",
    "fee_type_gl_not_postable": "the fee type is mapped to a GL account that is not a postable leaf",
    "parent_not_in_expense": "the parent record is not in the expense system yet",
    # claims and their vouchers (claim_events, voucher_status_pull)
    "document_malformed": "the expense system's document cannot be read as a claim",
    "no_lines": "the claim has no expense lines",
    "amount_invalid": "an amount is missing, not positive or has more than two decimals",
    "total_mismatch": "the claim total differs from the sum of its lines",
    "currency_unknown": "the claim's currency is not one the ERP books take",
    "employee_unknown": "the claimant is not in the org master",
    "employee_inactive": "the claimant was not active on the claim date",
    "fee_type_unknown": "the fee type is unknown or disabled",
    "fee_type_unmapped": "the fee type maps to no active expense category",
    "gl_account_not_postable": "the fee type's GL account is inactive or not a postable leaf",
    "cost_center_unknown": "the cost center is not a known canonical cost center",
    "cost_center_inactive": "the cost center is inactive",
    "project_unknown": "the project is not a known active canonical project",
    "budget_exceeded": "the 合思 budget of a cost center is exceeded",
    "oa_disagrees": "the OA approval disagrees with the expense system's approval",
    "oa_approval_missing": "the OA does not know the approval the claim names",
    "changed_after_voucher": "the claim changed in the expense system after its voucher was made",
    "cancelled_after_voucher": "the claim was rejected or withdrawn after its voucher was made",
    "voucher_refused": "the ERP refused the claim's voucher",
    "write_back_refused": "the expense system refused the voucher number",
    "webhook_payload_unstorable": "a webhook's body cannot be stored as sent (kept escaped for a person)",
    "mass_deactivation": "the org sync would deactivate more than the allowed share: held for a person",
    "duplicate_in_erp": "the ERP holds one of our vouchers twice",
    # approval flows and the ERP budget check (approval_events)
    "approver_not_in_oa": "an approver of the chain has no account in the OA the flow goes to",
    "originator_not_in_oa": "the submitter has no account or department in the OA the flow goes to",
    "over_budget": "over the ERP budget (预算余额) of the cost center",
    "oa_refused_instance": "the OA refused to create the approval instance",
    "oa_withdrawn": "the OA approval was withdrawn or terminated while the document waits in the expense system",
    "expense_moved_on": "the document left our approval node in the expense system without the OA's decision",
    "document_changed_in_approval": "the document changed in the expense system while its OA approval ran",
    "ebot_refused": "the expense system refused the OA's decision",
    "reassign_by_hand": "the OA cannot hand the task to the new approver by API: a person must do it in the OA",
    # travel bookings accrued (claim_events: accrue_bookings)
    "requisition_missing": "the booking names no requisition (申请单): no claim could ever reverse its accrual",
    # the ERP's supplier master (expense_category_sync_weekly)
    "supplier_credit_code_invalid": "the supplier's unified social credit code fails its GB 32100-2015 check",
    # the approval matrix (approval_matrix_sync; expense_sync.matrix.resolve)
    "approval_chain_missing": "the approval matrix has no complete chain for the document (a role nobody holds)",
    "approver_inactive": "an approver of the document's chain has left",
    "approver_unknown": "an approver of the document's chain is not in the org master",
    "self_approval": "the submitter holds a role of their own chain and has no manager to hand it to",
}


def sync_from(
    conn: psycopg.Connection,
    *,
    kind: str,
    system: str,
    entity: str,
    table: sql.Identifier,
    run_key: str | None,
    key_col: str = "source_key",
    record_col: str = "raw",
    detail_col: str | None = None,
    kind_col: str | None = None,
    full_snapshot: bool = True,
    reason_codes: list[str] | None = None,
) -> tuple[int, int]:
    """Bring the queue in line with a checked ``table``; returns (rows with a problem, items cleared).

    Every row whose ``reason`` is set (and, with ``kind_col``, whose ``kind_col`` is ``kind``) opens an
    item or sees it again (new items get a ``queued`` event). An open item is cleared when its record
    is in ``table`` without that reason any more, or, when ``table`` holds the vendor's full snapshot,
    when the record is not there at all (deleted at the source). ``reason_codes`` limits which items
    this check may clear.
    """
    names = {
        "table": table,
        "key": sql.Identifier(key_col),
        "reason": sql.Identifier("reason"),
        "record": sql.Identifier(record_col),
        "detail": sql.Literal(None) if detail_col is None else sql.Identifier(detail_col),
        "kind_col": sql.Literal(None) if kind_col is None else sql.Identifier(kind_col),
    }
    params = {
        "kind": kind,
        "system": system,
        "entity": entity,
        "run_key": run_key,
        "reasons": json.dumps(REASONS),
        "actor": SYSTEM_ACTOR,
        "by_kind": kind_col is not None,
        "codes": reason_codes,
        "full_snapshot": full_snapshot,
    }
    conn.execute(sqlfile.step(SQL, "queue_from").format(**names), params)
    queued = sqlfile.one(conn.execute(sqlfile.step(SQL, "count_problems").format(**names), params))[0]
    cleared = conn.execute(sqlfile.step(SQL, "resolve_cleared").format(**names), params).rowcount
    return int(queued), cleared


def open_item(
    conn: psycopg.Connection,
    *,
    kind: str,
    system: str,
    entity: str,
    record_key: str,
    reason_code: str,
    detail: str = "",
    record: Any = None,
    run_key: str | None = None,
) -> int:
    """Open (or see again) one item; returns its id."""
    reason = REASONS.get(reason_code, reason_code) + (f": {detail}" if detail else "")
    row = sqlfile.one(
        conn.execute(
            sqlfile.step(SQL, "open_item"),
            (kind, system, entity, record_key, reason_code, reason, json.dumps(record, default=str), run_key, run_key),
        )
    )
    if row[1]:
        conn.execute(
            sqlfile.step(SQL, "queued_event"),
            (row[0], SYSTEM_ACTOR, json.dumps({"run_key": run_key, "reason_code": reason_code})),
        )
    return int(row[0])


def resolve_item(
    conn: psycopg.Connection,
    item_id: int,
    *,
    decision: str,
    actor: str,
    note: str = "",
    action: str = "decided",
    at: Any = None,
    detail: dict[str, Any] | None = None,
) -> bool:
    """Close one item with a decision, recording who decided and when (``at``, default now);
    returns whether it was still open."""
    cur = conn.execute(
        sqlfile.step(SQL, "resolve_item"),
        (decision, actor, at, item_id),
    )
    if cur.rowcount:
        add_event(conn, item_id, actor, action, {"decision": decision, "note": note, **(detail or {})})
    return bool(cur.rowcount)


def defer_item(conn: psycopg.Connection, item_id: int, *, actor: str, detail: dict[str, Any] | None = None) -> bool:
    """Leave one item undecided for now (status ``deferred``), recording who deferred it and when."""
    cur = conn.execute(sqlfile.step(SQL, "defer_item"), (item_id,))
    if cur.rowcount:
        add_event(conn, item_id, actor, "deferred", detail or {})
    return bool(cur.rowcount)


def add_event(conn: psycopg.Connection, item_id: int, actor: str, action: str, detail: dict[str, Any]) -> None:
    """Append one entry to an item's history."""
    conn.execute(
        sqlfile.step(SQL, "add_event"),
        (item_id, actor, action, json.dumps(detail, ensure_ascii=False, default=str)),
    )


def clear_records(
    conn: psycopg.Connection,
    *,
    kind: str,
    system: str,
    entity: str,
    keys: list[str],
    run_key: str | None,
    reason_codes: list[str] | None = None,
) -> int:
    """Resolve the open items of these records (their problem is gone: e.g. a later push succeeded);
    ``reason_codes`` limits which items are resolved."""
    if not keys:
        return 0
    cur = conn.execute(
        sqlfile.step(SQL, "clear_records"),
        {
            "actor": SYSTEM_ACTOR,
            "kind": kind,
            "system": system,
            "entity": entity,
            "keys": keys,
            "run_key": run_key,
            "codes": reason_codes,
        },
    )
    return cur.rowcount
