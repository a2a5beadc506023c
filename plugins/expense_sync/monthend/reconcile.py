"""Reconcile a period with the ERP ledger: totals per account / cost center / project, and claim by claim.

Three sides are compared in PostgreSQL, per (account, cost center, project):

* the **claims**: Σ closed claim lines, on their expense GL account, and Σ the input VAT they
  deduct, on the input VAT account;
* the **posted** vouchers: Σ of the lines of every voucher we made for the period (claim, rollup,
  reversal, accrual) that is in the ERP;
* the **ledger**: the ERP's movements of the period (``ErpLedger.period_ledger``: the balances and the
  period's vouchers, from one read of its entries where the ERP allows).

Causes, per line (an unexplained one wins over an explained one):

* ``rollup_out_of_date`` (unexplained): the net posted on an expense account is not the claims' sum;
* ``clearing_not_zero`` (unexplained): the clearing account does not net to zero;
* ``input_vat_mismatch`` (unexplained): the input VAT account's net posted is not the input VAT the
  claims deduct (``fin.claim_line.input_vat``);
* ``missing_in_erp`` (unexplained): the ledger holds less than we posted (a voucher deleted or voided
  in the ERP), also per voucher when a rollup/reversal voucher cannot be found;
* ``erp_manual_entry`` (explained): the ledger holds more than we posted, on the debit and/or credit
  side, while every voucher we posted is there: movements entered in the ERP by hand;
* ``duplicate_in_erp`` (unexplained): the ERP holds a voucher twice — two vouchers of the period
  carry one of our external refs (the vouchers of ``period_ledger``), or one claim has two claim
  vouchers in force (neither reversed). Each is queued by name, and the surplus on the lines of its
  cost centers / projects is unexplained, never taken for a manual entry.

Travel bookings accrued (预提, :mod:`expense_sync.accruals`): the expense side of the period's accrual
vouchers and their reversals is expected on its expense account beside the claims, and kept apart in
``accrued_total`` (``posted_total`` and ``ledger_total`` stay the claims' part, so that they still
equal ``claims_total``); the accrued liabilities account has the role ``accrual`` (the ledger must
hold what we posted). The accruals still open at the period's end (accrual vouchers of a period up to
it not reversed by then) are counted in ``open_accruals`` / ``open_accruals_total`` and listed by the
auditors' pack.

Claim by claim: each closed claim has its voucher number, its voucher's clearing debits equal its
lines, and its ledger line is the clearing account at its cost center / project (the ERP APIs give
movements per account and dimension, not per voucher line). A claim failing that is
``claim_voucher_mismatch`` (unexplained). Where the ledger holds less than we posted, the claim
vouchers of those cost centers / projects are looked up one by one (``find_voucher``, at most
``LOOKUPS`` a run) and each one the ERP no longer holds is named (``missing_in_erp``). Every
difference is an item of the conflict queue; items of the period whose difference is gone are
resolved. The period is ``reconciled`` only when the
unexplained difference is zero.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from decimal import Decimal
from typing import Any

import psycopg

from expense_sync.erp.accounts import PostingAccounts
from expense_sync.erp.ledger import ErpLedger
from expense_sync.erp.model import VoucherStatus
from expense_sync.store import sqlfile
from expense_sync.store.db import copy_rows
from expense_sync.store.queue import open_item

log = logging.getLogger(__name__)
EXPLAINED = {"erp_manual_entry"}
LOOKUPS = 100  # claim vouchers looked up one by one per run, where the ledger holds less than we posted
ENTITY_LINE, ENTITY_CLAIM, ENTITY_VOUCHER = "ledger_line", "claim", "voucher"
SQL = "monthend/reconcile"  # include/sql/monthend/reconcile.sql
NO_CLAIMS = "no claims"  # a period's status when it has no company to reconcile (no claim, no voucher)


def _cause(
    role: str, claims: Decimal, pd: Decimal, pc: Decimal, ld: Decimal, lc: Decimal
) -> tuple[str | None, Decimal]:
    """The line's cause and its absolute difference."""
    claims_gap = (pd - pc) - claims if role in ("expense", "input_vat") else Decimal(0)
    clearing_gap = (pd - pc) if role == "clearing" else Decimal(0)
    dd, dc = ld - pd, lc - pc
    difference = abs(claims_gap) + abs(clearing_gap) + abs(dd) + abs(dc)
    if claims_gap:
        return "input_vat_mismatch" if role == "input_vat" else "rollup_out_of_date", difference
    if clearing_gap:
        return "clearing_not_zero", difference
    if dd < 0 or dc < 0:
        return "missing_in_erp", difference
    if dd or dc:
        return "erp_manual_entry", difference
    return None, difference


