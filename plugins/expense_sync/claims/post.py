"""Claim vouchers into the ERP, exactly once.

For each claim in ``voucher_pending`` (valid, lines resolved):

1. if the outbound ledger (target = ERP vendor, entity ``voucher``, business key = claim number)
   already holds a ``sending`` row, an earlier attempt's outcome is unknown (a crash, a timeout):
   the voucher is looked up by its external ref (:meth:`ErpLedger.find_voucher`) and, if the ERP
   has it, adopted — never created twice;
2. otherwise the intent is committed first: the ledger row ``sending`` and the ``fin.voucher`` row
   with the lines as they will be sent;
3. the ERP call (:meth:`ErpLedger.create_voucher`), the voucher carrying the claim number;
4. its result, in one transaction: ledger ``done`` with the ERP id, ``fin.voucher`` with id, number
   and state, the claim ``voucher_created`` (``voucher_audited`` when the ERP posts at once, as SAP).

An unknown outcome (timeout, 5xx on the create) is looked up at once; if the ERP does not show the
voucher yet, the row stays ``sending`` and the task fails, so that its retry settles it by the same
look-up. A refusal (validation, closed period…) marks the ledger ``failed``, the voucher ``error``,
the claim ``invalid`` and opens a quarantine item (``voucher_refused``) with the ERP's message; the
claim is not sent again until a person resolves that item (``python -m expense_sync resolve``).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from typing import Any

import psycopg

from expense_sync.claims import boundaries
from expense_sync.erp.accounts import PostingAccounts
from expense_sync.erp.compose import ClaimLine, claim_voucher
from expense_sync.erp.model import Voucher, VoucherStatus
from expense_sync.hooks.errors import OutcomeUnknownError, VendorRequestError
from expense_sync.store import outbound, queue

log = logging.getLogger(__name__)

ENTITY = "voucher"
FINAL = ("audited", "posted")

PENDING = """
SELECT c.claim_id, c.claim_no, c.company, c.claim_date, c.period, c.title, c.employee_no, c.currency,
       o.state AS ledger_state
  FROM fin.claim c
  LEFT JOIN sync.outbound o ON o.target_system = %s AND o.entity = 'voucher' AND o.business_key = c.claim_no
 WHERE c.state = 'voucher_pending'
 ORDER BY c.claim_id
"""

INTENT = """
INSERT INTO fin.voucher AS v (erp_vendor, external_ref, kind, claim_id, company, period, posting_date, currency,
                             total, lines, state)
VALUES (%s, %s, 'claim', %s, %s, %s, %s, %s, %s, %s::jsonb, 'sending')
ON CONFLICT (erp_vendor, external_ref) DO UPDATE
   SET lines = EXCLUDED.lines, total = EXCLUDED.total, updated_at = now()
 WHERE v.remote_id IS NULL
"""


class UnsettledVouchersError(RuntimeError):
    """Some voucher calls had an unknown outcome the ERP could not confirm yet; retry the task."""


def lines_json(voucher: Voucher) -> str:
    return json.dumps(
        [
            {
                "account": line.account_code,
                "debit": str(line.debit),
                "credit": str(line.credit),
                "cost_center": line.cost_center,
                "project": line.project,
                "text": line.text,
            }
            for line in voucher.lines
        ],
        ensure_ascii=False,
    )


class VoucherPoster:
    def __init__(self, conn: psycopg.Connection, erp: Any, accounts: PostingAccounts, run_key: str | None) -> None:
        self.conn, self.erp, self.accounts, self.run_key = conn, erp, accounts, run_key
        self.vendor: str = erp.vendor
        self.counts: Counter[str] = Counter()

    def run(self) -> dict[str, int]:
        unsettled = []
        for row in self.conn.execute(PENDING, (self.vendor,)).fetchall():
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
            ClaimLine(gl_account=g, cost_center=cc, amount=amount, project=project, description=text or "")
            for g, cc, amount, project, text in self.conn.execute(
                "SELECT gl_account, cost_center, amount, project, description FROM fin.claim_line "
                "WHERE claim_id = %s ORDER BY line_no",
                (claim_id,),
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

    def post(self, claim_id, claim_no, company, claim_date, period, title, employee_no, currency, ledger) -> bool:
        """Bring one claim's voucher into the ERP; False when its outcome stays unknown."""
        if ledger == "sending":
            found = self.erp.find_voucher(claim_no, period)
            if found is not None:
                self.record(claim_id, claim_no, found, verified=False)
                self.counts["adopted"] += 1
                return True
            self.counts["resent"] += 1
        voucher = self.voucher(claim_id, claim_no, company, claim_date, period, title, employee_no, currency)
        payload = {"external_ref": voucher.external_ref, "period": period, "total": str(voucher.total_debit)}
        with self.conn.transaction():
            outbound.mark_sending(self.conn, self.vendor, ENTITY, [(claim_no, payload)], self.run_key)
            self.conn.execute(
                INTENT,
                (
                    self.vendor,
                    voucher.external_ref,
                    claim_id,
                    company,
                    period,
                    claim_date,
                    currency,
                    voucher.total_debit,
                    lines_json(voucher),
                ),
            )
        boundaries.reached(boundaries.BEFORE_ERP_CALL)
        try:
            status = self.erp.create_voucher(voucher)
        except OutcomeUnknownError as err:
            log.warning("voucher %s: outcome unknown (%s); looking it up", claim_no, err)
            found = self.erp.find_voucher(claim_no, period)
            if found is None:
                self.counts["unknown"] += 1
                return False
            self.record(claim_id, claim_no, found, verified=False)
            self.counts["adopted"] += 1
            return True
        except VendorRequestError as err:
            self.refused(claim_id, claim_no, str(err))
            return True
        boundaries.reached(boundaries.AFTER_ERP_CALL)
        self.record(claim_id, claim_no, status, verified=True)
        self.counts["created"] += 1
        return True

    def record(self, claim_id: int, claim_no: str, status: VoucherStatus, *, verified: bool) -> None:
        with self.conn.transaction():
            outbound.mark_done(self.conn, self.vendor, ENTITY, [(claim_no, status.remote_id)], verified=verified)
            self.conn.execute(
                """UPDATE fin.voucher SET remote_id = %s, number = %s, state = %s, raw_state = %s, updated_at = now()
                    WHERE erp_vendor = %s AND external_ref = %s""",
                (status.remote_id, status.number, status.state, status.raw_state, self.vendor, claim_no),
            )
            self.conn.execute(
                "UPDATE fin.claim SET state = %s, updated_at = now() WHERE claim_id = %s",
                ("voucher_audited" if status.state in FINAL else "voucher_created", claim_id),
            )

    def refused(self, claim_id: int, claim_no: str, error: str) -> None:
        log.error("voucher %s refused: %s", claim_no, error)
        self.counts["refused"] += 1
        outbound.mark_failed(self.conn, self.vendor, ENTITY, claim_no, error)
        with self.conn.transaction():
            self.conn.execute(
                "UPDATE fin.voucher SET state = 'error', raw_state = left(%s, 200), updated_at = now() "
                "WHERE erp_vendor = %s AND external_ref = %s",
                (error, self.vendor, claim_no),
            )
            self.conn.execute(
                "UPDATE fin.claim SET state = 'invalid', updated_at = now() WHERE claim_id = %s", (claim_id,)
            )
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


def post_vouchers(conn: psycopg.Connection, erp: Any, accounts: PostingAccounts, run_key: str | None) -> dict[str, int]:
    """Create the vouchers of every claim waiting for one; see the module docstring."""
    return VoucherPoster(conn, erp, accounts, run_key).run()
