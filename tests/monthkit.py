"""Claims as claim_events + voucher_status_pull leave them, for the month-end tests.

:func:`make_claims` writes a period's claims into ``fin.claim`` / ``fin.claim_line`` (state
``closed``) with chart codes the vendor's ERP sandbox knows, creates each claim voucher in the ERP
sandbox through the real hook (:func:`expense_sync.erp.compose.claim_voucher`), has the ERP
accountant audit it (sandbox control API) and records the audited voucher in ``fin.voucher``.
:func:`change_claim` is a claim changed after its voucher: the old claim voucher is reversed
(``<claim_no>-R1``) and the new content posted as ``<claim_no>-V2``. :func:`manual_entry` is a
voucher an accountant keys into the ERP by hand.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
from decimal import Decimal

from expense_sync.erp.accounts import posting_accounts
from expense_sync.erp.compose import ClaimLine, claim_voucher
from expense_sync.erp.posting import post_voucher, reversal_of
from expense_sync.hooks.registry import erp_hook

# Per ERP sandbox: the company (book / company code) and chart codes its vouchers accept.
CHART = {
    "kingdee": {
        "company": "001",
        "accounts": ["6602.01", "6602.02", "6602.03"],
        "cost_centers": ["BM000007", "BM000011", "BM000014"],
        "projects": [None, "XM2024001", "XM2024006"],
        "bank": "1002.01",
    },
    "yonyou": {
        "company": "0001",
        "accounts": ["660201", "660202", "660203"],
        "cost_centers": ["CC0101", "CC0102"],
        "projects": [None, "PRJ20210001"],
        "bank": "100201",
    },
    "sap": {
        "company": "1000",
        "accounts": ["6602010000", "6602020000", "6602030000"],
        "cost_centers": ["1000000001", "1000000003"],
        "projects": [None, "P100001", "P100002"],  # WBS elements (released)
        "bank": "1002010000",
    },
}
AMOUNTS = ["0.01", "12.30", "88.88", "199.99", "1234.56", "0.10", "45.67"]


def accounts(vendor: str):
    return posting_accounts(vendor, "{}")


def _audit(sandboxes, vendor: str, ref: str, remote_id: str) -> None:
    control = sandboxes.control(vendor)
    if vendor == "kingdee":
        control.mutate("audit_voucher", external_ref=ref)
    elif vendor == "yonyou":
        control.mutate("audit_voucher", voucher_id=remote_id)
    # SAP posts a journal entry at once: nothing to audit


def _record_status(mdm, hook, voucher_id: int) -> None:
    remote_id = mdm.execute("SELECT remote_id FROM fin.voucher WHERE voucher_id = %s", (voucher_id,)).fetchone()[0]
    status = hook.voucher_status(remote_id)
    mdm.execute(
        "UPDATE fin.voucher SET state = %s, number = %s, raw_state = %s WHERE voucher_id = %s",
        (status.state, status.number, status.raw_state, voucher_id),
    )


def _post_claim_voucher(mdm, sandboxes, hook, vendor, claim, lines, ref=None) -> int:
    voucher = claim_voucher(
        claim_no=claim["claim_no"],
        company=claim["company"],
        claim_date=claim["date"],
        period=claim["period"],
        title=claim["title"],
        employee_no=claim["employee_no"],
        lines=lines,
        accounts=accounts(vendor),
        external_ref=ref,
    )
    posted = post_voucher(mdm, hook, voucher, kind="claim", run_key="claim_events/test", claim_id=claim["claim_id"])
    remote_id = mdm.execute("SELECT remote_id FROM fin.voucher WHERE voucher_id = %s", (posted.voucher_id,)).fetchone()
    _audit(sandboxes, vendor, voucher.external_ref, remote_id[0])
    _record_status(mdm, hook, posted.voucher_id)
    return posted.voucher_id


def _write_lines(mdm, claim_id: int, lines: list[ClaimLine]) -> Decimal:
    mdm.execute("DELETE FROM fin.claim_line WHERE claim_id = %s", (claim_id,))
    for n, line in enumerate(lines, start=1):
        mdm.execute(
            """INSERT INTO fin.claim_line (claim_id, line_no, fee_type_code, gl_account, cost_center, project, amount,
                                           description) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)""",
            (claim_id, n, "FT01", line.gl_account, line.cost_center, line.project, line.amount, line.description),
        )
    return sum((line.amount for line in lines), Decimal(0))


def make_claims(mdm, sandboxes, vendor: str, period: str, count: int = 8, seed: int = 1, prefix: str = "B") -> list:
    """``count`` closed claims of ``period`` across the vendor's cost centers, their vouchers audited in the ERP."""
    chart, rng, hook = CHART[vendor], random.Random(seed), erp_hook(vendor)
    year, month = map(int, period.split("-"))
    claims = []
    for i in range(count):
        lines = [
            ClaimLine(
                gl_account=rng.choice(chart["accounts"]),
                cost_center=chart["cost_centers"][(i + n) % len(chart["cost_centers"])],
                project=rng.choice(chart["projects"]),
                amount=Decimal(rng.choice(AMOUNTS)) + Decimal(rng.randrange(100)),
                description=f"费用 {n + 1}",
            )
            for n in range(1 + i % 3)
        ]
        claim = {
            "claim_no": f"{prefix}{year % 100:02d}{month:02d}{i + 1:04d}",
            "company": chart["company"],
            "date": dt.date(year, month, 1 + i % 28),
            "period": period,
            "title": f"差旅报销 {i + 1}",
            "employee_no": f"E{1000 + i}",
        }
        claim["claim_id"] = mdm.execute(
            """INSERT INTO fin.claim (claim_no, flow_id, company, employee_no, title, claim_date, period, currency,
                                      total_amount, expense_state, state, content_hash, raw, closed_at)
               VALUES (%s, %s, %s, %s, %s, %s, %s, 'CNY', 0, 'paid', 'closed', %s, '{}', now()) RETURNING claim_id""",
            (
                claim["claim_no"],
                f"ID{claim['claim_no']}",
                claim["company"],
                claim["employee_no"],
                claim["title"],
                claim["date"],
                period,
                hashlib.sha256(json.dumps([str(x) for x in lines]).encode()).hexdigest(),
            ),
        ).fetchone()[0]
        total = _write_lines(mdm, claim["claim_id"], lines)
        mdm.execute("UPDATE fin.claim SET total_amount = %s WHERE claim_id = %s", (total, claim["claim_id"]))
        claim["voucher_id"] = _post_claim_voucher(mdm, sandboxes, hook, vendor, claim, lines)
        claim["lines"], claim["total"] = lines, total
        claims.append(claim)
    return claims