def companies(conn: psycopg.Connection, vendor: str, period: str) -> list[str]:
    rows = conn.execute(sqlfile.step(SQL, "companies"), {"v": vendor, "p": period}).fetchall()
    return [r[0] for r in rows]


def reconcile_period(
    conn: psycopg.Connection, hook: ErpLedger, period: str, accounts: PostingAccounts, run_key: str
) -> list[dict[str, Any]]:
    """Reconcile every company of the period; one summary per company."""
    return [
        reconcile_company(conn, hook, period, company, accounts, run_key)
        for company in companies(conn, hook.vendor, period)
    ]


def reconcile_company(
    conn: psycopg.Connection, hook: ErpLedger, period: str, company: str, accounts: PostingAccounts, run_key: str
) -> dict[str, Any]:
    vendor = hook.vendor
    params = {
        "vendor": vendor,
        "period": period,
        "company": company,
        "clearing": accounts.clearing,
        "payable": accounts.employee_payable,
        "input_vat": accounts.input_vat,
        "accrued": accounts.accrued_liabilities,
    }
    ours = [r[0] for r in conn.execute(sqlfile.step(SQL, "our_vouchers"), params)]
    ledger = hook.period_ledger(company, period, ours)  # balances and vouchers, one snapshot
    balances = ledger.balances
    duplicates = _duplicates(conn, ours, ledger.vouchers, params)
    doubled = _grains(conn, vendor, list(duplicates))
    with conn.transaction():
        conn.execute(sqlfile.step(SQL, "erp_ledger"))
        with conn.cursor() as cur:
            copy_rows(
                cur,
                "erp_ledger",
                ("account", "cost_center", "project", "debit", "credit"),
                ((b.account_code, b.cost_center, b.project, b.debit, b.credit) for b in balances),
            )
        conn.execute(sqlfile.step(SQL, "period_claim_lines"), params)
        rows = conn.execute(sqlfile.step(SQL, "lines"), params).fetchall()
        mismatched = conn.execute(sqlfile.step(SQL, "mismatched_claims"), params).fetchall()
        claims_count, claims_total = sqlfile.one(conn.execute(sqlfile.step(SQL, "claims_total")))
        lines, explained, unexplained = [], Decimal(0), Decimal(0)
        posted_total = ledger_total = accrued_total = Decimal(0)
        for account, cc, project, claims, pd, pc, ld, lc, role, accrued in rows:
            cause, difference = _cause(role, claims, pd, pc, ld, lc)
            if cause == "erp_manual_entry" and (cc, project) in doubled:
                cause = "duplicate_in_erp"  # the surplus is (at least partly) our voucher held twice
            if role == "expense":
                posted_total += pd - pc - accrued
                ledger_total += ld - lc - accrued
                accrued_total += accrued
            if cause in EXPLAINED:
                explained += difference
            elif cause:
                unexplained += difference
            lines.append((account, role, cc, project, claims, pd, pc, ld, lc, difference, cause, cause in EXPLAINED))
        unexplained += sum((Decimal(str(m[4])) for m in mismatched), Decimal(0))
        short = {(cc, project) for account, role, cc, project, *_, cause, _ in lines if cause == "missing_in_erp"}
        candidates = _short_claim_vouchers(conn, short)
        still_open = open_accruals(conn, vendor, period, company)
        open_total = sum((row[-2] for row in still_open), Decimal(0))
    missing = _missing_vouchers(conn, hook, vendor, period, company)
    missing += [ref for ref in candidates if _gone(hook, ref, period)]
    clean = not unexplained and not missing and not mismatched and not duplicates
    status = "reconciled" if clean else "differences"
    with conn.transaction():
        recon_id = sqlfile.one(
            conn.execute(
                sqlfile.step(SQL, "insert_reconciliation"),
                (
                    run_key,
                    vendor,
                    period,
                    company,
                    status,
                    claims_count,
                    claims_total,
                    posted_total,
                    ledger_total,
                    explained,
                    unexplained,
                    len(mismatched),
                    accrued_total,
                    len(still_open),
                    open_total,
                ),
            )
        )[0]
        with conn.cursor() as cur:
            copy_rows(
                cur,
                "fin.reconciliation_line",
                (
                    "reconciliation_id",
                    "account",
                    "account_role",
                    "cost_center",
                    "project",
                    "claims_amount",
                    "posted_debit",
                    "posted_credit",
                    "ledger_debit",
                    "ledger_credit",
                    "difference",
                    "cause",
                    "explained",
                ),
                ((recon_id, *line) for line in lines),
            )
        queued = _queue(conn, vendor, period, company, lines, mismatched, missing, duplicates, run_key)
    result = {
        "company": company,
        "status": status,
        "claims": claims_count,
        "claims_total": str(claims_total),
        "posted_total": str(posted_total),
        "ledger_total": str(ledger_total),
        "explained": str(explained),
        "unexplained": str(unexplained),
        "claims_unmatched": len(mismatched),
        "accrued_total": str(accrued_total),
        "open_accruals": len(still_open),
        "open_accruals_total": str(open_total),
        "vouchers_missing": missing,
        "vouchers_duplicated": sorted(duplicates),
        "queued": queued,
    }
    log.info("reconciliation %s %s: %s", period, company, json.dumps(result, ensure_ascii=False))
    return result


