"""The monthly rollup: a period's closed claims summed in PostgreSQL and posted as balanced vouchers.

Per period and company, the closed claims (``fin.closed_claim``, see V0300) are summed per GL
account, cost center and project in one SQL statement. Each summary row becomes a debit of its
expense account; the clearing account is credited per cost center and project, so that it nets to
zero against the claim vouchers. One voucher per company (``RU-<period>-<company>-1``), split into
``-2``, ``-3``… when the ERP limits the lines of a voucher.

A voucher the ERP refuses (a business rejection, ``VendorRequestError``: a closed period, a blocked
account) is queued as ``voucher_refused`` (entity ``voucher``, key ``<period>/<ref>``) with the ERP's
text, and the task goes on: no Airflow retry sends it again. It is held — not sent by any later run —
until a person resolves the item; then the next run looks it up by reference and posts it once. A
correction whose reversal is refused is held whole (the next version is posted only after every
voucher in force is reversed). The month does not reconcile meanwhile, so the run is red.

Idempotent per period, and safe to re-run after any interruption: the decision is taken from what
``fin.voucher`` holds (every rollup voucher, sent, in doubt or refused, and its reversal), never from
``fin.rollup_run``, which is only a log written at the end. The vouchers of the highest version ``v``
are compared with the ones the claims call for now. Equal (or not yet sent): every wanted voucher
of version ``v`` is posted, or settled by a look-up if in doubt — an interrupted posting is
completed. Different (a claim changed, arrived late or was withdrawn after the posting), or a
correction was interrupted: every voucher of version ``v`` is reversed (``<ref>-R1``) and version
``v+1`` is posted (``RU-<period>-<company>-<n>-V<v+1>``).
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import logging
import re
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg

from expense_sync.erp.accounts import PostingAccounts
from expense_sync.erp.ledger import ErpLedger
from expense_sync.erp.model import Voucher, VoucherLine
from expense_sync.erp.posting import IN_ERP, Posted, lines_json, post_voucher, reversal_of, voucher_from_row
from expense_sync.hooks.errors import VendorRequestError
from expense_sync.store import queue, sqlfile
from expense_sync.store.locks import held

log = logging.getLogger(__name__)

SQL = "monthend/rollup"  # include/sql/monthend/rollup.sql


@dataclass(frozen=True)
class SummaryRow:
    gl_account: str
    cost_center: str
    project: str | None
    amount: Decimal


@dataclass
class CompanySummary:
    company: str
    rows: list[SummaryRow]
    claims: int = 0
    claim_lines: int = 0

    @property
    def total(self) -> Decimal:
        return sum((r.amount for r in self.rows), Decimal("0"))


def company_summaries(conn: psycopg.Connection, vendor: str, period: str) -> list[CompanySummary]:
    """The period's closed claims per company / GL account / cost center / project (one query)."""
    companies: dict[str, CompanySummary] = {}
    for company, account, cost_center, project, amount, lines, claims in conn.execute(
        sqlfile.step(SQL, "summary"), {"period": period, "vendor": vendor}
    ):
        summary = companies.setdefault(company, CompanySummary(company, []))
        if account is None:  # the company's grouping set: its counts
            summary.claims, summary.claim_lines = int(claims), int(lines)
        else:
            summary.rows.append(SummaryRow(account, cost_center, project, amount))
    return list(companies.values())


def period_end(period: str) -> dt.date:
    year, month = map(int, period.split("-"))
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def rollup_ref(period: str, company: str, n: int, version: int) -> str:
    base = f"RU-{period}-{company}-{n}"
    return base if version == 1 else f"{base}-V{version}"