def change_claim(mdm, sandboxes, vendor: str, claim: dict, lines: list[ClaimLine]) -> None:
    """The claim changed in 合思 after its voucher: reverse the voucher, post ``<claim_no>-V2``."""
    from expense_sync.erp.posting import voucher_from_row

    hook = erp_hook(vendor)
    ref, posting_date, old = mdm.execute(
        "SELECT external_ref, posting_date, lines FROM fin.voucher WHERE voucher_id = %s", (claim["voucher_id"],)
    ).fetchone()
    original = voucher_from_row(ref, claim["company"], claim["period"], posting_date, old, claim["title"])
    reversal = post_voucher(
        mdm,
        hook,
        reversal_of(original),
        kind="reversal",
        run_key="claim_events/test",
        reverses=claim["voucher_id"],
        claim_id=claim["claim_id"],
    )
    _audit(sandboxes, vendor, reversal.external_ref, _remote(mdm, reversal.voucher_id))
    _record_status(mdm, hook, reversal.voucher_id)
    total = _write_lines(mdm, claim["claim_id"], lines)
    mdm.execute(
        "UPDATE fin.claim SET total_amount = %s, version = version + 1 WHERE claim_id = %s",
        (total, claim["claim_id"]),
    )
    claim["voucher_id"] = _post_claim_voucher(mdm, sandboxes, hook, vendor, claim, lines, ref=f"{claim['claim_no']}-V2")
    claim["lines"], claim["total"] = lines, total


def _remote(mdm, voucher_id: int) -> str:
    return mdm.execute("SELECT remote_id FROM fin.voucher WHERE voucher_id = %s", (voucher_id,)).fetchone()[0]


def manual_entry(sandboxes, vendor: str, period: str, amount: str, *, account: str | None = None) -> dict:
    """An accountant's voucher keyed into the ERP: Dr an expense account (first cost center) / Cr bank."""
    chart = CHART[vendor]
    lines = [
        {
            "account": account or chart["accounts"][0],
            "debit": amount,
            "cost_center": chart["cost_centers"][0],
            "text": "手工调整",
        },
        {"account": chart["bank"], "credit": amount, "text": "手工调整"},
    ]
    return sandboxes.control(vendor).mutate(
        "manual_voucher", company=chart["company"], date=f"{period}-20", lines=lines
    )


def erp_book(vendor: str, period: str) -> dict[tuple, tuple[Decimal, Decimal]]:
    """The ERP's balances of the period: (account, cost center, project) → (debit, credit)."""
    return {
        (b.account_code, b.cost_center, b.project): (b.debit, b.credit)
        for b in erp_hook(vendor).balances(CHART[vendor]["company"], period)
    }


def expense_by_grain(mdm) -> dict[tuple, Decimal]:
    """The claims' expense per (GL account, cost center, project)."""
    rows = mdm.execute("SELECT gl_account, cost_center, project, sum(amount) FROM fin.claim_line GROUP BY 1, 2, 3")
    return {(a, c, p): s for a, c, p, s in rows.fetchall()}
