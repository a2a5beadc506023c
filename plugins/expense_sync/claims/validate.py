"""The checks a claim passes before it may become a voucher (``include/sql/claims/validate.sql``).

Checked, per claim in state ``received`` (new or changed) or ``invalid`` (its master data may have
been fixed since): every line's amount is a positive Decimal with at most two decimals and the
lines add up to the claim total; the currency is known; the claimant is in the org master and
active on the claim date; each line's fee type maps (chart sync) to an active expense category
whose GL account is active and postable; its cost center (and project) item is a known, active
canonical record; no cost center of the claim is over its 合思 budget (balance = budgetMoney −
confirmedMoney − occupiedMoney, the claim itself counted); and, when the claim names an OA approval
(``u_oaInstanceId``), the OA knows that approval and agrees that it was approved.

A failure puts the claim in ``invalid`` and opens an item in the exception queue (``quarantine``,
or ``conflict`` when 合思 and the OA disagree), with the reason; an item whose problem is gone is
resolved. A claim whose OA approval is still running waits (``received``) for the next run. A valid
claim gets its lines (with the resolved GL account, cost center and project) in ``fin.claim_line``
and moves to ``voucher_pending``.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql

from expense_sync.hooks.ekuaibao import EkuaibaoHook
from expense_sync.hooks.errors import VendorRequestError
from expense_sync.invoices.rules import TaxRules
from expense_sync.invoices.types import sync_dictionary
from expense_sync.org.directory import DirectorySource
from expense_sync.store import queue, sqlfile
from expense_sync.store.locks import held

log = logging.getLogger(__name__)

KNOWN_CURRENCIES = ["CNY"]  # the ERP contract carries no exchange rate
SYSTEM, ENTITY = "ekuaibao", "claim"
SQL = "claims/validate"  # include/sql/claims/validate.sql
# the reason codes validate.sql gives; only items with these are resolved when a claim passes
REASON_CODES = [
    "oa_disagrees",
    "oa_approval_missing",
    "no_lines",
    "currency_unknown",
    "employee_unknown",
    "employee_inactive",
    "amount_invalid",
    "fee_type_unknown",
    "fee_type_unmapped",
    "gl_account_not_postable",
    "cost_center_unknown",
    "cost_center_inactive",
    "project_unknown",
    "total_mismatch",
    "invoice_unreadable",
    "invoice_type_unknown",
    "invoice_duplicate",
    "special_invoice_no_seller_tax_id",
    "special_invoice_not_deductible",
    "buyer_tax_id_mismatch",
    "tax_arithmetic",
    "invoice_date_invalid",
    "seller_not_supplier",
    "tax_exceeds_line",
    "budget_exceeded",
]


def tax_params(rules: TaxRules) -> dict[str, Any]:
    """The tax rules as validate.sql's parameters."""
    return {
        "buyer_tax_ids": json.dumps(rules.buyer_tax_ids),
        "non_deductible": rules.non_deductible_accounts,
        "transport": rules.passenger_transport_accounts,
        "supplier_required": rules.supplier_required_accounts,
        "max_age_days": rules.max_invoice_age_days,
        "rates": rules.rates,
    }


def claims_to_check(conn: psycopg.Connection) -> list[tuple[int, str | None]]:
    """(claim id, OA approval id) of every claim waiting for validation; a claim whose voucher the
    ERP refused waits until a person resolves that queue item (then it is validated and sent again),
    and one whose 合思 document became malformed waits until the document reads again."""
    return conn.execute(sqlfile.step(SQL, "to_check")).fetchall()


def validate_claims(
    conn: psycopg.Connection,
    expense: EkuaibaoHook,
    oa: DirectorySource,
    *,
    run_key: str | None,
    rules: TaxRules,
) -> dict[str, Any]:
    """Validate the waiting claims; returns counts (``valid``, ``invalid``, per reason, ``waiting_for_oa``).

    One validation at a time (an advisory lock): two overlapping runs would rewrite the same claims'
    lines at once and collide on them."""
    with held(conn, "claims/validate"):
        return _validate_claims(conn, expense, oa, run_key=run_key, rules=rules)


def _validate_claims(
    conn: psycopg.Connection, expense: EkuaibaoHook, oa: DirectorySource, *, run_key: str | None, rules: TaxRules
) -> dict[str, Any]:
    counts: Counter[str] = Counter()
    pending = claims_to_check(conn)
    if not pending:
        return {"checked": 0}
    oa_states: dict[int, str] = {}
    for claim_id, instance in pending:
        if instance:
            try:
                oa_states[claim_id] = oa.approval_state(instance)
            except VendorRequestError as err:  # the OA does not know the approval the claim names
                log.warning("claim %s: OA approval %s: %s", claim_id, instance, err)
                oa_states[claim_id] = "missing"
    waiting = {claim_id for claim_id, state in oa_states.items() if state == "running"}
    claim_ids = [claim_id for claim_id, _ in pending if claim_id not in waiting]
    counts["waiting_for_oa"] = len(waiting)
    if not claim_ids:
        return dict(counts)
    balances: dict[str, Decimal] = expense.budget_balances()
    with conn.transaction():
        sync_dictionary(conn)
        conn.execute(sqlfile.step(SQL, "budget"))
        conn.execute(sqlfile.step(SQL, "oa"))
        with conn.cursor() as cur:
            cur.executemany(sqlfile.step(SQL, "fill_budget"), list(balances.items()))
            cur.executemany(sqlfile.step(SQL, "fill_oa"), [(k, v) for k, v in oa_states.items() if k in claim_ids])
        params = {"claim_ids": claim_ids, "currencies": KNOWN_CURRENCIES, **tax_params(rules)}
        sqlfile.run(conn, SQL, params, only=["lines", "invoices", "verdict"])
        for kind in ("quarantine", "conflict"):
            queue.sync_from(
                conn,
                kind=kind,
                system=SYSTEM,
                entity=ENTITY,
                table=sql.Identifier("claim_check"),
                run_key=run_key,
                key_col="claim_no",
                record_col="record",
                detail_col="detail",
                kind_col="kind",
                full_snapshot=False,
                reason_codes=REASON_CODES,
            )
        applied = sqlfile.run(
            conn, SQL, params, only=["invalid", "clear_lines", "insert_lines", "invoice_findings", "valid"]
        )
        reasons = conn.execute(sqlfile.step(SQL, "reasons")).fetchall()
    counts.update({f"invalid:{reason}": n for reason, n in reasons})
    counts["invalid"] = sum(n for _, n in reasons)
    counts["valid"] = applied["valid"]
    counts["checked"] = len(claim_ids)
    log.info("validated claims: %s", dict(counts))
    return dict(counts)
