"""Claims in: the webhook inbox first, then a polling catch-up by 合思 update time for missed events.

Both paths end in :func:`upsert`: the flow detail is fetched (never trusted from the event), parsed
and written to ``fin.claim``:

* an approved claim (``paying``/``paid``/``archived``) not seen before is inserted as ``received``;
* a known claim gets the new raw flow and 合思 state; when its content hash changed, ``version``
  goes up and a claim not yet posted goes back to ``received`` (it is validated again), while a
  claim with a voucher gets a conflict (``changed_after_voucher``): nothing is re-posted silently;
* a claim rejected, withdrawn or deleted in 合思 becomes ``cancelled`` before it has a voucher (its
  open exception items are resolved), and a conflict (``cancelled_after_voucher``) after;
* a claim never approved is not stored at all;
* a document that cannot be read as a claim (:class:`~expense_sync.claims.parse.MalformedDocument`)
  changes nothing but opens a ``document_malformed`` quarantine item naming the field; a claim held
  from before and not yet valid stays ``invalid`` (it is not validated) until the document reads again.

The inbox rows are claimed ``FOR UPDATE SKIP LOCKED`` and marked in the same transaction as the
claims they touched, each event in a savepoint of its own. An event that fails on its document
(malformed, refused by 合思, or any other error but an outage) counts a failed attempt and stays
queued, ``failed`` after ``max_attempts``; the rest of the batch is committed. An outage (合思 down,
its credentials refused, the database connection lost) counts nothing: the batch so far is committed,
the events left wait, and the error is raised (the task fails and is retried).
A claim one of whose invoices 合思 did not return (``invoice_unreadable``) is read again on each
catch-up until it is returned or the claim is cancelled.
The catch-up keeps its watermark (``sync.watermark`` ekuaibao/claims) at the newest update time seen,
reads again from five minutes before it, and skips flows whose update time it already holds. A flow
listed with a garbage update time moves no watermark: its document is read (and queued as malformed).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections import Counter
from typing import Any

import psycopg

from expense_sync.accruals.model import BOOKING_EVENT_TYPES
from expense_sync.claims.parse import (
    APPROVED_STATES,
    CHINA,
    MalformedDocument,
    ParsedClaim,
    parse_flow,
    update_time,
)
from expense_sync.hooks.ekuaibao import EkuaibaoHook
from expense_sync.hooks.errors import VendorError, VendorRequestError
from expense_sync.invoices import store as invoice_store
from expense_sync.invoices.parse import ClaimInvoice, claim_invoices, invoice_refs
from expense_sync.settings import INBOX_MAX_ATTEMPTS
from expense_sync.store import inbox, queue, sqlfile, watermarks

log = logging.getLogger(__name__)

SYSTEM, STREAM = "ekuaibao", "claims"
OVERLAP = dt.timedelta(minutes=5)
FIRST_LOOK_BACK = dt.timedelta(days=7)
NOT_POSTED = ("received", "invalid", "cancelled")
# OA events (approval changes, directory changes) only trigger the run: claims waiting for their OA
# approval are validated again on every run, and the org sync reads the whole directory daily
OTHER_EVENTS = "not a 合思 document event (an OA event triggers the run; nothing else to do)"
MALFORMED = "document_malformed"
SQL = "claims/intake"  # include/sql/claims/intake.sql


def is_outage(err: Exception) -> bool:
    """Whether ``err`` says a system is unavailable (retry later) rather than that the document is bad."""
    if isinstance(err, VendorError):
        return not isinstance(err, VendorRequestError)
    return isinstance(err, psycopg.OperationalError | psycopg.InterfaceError)


class Intake:
    """One run's intake: resolves submitters once per staff id and counts what happened."""

    def __init__(
        self,
        conn: psycopg.Connection,
        hook: EkuaibaoHook,
        *,
        company: str,
        run_key: str | None,
        max_attempts: int = INBOX_MAX_ATTEMPTS,
    ) -> None:
        self.conn, self.hook, self.company, self.run_key = conn, hook, company, run_key
        self.max_attempts = max_attempts
        self.counts: Counter[str] = Counter()
        self._employee_no: dict[str, str] = {}

    # -- entry points -----------------------------------------------------------------------------
    def consume_inbox(self, limit: int = 200) -> None:
        """Act on every waiting inbox event, ``limit`` at a time; raises the first outage met."""
        while True:
            outage: Exception | None = None
            with self.conn.transaction():
                events = inbox.claim(
                    self.conn, limit=limit, sources=[SYSTEM], except_types=list(BOOKING_EVENT_TYPES) or None
                )
                if not events:
                    return
                done, ignored, failed = [], [], []
                for event in events:
                    if event.source != SYSTEM or not event.subject:
                        ignored.append(event.event_id)
                        continue
                    try:
                        malformed = self.take_or_queue(event.subject)
                    except Exception as err:
                        if is_outage(err):
                            outage = err  # not this event's fault: it and the rest wait for the next run
                            break
                        log.exception("inbox event %s (%s) failed", event.event_id, event.subject)
                        failed.append((event.event_id, f"{type(err).__name__}: {err}"))
                        continue
                    if malformed:
                        failed.append((event.event_id, f"{malformed.claim_no}: {malformed}"))
                    else:
                        done.append(event.event_id)
                inbox.mark_processed(self.conn, done)
                inbox.mark_ignored(self.conn, ignored, OTHER_EVENTS)
                for event_id, error in failed:
                    status = inbox.record_failure(self.conn, event_id, error, max_attempts=self.max_attempts)
                    self.counts["events_given_up" if status == "failed" else "events_failed"] += 1
                self.counts["events"] += len(done)
                self.counts["events_ignored"] += len(ignored)
            if outage is not None:
                raise outage
            if failed or len(events) < limit:
                return

    def catch_up(self, since: dt.datetime | None = None) -> None:
        """Read documents changed since the watermark (or ``since``) and take the ones not yet held."""
        mark = since or watermarks.watermark(self.conn, SYSTEM, STREAM)
        start = (mark - OVERLAP) if mark else dt.datetime.now(CHINA) - FIRST_LOOK_BACK
        newest = mark
        for page in self.hook.iter_documents(start.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")):
            held: dict[str, Any] = dict(
                self.conn.execute(sqlfile.step(SQL, "update_times"), ([flow["id"] for flow in page],)).fetchall()
            )
            for flow in page:
                updated = update_time(flow)
                self.counts["polled"] += 1
                if updated is None:  # garbage: read the document, which is queued as malformed
                    if flow["id"] in held or flow.get("state") in APPROVED_STATES:
                        self.take_or_queue(flow["id"])
                    continue
                stamp = dt.datetime.fromtimestamp(updated / 1000, dt.UTC)
                newest = max(newest, stamp) if newest else stamp
                if held.get(flow["id"]) == updated:
                    continue
                if flow["id"] not in held and flow.get("state") not in APPROVED_STATES:
                    continue  # never approved and never stored: nothing to do
                self.take_or_queue(flow["id"])
        if newest and newest != mark:
            watermarks.set_watermark(self.conn, SYSTEM, STREAM, newest, run_key=self.run_key)

    def reread_invoices(self, limit: int = 100) -> None:
        """Read again the claims (not yet posted) one of whose invoices 合思 did not return: an
        unchanged document is not read by the catch-up, and the claim would wait for an edit."""
        for flow_id, _ in self.conn.execute(sqlfile.step(SQL, "unread_invoices"), (limit,)).fetchall():
            self.counts["invoices_reread"] += 1
            self.take_or_queue(flow_id)

    # -- one document -----------------------------------------------------------------------------
    def take_or_queue(self, flow_id: str) -> MalformedDocument | None:
        """:meth:`take` in a transaction (a savepoint in the caller's); a malformed document is
        queued instead and returned. Any other error rolls the document's work back and propagates."""
        try:
            with self.conn.transaction():
                self.take(flow_id)
        except MalformedDocument as err:
            with self.conn.transaction():
                self.quarantine(err)
            return err
        return None

    def take(self, flow_id: str) -> None:
        """Fetch one document and bring ``fin.claim`` in step with it (inside the caller's transaction)."""
        flow = self.hook.flow_detail(flow_id)
        if flow is None:
            self.cancel(flow_id, "deleted")
            return
        if flow.get("formType", "expense") != "expense":  # a 申请单 (requisition): the approval flows' own
            self.counts["not_a_claim"] += 1
            return
        claim = parse_flow(flow)
        queue.clear_records(
            self.conn,
            kind="quarantine",
            system=SYSTEM,
            entity="claim",
            keys=[claim.claim_no, claim.flow_id],
            run_key=self.run_key,
            reason_codes=[MALFORMED],
        )
        if not claim.approved:
            self.cancel(flow_id, claim.state)
            return
        self.upsert(claim, self.invoices(flow))

    def invoices(self, flow: dict[str, Any]) -> tuple[ClaimInvoice, ...]:
        """The claim's invoices, read from 合思's invoice API only when its lines name some."""
        details = (flow.get("form") or {}).get("details") or []
        if not any(invoice_refs(d) for d in details if isinstance(d, dict)):
            return ()
        found = {str(item["invoiceId"]): item for item in self.hook.claim_invoices(str(flow["id"]))}
        vat_invoices = [key for key, item in found.items() if item["invoiceType"] == "invoice" and item["entity"]]
        if vat_invoices:  # their 发票明细 rows hold the VAT rates the tax is checked against
            for key, rows in self.hook.invoice_details(vat_invoices).items():
                if key in found:
                    found[key] = {**found[key], "details": rows}
        return claim_invoices(flow, found)

    def upsert(self, claim: ParsedClaim, invoices: tuple[ClaimInvoice, ...] = ()) -> None:
        before = self.conn.execute(sqlfile.step(SQL, "held"), (claim.flow_id,)).fetchone()
        content_hash = claim.content_hash(self.company, invoices)
        row = sqlfile.one(
            self.conn.execute(
                sqlfile.step(SQL, "upsert"),
                {
                    "claim_no": claim.claim_no,
                    "flow_id": claim.flow_id,
                    "company": self.company,
                    "employee_no": self.employee_no(claim.submitter_id),
                    "title": claim.title,
                    "claim_date": claim.claim_date,
                    "period": claim.period,
                    "currency": claim.currency,
                    "total": claim.total,
                    "state": claim.state,
                    "hash": content_hash,
                    "raw": json.dumps(claim.raw, ensure_ascii=False),
                    "requisitions": self.requisition_codes(claim.requisitions),
                },
            )
        )
        if row[1] in NOT_POSTED:  # a claim with a voucher keeps the invoices the voucher was made of
            invoice_store.replace(self.conn, row[0], invoices)
        if row[2]:
            self.counts["new"] += 1
        elif before and before[1] != content_hash and before[0] not in NOT_POSTED:
            self.counts["changed_after_voucher"] += 1
            queue.open_item(
                self.conn,
                kind="conflict",
                system=SYSTEM,
                entity="claim",
                record_key=claim.claim_no,
                reason_code="changed_after_voucher",
                detail=f"version {row[3]}; the voucher holds the earlier content",
                record={"flow_id": claim.flow_id, "state": claim.state},
                run_key=self.run_key,
            )
        else:
            self.counts["seen_again"] += 1

    def quarantine(self, err: MalformedDocument) -> None:
        """Queue a malformed document; a claim held from before and not yet valid stays ``invalid``."""
        held = self.conn.execute(sqlfile.step(SQL, "hold_malformed"), (err.flow_id,)).fetchone()
        queue.open_item(
            self.conn,
            kind="quarantine",
            system=SYSTEM,
            entity="claim",
            record_key=held[0] if held else err.claim_no,
            reason_code=MALFORMED,
            detail=str(err),
            record={"flow_id": err.flow_id, "field": err.field, "claim_state": held[1] if held else None},
            run_key=self.run_key,
        )
        log.warning("合思 document %s (%s) is malformed: %s", err.claim_no, err.flow_id, err)
        self.counts["malformed"] += 1

    def cancel(self, flow_id: str, expense_state: str) -> None:
        row = self.conn.execute(sqlfile.step(SQL, "claim_of"), (flow_id,)).fetchone()
        if row is None:
            self.counts["not_approved"] += 1
            return
        claim_id, claim_no, state = row
        unsent = (
            state == "voucher_pending"
            and not self.conn.execute(sqlfile.step(SQL, "voucher_intended"), (claim_no,)).fetchone()
        )
        if state in NOT_POSTED or unsent:
            self.conn.execute(sqlfile.step(SQL, "cancel"), (expense_state, claim_id))
            queue.clear_records(
                self.conn, kind="quarantine", system=SYSTEM, entity="claim", keys=[claim_no], run_key=self.run_key
            )
            queue.clear_records(
                self.conn, kind="conflict", system=SYSTEM, entity="claim", keys=[claim_no], run_key=self.run_key
            )
            self.counts["cancelled"] += 1
            return
        self.conn.execute(sqlfile.step(SQL, "expense_state"), (expense_state, claim_id))
        queue.open_item(
            self.conn,
            kind="conflict",
            system=SYSTEM,
            entity="claim",
            record_key=claim_no,
            reason_code="cancelled_after_voucher",
            detail=f"合思 state {expense_state}, claim {state}",
            record={"flow_id": flow_id},
            run_key=self.run_key,
        )
        self.counts["cancelled_after_voucher"] += 1

    def requisition_codes(self, flow_ids: tuple[str, ...]) -> list[str]:
        """The 单据编号 (``form.code``) of the 申请单 a claim links (``expenseLink[s]`` hold their flow ids;
        a travel booking names its 申请单 by code). An id 合思 cannot resolve is kept as it is."""
        codes = []
        for flow_id in flow_ids:
            try:
                found = self.hook.flow_detail(flow_id)
            except VendorRequestError as err:
                log.warning("requisition %s of a claim not read (%s): kept by its id", flow_id, err)
                found = None
            form = found.get("form") if isinstance(found, dict) else None
            code = form.get("code") if isinstance(form, dict) else None
            codes.append(code if isinstance(code, str) and code else flow_id)
        return codes

    def employee_no(self, staff_id: str) -> str:
        """The 工号 of a 合思 staff: the org sync's crosswalk, else 合思's own staff record."""
        if staff_id not in self._employee_no:
            row = self.conn.execute(sqlfile.step(SQL, "employee_no"), (staff_id,)).fetchone()
            if row is None:
                found = self.hook.find_staffs("STAFFID", [staff_id]) if staff_id else []
                code = (found[0].get("code") or "") if found else ""
                row = (code or f"?{staff_id}",)
            self._employee_no[staff_id] = row[0]
        return self._employee_no[staff_id]


def collect(
    conn: psycopg.Connection,
    hook: EkuaibaoHook,
    *,
    company: str,
    run_key: str | None,
    poll: bool = True,
    since: dt.datetime | None = None,
    max_attempts: int = INBOX_MAX_ATTEMPTS,
) -> dict[str, Any]:
    """The inbox, then (``poll``) the catch-up; returns the counts."""
    intake = Intake(conn, hook, company=company, run_key=run_key, max_attempts=max_attempts)
    intake.consume_inbox()
    if poll:
        intake.catch_up(since)
        intake.reread_invoices()
    return dict(intake.counts)
