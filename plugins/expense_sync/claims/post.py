"""Claim vouchers into the ERP, exactly once.

For each claim in ``voucher_pending`` (valid, lines resolved) the claim voucher (Dr clearing per
line, Cr employee payable; :func:`expense_sync.erp.compose.claim_voucher`) goes through
:func:`expense_sync.erp.posting.post_voucher`, the one exactly-once protocol of every voucher we
make: the intent (``sync.outbound`` ``sending`` and the ``fin.voucher`` row) is committed before the
ERP call, the voucher carries the claim number as external ref, and a voucher left in doubt by a crash
or a timeout is looked up by that ref and adopted before anything is sent again. Then the claim
becomes ``voucher_created`` (``voucher_audited`` when the ERP posts at once, as SAP).

An unknown outcome the look-up cannot settle yet leaves the ledger row ``sending`` and fails the
task, so that its retry settles it by the same look-up. A refusal (validation, closed period…)
leaves the ledger ``failed`` and the voucher ``error``; the claim becomes ``invalid`` with a
quarantine item carrying the ERP's message.
"""

from __future__ import annotations

import logging
from collections import Counter

import psycopg

from expense_sync.approvals.budget import BudgetGate
from expense_sync.erp.accounts import PostingAccounts
from expense_sync.erp.compose import ClaimLine, claim_voucher
from expense_sync.erp.ledger import ErpLedger
from expense_sync.erp.model import Voucher
from expense_sync.erp.posting import post_voucher
from expense_sync.hooks.errors import OutcomeUnknownError, VendorRequestError
from expense_sync.store import queue, sqlfile

log = logging.getLogger(__name__)

FINAL = ("audited", "posted")

SQL = "claims/post"  # include/sql/claims/post.sql


class UnsettledVouchersError(RuntimeError):
    """Some voucher calls had an unknown outcome the ERP could not confirm yet; retry the task."""


class VoucherPoster:
    def __init__(
        self,
        conn: psycopg.Connection,
        erp: ErpLedger,
        accounts: PostingAccounts,
        run_key: str | None,
        budget: BudgetGate | None = None,
    ) -> None:
        self.conn, self.erp, self.accounts, self.run_key, self.budget = conn, erp, accounts, run_key, budget
        self.vendor: str = erp.vendor
        self.counts: Counter[str] = Counter()

    def run(self) -> dict[str, int]:
        unsettled = []
        for row in self.conn.execute(sqlfile.step(SQL, "pending")).fetchall():
            claim_no = row[1]
            if not self.post(*row):
                unsettled.append(claim_no)
        if unsettled:
            raise UnsettledVouchersError(
                f"{len(unsettled)} voucher(s) with an unknown outcome, settled by look-up on retry: {unsettled[:10]}"
            )
        return dict(self.counts)

    def voucher(self, claim_id, claim_no, company, claim_date, period, title, employee_no, currency) -> Voucher:
        lines = [
            ClaimLine(
                gl_account=g, cost_center=cc, amount=amount, project=project, description=text or "", input_vat=vat
            )
            for g, cc, amount, project, text, vat in self.conn.execute(
                sqlfile.step(SQL, "lines"), (claim_id,)
            ).fetchall()
        ]
        return claim_voucher(
            claim_no=claim_no,
            company=company,
            claim_date=claim_date,
            period=period,
            title=title or "",
            employee_no=employee_no,
            lines=lines,
            accounts=self.accounts,
            currency=currency,
        )

    def post(self, claim_id, claim_no, company, claim_date, period, title, employee_no, currency) -> bool:
        """Bring one claim's voucher into the ERP; False when its outcome stays unknown."""
        voucher = self.voucher(claim_id, claim_no, company, claim_date, period, title, employee_no, currency)
        if self.budget is not None and not self.within_budget(claim_id, claim_no, company, period):
            return True
        try:
            posted = post_voucher(self.conn, self.erp, voucher, kind="claim", run_key=self.run_key, claim_id=claim_id)
        except OutcomeUnknownError as err:
            log.warning("voucher %s: outcome still unknown (%s); the retry looks it up again", claim_no, err)
            self.counts["unknown"] += 1
            return False
        except VendorRequestError as err:
            self.refused(claim_id, claim_no, str(err))
            return True
        if self.budget is not None:
            self.budget.check.forget()  # the ERP's balance changed: no cached figure survives a posting
        self.conn.execute(
            sqlfile.step(SQL, "voucher_made"),
            ("voucher_audited" if posted.state in FINAL else "voucher_created", claim_id),
        )
        self.counts["created" if posted.sent and posted.verified else "adopted"] += 1
        if posted.sent and posted.in_doubt:
            self.counts["resent"] += 1  # looked up first, not found: sent again
        return True

    def within_budget(self, claim_id: int, claim_no: str, company: str, period: str) -> bool:
        """The ERP budget check before the voucher (:mod:`expense_sync.approvals.budget`); a claim over
        a budget the ERP controls is held as ``over_budget`` with the figures, never posted."""
        assert self.budget is not None
        over = self.budget.over(self.conn, claim_id, claim_no, company, period)
        if over is None:
            queue.clear_records(self.conn, kind="quarantine", system=self.vendor, entity="claim", keys=[claim_no],
                                run_key=self.run_key, reason_codes=["over_budget"])  # fmt: skip
            return True
        log.warning("voucher %s held: over budget: %s", claim_no, over)
        self.counts["over_budget"] += 1
        with self.conn.transaction():
            self.conn.execute(sqlfile.step(SQL, "refused"), (claim_id,))
            queue.open_item(self.conn, kind="quarantine", system=self.vendor, entity="claim", record_key=claim_no,
                            reason_code="over_budget", detail=over[:500], run_key=self.run_key)  # fmt: skip
        return False

    def refused(self, claim_id: int, claim_no: str, error: str) -> None:
        log.error("voucher %s refused: %s", claim_no, error)
        self.counts["refused"] += 1
        with self.conn.transaction():
            self.conn.execute(sqlfile.step(SQL, "refused"), (claim_id,))
            queue.open_item(
                self.conn,
                kind="quarantine",
                system=self.vendor,
                entity="claim",
                record_key=claim_no,
                reason_code="voucher_refused",
                detail=error[:500],
                run_key=self.run_key,
            )


def post_vouchers(
    conn: psycopg.Connection,
    erp: ErpLedger,
    accounts: PostingAccounts,
    run_key: str | None,
    budget: BudgetGate | None = None,
) -> dict[str, int]:
    """Create the vouchers of every claim waiting for one; see the module docstring."""
    return VoucherPoster(conn, erp, accounts, run_key, budget).run()
