"""The monthly rollup: a period's closed claims summed in PostgreSQL and posted as balanced vouchers.

Per period and company, the closed claims (``fin.closed_claim``, see V0300) are summed per GL
account, cost center and project in one SQL statement. Each summary row becomes a debit of its
expense account; the clearing account is credited per cost center and project, so that it nets to
zero against the claim vouchers. One voucher per company (``RU-<period>-<company>-1``), split into
``-2``, ``-3``… when the ERP limits the lines of a voucher.

Idempotent per period: the vouchers in force (version ``v``) are compared with the ones the claims
call for now. Equal: nothing is sent (vouchers of that version still in doubt are settled). Different
(a claim changed, arrived late or was withdrawn after the posting): every voucher of version ``v``
is reversed (``<ref>-R1``) and version ``v+1`` is posted (``RU-<period>-<company>-<n>-V<v+1>``).
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import logging
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg

from expense_sync.erp.accounts import PostingAccounts
from expense_sync.erp.model import Voucher, VoucherLine
from expense_sync.erp.posting import IN_ERP, lines_json, post_voucher, reversal_of, voucher_from_row

log = logging.getLogger(__name__)

# Lines per voucher each ERP accepts (the rollup splits above it); deployments may lower them.
MAX_LINES = {"kingdee": 1000, "yonyou": 1000, "sap": 999}

SUMMARY_SQL = """
SELECT c.company, l.gl_account, l.cost_center, l.project,
       sum(l.amount)::numeric(18,2) AS amount, count(*) AS lines, count(DISTINCT c.claim_id) AS claims
FROM fin.closed_claim c
JOIN fin.claim_line l USING (claim_id)
WHERE c.period = %(period)s AND c.erp_vendor = %(vendor)s
GROUP BY GROUPING SETS ((c.company, l.gl_account, l.cost_center, l.project), (c.company))
ORDER BY c.company, l.gl_account NULLS FIRST, l.cost_center, l.project NULLS FIRST
"""


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


def summarize(conn: psycopg.Connection, vendor: str, period: str) -> list[CompanySummary]:
    """The period's closed claims per company / GL account / cost center / project (one query)."""
    companies: dict[str, CompanySummary] = {}
    for company, account, cost_center, project, amount, lines, claims in conn.execute(
        SUMMARY_SQL, {"period": period, "vendor": vendor}
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


def _in_force(conn: psycopg.Connection, vendor: str, period: str, company: str) -> tuple[int, list[tuple]]:
    """The version in force and its rollup vouchers (not reversed): (id, ref, state, date, lines, description)."""
    row = conn.execute(
        """SELECT version FROM fin.rollup_run WHERE erp_vendor = %s AND period = %s AND company = %s
            ORDER BY rollup_run_id DESC LIMIT 1""",
        (vendor, period, company),
    ).fetchone()
    version = row[0] if row else 0
    vouchers = conn.execute(
        """SELECT v.voucher_id, v.external_ref, v.state, v.posting_date, v.lines
             FROM fin.voucher v
            WHERE v.erp_vendor = %s AND v.period = %s AND v.company = %s AND v.kind = 'rollup'
              AND NOT EXISTS (SELECT 1 FROM fin.voucher r WHERE r.reverses = v.voucher_id AND r.state IN
                              ('draft', 'submitted', 'audited', 'posted'))
            ORDER BY v.external_ref""",
        (vendor, period, company),
    ).fetchall()
    return version, vouchers


def rollup_period(
    conn: psycopg.Connection,
    hook: Any,
    period: str,
    accounts: PostingAccounts,
    run_key: str,
    *,
    max_lines: int | None = None,
) -> list[dict[str, Any]]:
    """Post (or confirm, or correct) the period's rollup in the ERP of ``hook``; one result per company."""
    vendor = hook.vendor
    limit = max_lines or MAX_LINES.get(vendor, 1000)
    summaries = {s.company: s for s in summarize(conn, vendor, period)}
    known = {
        r[0]
        for r in conn.execute(
            "SELECT DISTINCT company FROM fin.rollup_run WHERE erp_vendor = %s AND period = %s", (vendor, period)
        )
    }
    results = []
    for company in sorted(summaries.keys() | known):
        summary = summaries.get(company) or CompanySummary(company, [])
        results.append(_rollup_company(conn, hook, period, summary, accounts, run_key, limit))
    return results


def _rollup_company(
    conn: psycopg.Connection,
    hook: Any,
    period: str,
    summary: CompanySummary,
    accounts: PostingAccounts,
    run_key: str,
    limit: int,
) -> dict[str, Any]:
    vendor, company = hook.vendor, summary.company
    version, in_force = _in_force(conn, vendor, period, company)
    wanted = compose(summary, period, accounts, max(version, 1), limit)
    recorded = {ref: lines for _, ref, _, _, lines in in_force}
    same = version > 0 and {v.external_ref: lines_json(v) for v in wanted} == recorded
    posted_refs: list[str] = []
    if same or (version == 0 and not wanted):
        for voucher in wanted:  # settle any left in doubt by an interrupted run
            if post_voucher(conn, hook, voucher, kind="rollup", run_key=run_key).sent:
                posted_refs.append(voucher.external_ref)
        action = "unchanged" if version else "empty"
    else:
        for voucher_id, ref, state, posting_date, lines in in_force:
            original = voucher_from_row(ref, company, period, posting_date, lines, ref)
            if state not in IN_ERP:  # in doubt: settle it first, so that what we reverse is there
                post_voucher(conn, hook, original, kind="rollup", run_key=run_key)
            reversal = reversal_of(original)
            post_voucher(conn, hook, reversal, kind="reversal", run_key=run_key, reverses=voucher_id)
            posted_refs.append(reversal.external_ref)
        version = version + 1 if version else 1
        for voucher in compose(summary, period, accounts, version, limit):
            post_voucher(conn, hook, voucher, kind="rollup", run_key=run_key)
            posted_refs.append(voucher.external_ref)
        action = "posted" if version == 1 else "reposted"
    conn.execute(
        """INSERT INTO fin.rollup_run (run_key, erp_vendor, period, company, version, action, claims, claim_lines,
                                       summary_lines, total, vouchers)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
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
    log.info("rollup %s %s: %s", period, company, json.dumps(result, ensure_ascii=False))
    return result