def open_accruals(conn: psycopg.Connection, vendor: str, period: str, company: str | None) -> list[tuple]:
    """The accruals open at the end of ``period`` (``company`` None: every company): ref, company,
    period, number, order id, requisition, 工号, cost center, project, category, amount, currency."""
    params = {"vendor": vendor, "period": period, "company": company}
    return conn.execute(sqlfile.step("accruals/accruals", "open_at"), params).fetchall()


def _missing_vouchers(conn: psycopg.Connection, hook: ErpLedger, vendor: str, period: str, company: str) -> list[str]:
    """Our rollup, reversal and accrual vouchers of the period that the ERP does not hold (or holds voided)
    (claim vouchers are checked through the ledger, and looked up where it holds less)."""
    refs = conn.execute(sqlfile.step(SQL, "rollup_vouchers"), (vendor, period, company)).fetchall()
    missing = []
    for (ref,) in refs:
        found = hook.find_voucher(ref, period)
        if found is None or found.state in ("void", "error"):
            missing.append(ref)
    return missing


def _duplicates(
    conn: psycopg.Connection, ours: list[str], listed: list[VoucherStatus], params: dict[str, Any]
) -> dict[str, str]:
    """Our vouchers (``ours``) the ERP lists (``listed``) more than once: {external ref: what is duplicated}."""
    known = set(ours)
    held: Counter[str] = Counter(
        v.external_ref
        for v in listed
        if v.external_ref and v.external_ref in known and v.state not in ("void", "error")
    )
    found = {ref: f"the ERP holds {n} vouchers carrying {ref}" for ref, n in held.items() if n > 1}
    for claim_no, refs in conn.execute(sqlfile.step(SQL, "second_vouchers"), params):
        for ref in refs[1:]:
            found.setdefault(ref, f"claim {claim_no} has {len(refs)} vouchers in force: {', '.join(refs)}")
    return found