def compose(
    summary: CompanySummary, period: str, accounts: PostingAccounts, version: int, max_lines: int
) -> list[Voucher]:
    """The balanced rollup vouchers of one company: Dr expense (per row) / Cr clearing (per dimension)."""
    per_voucher = max(1, max_lines // 2)  # each debit row may need its own clearing credit
    vouchers = []
    for start in range(0, len(summary.rows), per_voucher):
        chunk = summary.rows[start : start + per_voucher]
        n = start // per_voucher + 1
        credits: dict[tuple[str, str | None], Decimal] = defaultdict(Decimal)
        for row in chunk:
            credits[(row.cost_center, row.project)] += row.amount
        lines = [
            VoucherLine(
                row.gl_account, debit=row.amount, cost_center=row.cost_center, project=row.project, text="报销费用月结"
            )
            for row in chunk
        ] + [
            VoucherLine(accounts.clearing, credit=amount, cost_center=cc, project=project, text="报销清算转出")
            for (cc, project), amount in sorted(credits.items(), key=lambda item: (item[0][0], item[0][1] or ""))
        ]
        vouchers.append(
            Voucher(
                external_ref=rollup_ref(period, summary.company, n, version),
                company=summary.company,
                posting_date=period_end(period),
                period=period,
                description=f"{period} 报销费用月结 {n}",
                lines=tuple(lines),
            )
        )
    return vouchers


@dataclass(frozen=True)
class Recorded:
    """A rollup voucher as ``fin.voucher`` holds it, with the state of its reversal (if one was begun)."""

    voucher_id: int
    external_ref: str
    state: str
    posting_date: dt.date
    lines: list[dict]
    reversal_state: str | None

    @property
    def version(self) -> int:
        found = VERSION.search(self.external_ref)
        return int(found.group(1)) if found else 1

    @property
    def began(self) -> bool:
        """Sent, or possibly sent (in doubt); not a voucher the ERP refused."""
        return self.state != "error"


VERSION = re.compile(r"-V(\d+)$")


def recorded(conn: psycopg.Connection, vendor: str, period: str, company: str) -> list[Recorded]:
    """Every rollup voucher of the period and company, whatever its state, with its latest reversal's state."""
    rows = conn.execute(sqlfile.step(SQL, "recorded"), (vendor, period, company)).fetchall()
    return [Recorded(*row) for row in rows]


def rollup_period(
    conn: psycopg.Connection,
    hook: ErpLedger,
    period: str,
    accounts: PostingAccounts,
    run_key: str,
    *,
    max_lines: int | None = None,
) -> list[dict[str, Any]]:
    """Post (or confirm, or correct) the period's rollup in the ERP of ``hook``; one result per company.

    Each company's decision runs under its lock (``rollup/<vendor>/<period>/<company>``), so two
    overlapping runs cannot both decide to post or to reverse.
    """
    vendor = hook.vendor
    limit = max_lines or hook.max_voucher_lines
    summaries = {s.company: s for s in company_summaries(conn, vendor, period)}
    known = {
        r[0]
        for r in conn.execute(
            sqlfile.step(SQL, "companies"),
            (vendor, period),
        )
    }
    results = []
    for company in sorted(summaries.keys() | known):
        summary = summaries.get(company) or CompanySummary(company, [])
        with held(conn, f"rollup/{vendor}/{period}/{company}"):
            results.append(_rollup_company(conn, hook, period, summary, accounts, run_key, limit))
    return results


def queue_key(period: str, ref: str) -> str:
    """A rollup voucher's key in the exception queue (entity ``voucher``): the period first, as the
    month end's open differences are found by it."""
    return f"{period}/{ref}"


def _held(conn: psycopg.Connection, vendor: str, period: str, ref: str) -> bool:
    """The ERP refused this voucher and nobody released it yet (its ``voucher_refused`` item is open)."""
    return conn.execute(sqlfile.step(SQL, "refused_open"), (vendor, queue_key(period, ref))).fetchone() is not None


def _refused(
    conn: psycopg.Connection, vendor: str, period: str, ref: str, err: VendorRequestError, run_key: str
) -> None:
    """A permanent refusal: queued with the ERP's text, and the task goes on (no retry resends it).
    Resolving the item releases the voucher: the next run looks it up by reference, then posts it once."""
    log.error("rollup voucher %s refused: %s", ref, err)
    queue.open_item(
        conn,
        kind="quarantine",
        system=vendor,
        entity="voucher",
        record_key=queue_key(period, ref),
        reason_code="voucher_refused",
        detail=str(err)[:500],
        run_key=run_key,
    )


def _consistent(current: list[Recorded], wanted: list[Voucher]) -> bool:
    """Every voucher of the current version that reached (or may have reached) the ERP is one wanted now."""
    by_ref = {v.external_ref: lines_json(v) for v in wanted}
    return all(r.external_ref in by_ref and r.lines == by_ref[r.external_ref] for r in current if r.began)


def _rollup_company(
    conn: psycopg.Connection,
    hook: ErpLedger,
    period: str,
    summary: CompanySummary,
    accounts: PostingAccounts,
    run_key: str,
    limit: int,
) -> dict[str, Any]:
    """Decide from what ``fin.voucher`` holds (never from a log written after the fact):

    * the current version is the highest recorded, whatever its vouchers' states;
    * no reversal begun on it and its vouchers match what the claims call for → post (or settle,
      or confirm) every wanted voucher of that version: an interrupted posting is completed;
    * otherwise (the claims changed, or an interrupted correction) → reverse each of its vouchers
      not reversed yet (settling one in doubt first) and post version ``v+1``.
    """
    vendor, company = hook.vendor, summary.company
    records = recorded(conn, vendor, period, company)
    version = max((r.version for r in records), default=0)
    current = [r for r in records if r.version == version]
    superseding = any(r.reversal_state is not None for r in current)
    wanted = compose(summary, period, accounts, max(version, 1), limit)
    posted_refs: list[str] = []
    refused: list[str] = []

    def post(voucher: Voucher, kind: str, reverses: int | None = None) -> Posted | None:
        """post_voucher, or None when the ERP refused the voucher (now or earlier, not yet released)."""
        if _held(conn, vendor, period, voucher.external_ref):
            refused.append(voucher.external_ref)
            return None
        try:
            return post_voucher(conn, hook, voucher, kind=kind, run_key=run_key, reverses=reverses)
        except VendorRequestError as err:
            _refused(conn, vendor, period, voucher.external_ref, err, run_key)
            refused.append(voucher.external_ref)
            return None

    if not superseding and _consistent(current, wanted):
        for voucher in wanted:  # post, complete an interrupted posting, or confirm
            posted = post(voucher, "rollup")
            if posted is not None and (posted.sent or posted.in_doubt):
                posted_refs.append(voucher.external_ref)
        version = max(version, 1) if wanted else version
        if posted_refs:
            action = "posted" if version == 1 else "reposted"
        else:
            action = "unchanged" if version else "empty"
    else:
        for r in current:
            if r.reversal_state in IN_ERP or (not r.began and r.reversal_state is None):
                continue  # reversed already, or refused by the ERP (never in it)
            original = voucher_from_row(r.external_ref, company, period, r.posting_date, r.lines, r.external_ref)
            if r.state not in IN_ERP:  # in doubt: settle it first, so that what we reverse is there
                post(original, "rollup")
            reversal = reversal_of(original)
            if post(reversal, "reversal", r.voucher_id) is not None:
                posted_refs.append(reversal.external_ref)
        if refused:  # a correction is posted only once every voucher in force is reversed
            result = {"company": company, "action": "held", "version": version, "refused": refused}
            log.error("rollup %s %s: held, the ERP refused %s", period, company, refused)
            return result
        version += 1
        for voucher in compose(summary, period, accounts, version, limit):
            if post(voucher, "rollup") is not None:
                posted_refs.append(voucher.external_ref)
        action = "reposted"
    conn.execute(
        sqlfile.step(SQL, "insert_run"),
        (
            run_key,
            vendor,
            period,
            company,
            version,
            action,
            summary.claims,
            summary.claim_lines,
            len(summary.rows),
            summary.total,
            posted_refs,
        ),
    )
    result = {
        "company": company,
        "action": action,
        "version": version,
        "claims": summary.claims,
        "summary_lines": len(summary.rows),
        "total": str(summary.total),
        "vouchers": posted_refs,
    }
    if refused:
        result["refused"] = refused
    log.info("rollup %s %s: %s", period, company, json.dumps(result, ensure_ascii=False))
    return result


def refresh_approvals(conn: psycopg.Connection, hook: ErpLedger, period: str) -> dict[str, int]:
    """Ask the ERP about the period's month-end vouchers it has not approved yet (its accountant
    audits them after the run that posted them) and keep what it says: the pack calls a period
    reconciled only once they are approved. Reads only; a re-run of the month end picks it up."""
    counts: dict[str, int] = defaultdict(int)
    for voucher_id, remote_id in conn.execute(sqlfile.step(SQL, "awaiting_approval"), (period, hook.vendor)):
        status = hook.voucher_status(remote_id)
        conn.execute(sqlfile.step(SQL, "approval_state"), (status.state, status.raw_state, status.number, voucher_id))
        counts[status.state] += 1
    return dict(counts)
