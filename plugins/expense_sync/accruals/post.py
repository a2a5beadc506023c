"""Accrual vouchers for travel bookings, and their reversal once the trip's claim is posted.

Every voucher goes through :func:`expense_sync.erp.posting.post_voucher`, the one exactly-once
protocol (intent committed before the ERP call, a voucher left in doubt looked up by its external ref
and adopted before anything is sent again):

* **accrue** (kind ``accrual``, ref ``AC-<order_id>``, ``AC-<order_id>-V<n>`` for version ``n`` of a
  changed booking): Dr the travel expense account (``PostingAccounts.travel_expense``) / Cr accrued
  liabilities (``PostingAccounts.accrued_liabilities``), both with the booking's cost center and
  project, dated the booking day, in its month — or, when the month end closed that month already, in
  the current month. A **changed** booking reverses the voucher of its earlier version and accrues the
  new one (never a delta: each voucher stays the image of one booking version); a **cancelled** one is
  reversed and becomes ``cancelled``.
* **reverse** (kind ``accrual_reversal``, ref ``<accrual ref>-R1``, ``reverses`` = the accrual voucher)
  once a claim naming the booking's requisition (``fin.claim.requisition_codes``) has its voucher in
  the ERP (``voucher_created`` / ``voucher_audited`` / ``closed``). Its period follows the rollup's
  rule (:func:`expense_sync.monthend.periods.period_closed`): the accrual's own period while the month
  end has not closed it (the accrual then never shows in a closed month), else the claim's period.

A booking naming no traveller or cost center (合思's documented orders carry neither) takes its
application's (the 申请单 ``approval_events`` routed: its submitter, cost center and project), else the
cost center its traveller's department owns (``mdm.cost_center.owner_unit``). Bad input — the
traveller or cost center unknown or inactive, an unknown project, an amount not above zero, no
requisition (its claim could never reverse it) — is queued (entity ``booking``, key the order id)
and the accrual is ``invalid``; the batch goes on, and every run looks at it again (fixed master
data clears the item). A voucher the ERP refuses is queued as ``voucher_refused``; a voucher whose
outcome stays unknown is left ``sending`` and fails the task at the end (its retry looks it up).
Each booking is decided under its lock (``accrual/<vendor>/<order_id>``) and from what
``fin.voucher`` holds, so an interrupted or overlapping run completes, never repeats, what another
began."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pendulum
import psycopg

from expense_sync.erp.accounts import PostingAccounts
from expense_sync.erp.ledger import ErpLedger
from expense_sync.erp.model import CENT, Voucher, VoucherLine
from expense_sync.erp.posting import IN_ERP, Posted, post_voucher, reversal_of, voucher_from_row
from expense_sync.hooks.errors import OutcomeUnknownError, VendorRequestError
from expense_sync.monthend.periods import TIMEZONE, month_of, period_closed
from expense_sync.monthend.rollup import period_end
from expense_sync.store import queue, sqlfile
from expense_sync.store.locks import held

log = logging.getLogger(__name__)
SQL = "accruals/accruals"  # include/sql/accruals/accruals.sql
SYSTEM, ENTITY = "ekuaibao", "booking"
BAD_INPUT = (
    "amount_invalid",
    "requisition_missing",
    "employee_unknown",
    "employee_inactive",
    "cost_center_unknown",
    "cost_center_inactive",
    "project_unknown",
)


class UnsettledAccrualsError(RuntimeError):
    """Some accrual vouchers had an unknown outcome the ERP could not confirm yet; retry the task."""


class Refused(Exception):
    """The ERP refused a voucher (queued); the booking waits for a person."""


def accrual_ref(order_id: str, version: int) -> str:
    return f"AC-{order_id}" if version == 1 else f"AC-{order_id}-V{version}"


@dataclass(frozen=True)
class Accrual:
    """A ``fin.accrual`` row as the engine reads it."""

    accrual_id: int
    order_id: str
    version: int
    booking_state: str
    requisition_code: str | None
    staff_id: str
    employee_no: str | None
    company: str
    cost_center: str | None
    project: str | None
    category: str
    amount: Decimal
    currency: str
    booked_at: dt.datetime
    state: str

    @property
    def cancelled(self) -> bool:
        return self.booking_state == "cancelled"


@dataclass(frozen=True)
class Recorded:
    """An accrual voucher as ``fin.voucher`` holds it, with its latest reversal (if one was begun)."""

    external_ref: str
    voucher_id: int
    state: str
    company: str
    period: str
    posting_date: dt.date
    lines: list[dict]
    reversal_id: int | None
    reversal_state: str | None

    @property
    def began(self) -> bool:
        """Sent, or possibly sent (in doubt); not a voucher the ERP refused."""
        return self.state != "error"

    @property
    def in_force(self) -> bool:
        """In the ERP (or in doubt), and not reversed there."""
        return self.began and self.reversal_state not in IN_ERP


def today() -> dt.date:
    return pendulum.now(TIMEZONE).date()


def date_in(period: str, preferred: dt.date) -> dt.date:
    """``preferred`` when it lies in ``period``, else the period's first day (a later period) or last
    day (an earlier one)."""
    if month_of(preferred) == period:
        return preferred
    first = dt.date(int(period[:4]), int(period[5:7]), 1)
    return first if first > preferred else period_end(period)


class AccrualPoster:
    def __init__(
        self, conn: psycopg.Connection, erp: ErpLedger, accounts: PostingAccounts, run_key: str | None
    ) -> None:
        if not accounts.travel_expense or not accounts.accrued_liabilities:
            raise ValueError(
                f"no travel_expense / accrued_liabilities account configured for ERP {erp.vendor!r} "
                "(Variable expense_sync_posting_accounts)"
            )
        self.conn, self.erp, self.accounts, self.run_key = conn, erp, accounts, run_key
        self.vendor: str = erp.vendor
        self.counts: Counter[str] = Counter()
        self.unsettled: list[str] = []

    # -- the two runs -----------------------------------------------------------------------------
    def accrue_all(self) -> dict[str, int]:
        """Post (or re-post, or reverse) the accrual of every landed, changed or held booking."""
        for accrual_id, order_id in self.conn.execute(sqlfile.step(SQL, "todo")).fetchall():
            with held(self.conn, f"accrual/{self.vendor}/{order_id}"):
                self._guarded(order_id, self.accrue, self.read(accrual_id))
        return self._done()

    def reverse_all(self) -> dict[str, int]:
        """Reverse every open accrual whose trip's claim has its voucher in the ERP."""
        for accrual_id, order_id, claim_id, claim_no, period, claim_date in self.conn.execute(
            sqlfile.step(SQL, "claimed"), (self.vendor,)
        ).fetchall():
            with held(self.conn, f"accrual/{self.vendor}/{order_id}"):
                accrual = self.read(accrual_id)
                if accrual.state in ("reversed", "cancelled"):  # another run reversed it meanwhile
                    continue
                self._guarded(order_id, self.reverse_for_claim, accrual, claim_id, claim_no, period, claim_date)
        return self._done()

    def _guarded(self, order_id: str, step: Callable[..., None], *args: Any) -> None:
        try:
            step(*args)
        except OutcomeUnknownError as err:
            log.warning("accrual %s: outcome still unknown (%s); the retry looks it up again", order_id, err)
            self.counts["unknown"] += 1
            self.unsettled.append(order_id)
        except Refused:
            self.counts["refused"] += 1

    def _done(self) -> dict[str, int]:
        if self.unsettled:
            raise UnsettledAccrualsError(
                f"{len(self.unsettled)} accrual voucher(s) with an unknown outcome, settled by look-up on retry: "
                f"{self.unsettled[:10]}"
            )
        return dict(self.counts)

    # -- one booking ------------------------------------------------------------------------------
    def read(self, accrual_id: int) -> Accrual:
        row = sqlfile.one(self.conn.execute(sqlfile.step(SQL, "accrual"), (accrual_id,)))
        return Accrual(*row)

    def recorded(self, accrual: Accrual) -> dict[str, Recorded]:
        refs = [accrual_ref(accrual.order_id, v) for v in range(1, accrual.version + 1)]
        rows = self.conn.execute(sqlfile.step(SQL, "vouchers"), (self.vendor, refs)).fetchall()
        return {row[0]: Recorded(*row) for row in rows}

    def accrue(self, accrual: Accrual) -> None:
        """Bring the ERP in line with the booking's current version (see the module docstring)."""
        records = self.recorded(accrual)
        current = accrual_ref(accrual.order_id, accrual.version)
        wanted = None if accrual.cancelled else self.check(accrual)
        if wanted is None and not accrual.cancelled:
            return  # bad input, queued; an earlier version's accrual stays in force meanwhile
        fallback = wanted.period if wanted is not None else month_of(today())
        reversal_id = None
        for ref, earlier in sorted(records.items()):
            if ref != current or accrual.cancelled:
                if earlier.in_force:
                    reversal_id = self.reverse(earlier, fallback, today(), accrual)
                    self.counts["superseded" if wanted is not None else "cancelled_reversed"] += 1
        if wanted is None:  # cancelled: nothing accrued any more, nothing to fix
            queue.clear_records(self.conn, kind="quarantine", system=SYSTEM, entity=ENTITY, keys=[accrual.order_id],
                                run_key=self.run_key, reason_codes=list(BAD_INPUT))  # fmt: skip
            self.resolved(accrual, "cancelled", reversal_id=reversal_id)
            self.counts["cancelled"] += 1
            return
        record = records.get(current)
        if record is not None and not record.began and self.held_back(accrual.order_id):
            self.counts["held"] += 1  # the ERP refused it; a person releases the item first
            return
        voucher = (
            voucher_from_row(current, record.company, record.period, record.posting_date, record.lines, "")
            if record is not None and record.began  # in doubt or in the ERP: the voucher as it was sent
            else wanted.voucher
        )
        voucher = dataclasses.replace(voucher, description=wanted.voucher.description)
        posted = self.post(voucher, "accrual", accrual.order_id)
        self.resolved(accrual, "open", wanted, period=voucher.period, voucher_id=posted.voucher_id)
        self.counts["accrued" if posted.sent or posted.in_doubt else "already_in_erp"] += 1

    def reverse_for_claim(
        self, accrual: Accrual, claim_id: int, claim_no: str, claim_period: str, claim_date: dt.date
    ) -> None:
        """The trip's claim is posted: reverse every accrual voucher of the booking in force (once)."""
        reversal_id = None
        for _, record in sorted(self.recorded(accrual).items()):
            if record.in_force:
                reversal_id = self.reverse(record, max(claim_period, record.period), claim_date, accrual)
        self.resolved(accrual, "reversed", reversal_id=reversal_id, claim_id=claim_id)
        self.counts["reversed"] += 1
        log.info("accrual %s reversed: claim %s is posted", accrual.order_id, claim_no)

    def reverse(self, record: Recorded, fallback: str, fallback_date: dt.date, accrual: Accrual) -> int:
        """Reverse one accrual voucher: in its own period while the month end has not closed it, else in
        ``fallback`` (dated ``fallback_date`` when that lies in it). A voucher still in doubt is settled
        first, so that what is reversed is in the ERP."""
        original = voucher_from_row(
            record.external_ref, record.company, record.period, record.posting_date, record.lines, record.external_ref
        )
        if record.state not in IN_ERP:
            self.post(original, "accrual", accrual.order_id)
        reversal = reversal_of(original)
        if record.reversal_id is not None:  # begun earlier: the same voucher again (its period included)
            period, date = sqlfile.one(self.conn.execute(sqlfile.step(SQL, "reversal_begun"), (record.reversal_id,)))
        elif period_closed(self.conn, self.vendor, record.period, record.company):
            period, date = fallback, date_in(fallback, fallback_date)
        else:
            period, date = record.period, record.posting_date
        reversal = dataclasses.replace(reversal, period=period, posting_date=date)
        return self.post(reversal, "accrual_reversal", accrual.order_id, reverses=record.voucher_id).voucher_id

    def held_back(self, order_id: str) -> bool:
        """The ERP refused a voucher of this booking and nobody released it yet."""
        return self.conn.execute(sqlfile.step(SQL, "refused_open"), (self.vendor, order_id)).fetchone() is not None

    def post(self, voucher: Voucher, kind: str, key: str, reverses: int | None = None) -> Posted:
        """post_voucher; a refusal is queued and raises :class:`Refused`."""
        try:
            posted = post_voucher(self.conn, self.erp, voucher, kind=kind, run_key=self.run_key, reverses=reverses)
        except VendorRequestError as err:
            log.error("%s voucher %s refused: %s", kind, voucher.external_ref, err)
            queue.open_item(
                self.conn,
                kind="quarantine",
                system=self.vendor,
                entity=ENTITY,
                record_key=key,
                reason_code="voucher_refused",
                detail=f"{voucher.external_ref}: {err}"[:500],
                run_key=self.run_key,
            )
            raise Refused(voucher.external_ref) from err
        return posted

    # -- checks and the voucher -------------------------------------------------------------------
    def check(self, accrual: Accrual) -> Wanted | None:
        """The accrual voucher the booking calls for, or ``None`` after queuing why it cannot be made."""
        problems: list[tuple[str, str]] = []
        if accrual.amount <= 0 or accrual.amount != accrual.amount.quantize(CENT):
            problems.append(("amount_invalid", f"booked amount {accrual.amount}"))
        if not accrual.requisition_code:
            problems.append(("requisition_missing", "no requisition (申请单) named"))
        # an order names neither traveller nor cost center in 合思's documented example: its application's
        # (the 申请单 approval_events routed) are the trip's
        requisition = (
            self.conn.execute(sqlfile.step(SQL, "requisition"), (accrual.requisition_code,)).fetchone()
            if accrual.requisition_code
            else None
        ) or (None, None, None)
        employee = self.conn.execute(
            sqlfile.step(SQL, "employee"),
            {"staff": accrual.staff_id, "no": accrual.employee_no or requisition[0]},
        ).fetchone()
        if employee is None:
            problems.append(("employee_unknown", f"staff {accrual.staff_id} / 工号 {accrual.employee_no or '—'}"))
        elif not employee[1]:
            problems.append(("employee_inactive", f"工号 {employee[0]}"))
        cost_center = None
        cc = None
        if accrual.cost_center or requisition[1]:
            named_cc = accrual.cost_center or requisition[1]
            cc = self.conn.execute(sqlfile.step(SQL, "cost_center"), (named_cc,) * 2).fetchone()
        elif employee is not None:  # an order names no cost center: the traveller's department's
            cc = self.conn.execute(sqlfile.step(SQL, "home_cost_center"), (employee[0],)).fetchone()
        if cc is not None:
            cost_center = cc[0]
            if cc is not None and not cc[1]:
                problems.append(("cost_center_inactive", f"cost center {cc[0]}"))
        if cost_center is None:
            named = accrual.cost_center or "— (none named, and the traveller's department owns none)"
            problems.append(("cost_center_unknown", f"cost center {named}"))
        project = None
        if accrual.project or (requisition[2] and not accrual.cost_center):
            named_pj = accrual.project or requisition[2]
            found = self.conn.execute(sqlfile.step(SQL, "project"), (named_pj,) * 2).fetchone()
            project = found[0] if found else None
            if project is None:
                problems.append(("project_unknown", f"project {named_pj}"))
        open_codes = [code for code, _ in problems]
        with self.conn.transaction():
            queue.clear_records(
                self.conn,
                kind="quarantine",
                system=SYSTEM,
                entity=ENTITY,
                keys=[accrual.order_id],
                run_key=self.run_key,
                reason_codes=[c for c in BAD_INPUT if c not in open_codes],
            )
            for code, detail in problems:
                queue.open_item(
                    self.conn,
                    kind="quarantine",
                    system=SYSTEM,
                    entity=ENTITY,
                    record_key=accrual.order_id,
                    reason_code=code,
                    detail=detail,
                    record={"order_id": accrual.order_id, "requisition": accrual.requisition_code},
                    run_key=self.run_key,
                )
            if problems:
                self.resolved(accrual, "invalid")
        if problems:
            self.counts["invalid"] += 1
            return None
        assert employee is not None and cost_center is not None
        booked_on = pendulum.instance(accrual.booked_at).in_timezone(TIMEZONE).date()
        period = month_of(booked_on)
        if period_closed(self.conn, self.vendor, period, accrual.company):
            period = max(month_of(today()), period)
        amount = accrual.amount.quantize(CENT)
        text = f"预提差旅费 {accrual.category} {accrual.order_id} 申请单 {accrual.requisition_code}"[:80]
        lines = (
            VoucherLine(
                self.accounts.travel_expense, debit=amount, cost_center=cost_center, project=project, text=text
            ),
            VoucherLine(
                self.accounts.accrued_liabilities, credit=amount, cost_center=cost_center, project=project, text=text
            ),
        )
        voucher = Voucher(
            external_ref=accrual_ref(accrual.order_id, accrual.version),
            company=accrual.company,
            posting_date=date_in(period, booked_on),
            period=period,
            description=f"预提差旅费 {employee[0]} {accrual.order_id}"[:80],
            lines=lines,
            currency=accrual.currency,
        )
        return Wanted(voucher, employee[0], cost_center, project, self.accounts.travel_expense)

    def resolved(
        self,
        accrual: Accrual,
        state: str,
        wanted: Wanted | None = None,
        *,
        period: str | None = None,
        voucher_id: int | None = None,
        reversal_id: int | None = None,
        claim_id: int | None = None,
    ) -> None:
        self.conn.execute(
            sqlfile.step(SQL, "resolved"),
            {
                "accrual_id": accrual.accrual_id,
                "state": state,
                "employee_no": wanted.employee_no if wanted else None,
                "company": None,
                "cost_center": wanted.cost_center if wanted else None,
                "project": wanted.project if wanted else None,
                "gl_account": wanted.gl_account if wanted else None,
                "period": period,
                "voucher_id": voucher_id,
                "reversal_id": reversal_id,
                "claim_id": claim_id,
            },
        )


@dataclass(frozen=True)
class Wanted:
    """The accrual voucher a valid booking calls for, with what was resolved to make it."""

    voucher: Voucher
    employee_no: str
    cost_center: str
    project: str | None
    gl_account: str

    @property
    def period(self) -> str:
        return self.voucher.period


def accrue_bookings(
    conn: psycopg.Connection, erp: ErpLedger, accounts: PostingAccounts, run_key: str | None
) -> dict[str, int]:
    """Accrue every landed or changed booking; see the module docstring."""
    return AccrualPoster(conn, erp, accounts, run_key).accrue_all()


def reverse_accruals(
    conn: psycopg.Connection, erp: ErpLedger, accounts: PostingAccounts, run_key: str | None
) -> dict[str, int]:
    """Reverse the accrual of every booking whose trip's claim is posted; see the module docstring."""
    return AccrualPoster(conn, erp, accounts, run_key).reverse_all()