def _grains(conn: psycopg.Connection, vendor: str, refs: list[str]) -> set[tuple[str | None, str | None]]:
    """The (cost center, project) pairs the lines of these vouchers touch."""
    if not refs:
        return set()
    rows = conn.execute(sqlfile.step(SQL, "voucher_grains"), (vendor, refs)).fetchall()
    return {(cc, project) for cc, project in rows}


def _short_claim_vouchers(conn: psycopg.Connection, grains: set[tuple]) -> list[str]:
    """Where the ledger holds less than we posted: the claim vouchers of those cost centers / projects
    (at most ``LOOKUPS``), to be looked up one by one."""
    if not grains:
        return []
    rows = conn.execute(
        sqlfile.step(SQL, "short_claim_vouchers"),
        ([g[0] or "" for g in grains], [g[1] or "" for g in grains], LOOKUPS),
    ).fetchall()
    return [r[0] for r in rows]


def _gone(hook: ErpLedger, ref: str, period: str) -> bool:
    """Whether the ERP no longer holds the voucher (not found, or voided)."""
    found = hook.find_voucher(ref, period)
    return found is None or found.state in ("void", "error")


def _queue(
    conn: psycopg.Connection,
    vendor: str,
    period: str,
    company: str,
    lines: list[tuple],
    mismatched: list[tuple],
    missing: list[str],
    duplicates: dict[str, str],
    run_key: str,
) -> int:
    """Open an item per difference; resolve this period's items whose difference is gone."""
    prefix = f"{period}/{company}/"
    keys: dict[str, set[str]] = {ENTITY_LINE: set(), ENTITY_CLAIM: set(), ENTITY_VOUCHER: set()}
    for account, role, cc, project, claims, pd, pc, ld, lc, difference, cause, _ in lines:
        if not cause:
            continue
        key = f"{prefix}{account}/{cc or ''}/{project or ''}"
        keys[ENTITY_LINE].add(key)
        record = {
            "period": period,
            "company": company,
            "account": account,
            "role": role,
            "cost_center": cc,
            "project": project,
            "claims": str(claims),
            "posted_debit": str(pd),
            "posted_credit": str(pc),
            "ledger_debit": str(ld),
            "ledger_credit": str(lc),
            "difference": str(difference),
        }
        detail = f"ledger Dr {ld} Cr {lc}, posted Dr {pd} Cr {pc}, claims {claims}"
        open_item(
            conn,
            kind="conflict",
            system=vendor,
            entity=ENTITY_LINE,
            record_key=key,
            reason_code=cause,
            detail=detail,
            record=record,
            run_key=run_key,
        )
    for _, claim_no, ref, number, amount, debit in mismatched:
        key = f"{prefix}{claim_no}"
        keys[ENTITY_CLAIM].add(key)
        detail = f"voucher {ref} number {number or '—'}: clearing {debit}, claim lines {amount}"
        open_item(
            conn,
            kind="conflict",
            system=vendor,
            entity=ENTITY_CLAIM,
            record_key=key,
            reason_code="claim_voucher_mismatch",
            detail=detail,
            record={"claim_no": claim_no, "voucher": ref, "number": number, "amount": str(amount)},
            run_key=run_key,
        )
    named = [(ref, "missing_in_erp", ref) for ref in missing]
    named += [(ref, "duplicate_in_erp", detail) for ref, detail in duplicates.items()]
    for ref, reason, detail in named:
        key = f"{prefix}{ref}"
        keys[ENTITY_VOUCHER].add(key)
        open_item(
            conn,
            kind="conflict",
            system=vendor,
            entity=ENTITY_VOUCHER,
            record_key=key,
            reason_code=reason,
            detail=detail,
            record={"voucher": ref, "detail": detail},
            run_key=run_key,
        )
    for entity, current in keys.items():
        conn.execute(
            sqlfile.step(SQL, "resolve_cleared"),
            {"vendor": vendor, "entity": entity, "prefix": prefix + "%", "keys": list(current), "run_key": run_key},
        )
    return sum(len(k) for k in keys.values())
