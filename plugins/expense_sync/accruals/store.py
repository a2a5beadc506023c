"""Bookings into ``fin.accrual``: from the webhook inbox and from 合思's catch-up list, one row per order.

The engine sees only :class:`~expense_sync.accruals.model.Booking` values: the 合思 hook turns its
outbound messages (``booking_from_event``) and its booking list (``bookings``) into them, through the
:class:`~expense_sync.accruals.model.BookingSource` seam, so that everything here is tested with
bookings directly. A booking whose content changed (amount, dimensions, state, requisition) is a new
``booking_version`` and its accrual becomes ``pending`` again; one the trip's claim reversed already
stays reversed. The inbox is consumed like the claims' (``FOR UPDATE SKIP LOCKED``, one transaction
per batch); only events of :data:`~expense_sync.accruals.model.BOOKING_EVENT_TYPES` are taken, so
the claims intake and this consumer never take each other's events.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections import Counter
from collections.abc import Iterable
from typing import Any

import psycopg

from expense_sync.accruals.model import BOOKING_EVENT_TYPES, Booking, BookingSource
from expense_sync.claims.intake import is_outage
from expense_sync.hooks.errors import ConfigurationError
from expense_sync.store import inbox, sqlfile, watermarks

log = logging.getLogger(__name__)
SQL = "accruals/accruals"  # include/sql/accruals/accruals.sql
SYSTEM, STREAM = "ekuaibao", "bookings"
SOURCE = "ekuaibao"  # sync.event_inbox.source of 合思's outbound messages


def content_hash(booking: Booking) -> str:
    """The hash of what the booking's accrual voucher is made of (not its raw message)."""
    content = {
        "state": booking.state if booking.state == "cancelled" else "booked",
        "amount": str(booking.amount),
        "currency": booking.currency,
        "category": booking.category,
        "requisition": booking.requisition_code,
        "staff": booking.staff_id,
        "employee_no": booking.employee_no,
        "cost_center": booking.cost_center,
        "project": booking.project,
        "company": booking.company,
        "booked_on": booking.booked_at.date().isoformat(),
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def land(conn: psycopg.Connection, bookings: Iterable[Booking], *, company: str) -> Counter[str]:
    """Upsert each booking (``company`` where it names none); counts ``new``, ``changed``, ``same``."""
    counts: Counter[str] = Counter()
    for booking in bookings:
        row = conn.execute(
            sqlfile.step(SQL, "land"),
            {
                "order_id": booking.order_id,
                "state": booking.state,
                "hash": content_hash(booking),
                "requisition": booking.requisition_code,
                "staff_id": booking.staff_id,
                "employee_no": booking.employee_no,
                "company": booking.company or company,
                "cost_center": booking.cost_center,
                "project": booking.project,
                "category": booking.category,
                "amount": booking.amount,
                "currency": booking.currency,
                "booked_at": booking.booked_at,
                "raw": json.dumps(booking.raw, ensure_ascii=False, default=str),
            },
        ).fetchone()
        counts["same" if row is None else "new" if row[0] else "changed"] += 1
    return counts


def collect(
    conn: psycopg.Connection,
    source: BookingSource,
    *,
    company: str,
    run_key: str | None,
    poll: bool = True,
    max_attempts: int = 5,
    batch: int = 100,
) -> dict[str, int]:
    """Land the bookings of the inbox's booking events, then (``poll``) those 合思 lists as changed
    since the watermark. An event the hook cannot read counts an attempt (``failed`` after
    ``max_attempts``); an event that is no booking is ignored. A source that is not configured for
    bookings (``ConfigurationError``: no 订单管理 entity on the 合思 connection) polls nothing."""
    counts: Counter[str] = Counter()
    while BOOKING_EVENT_TYPES:
        outage: Exception | None = None
        with conn.transaction():
            events = inbox.claim(conn, limit=batch, sources=[SOURCE], event_types=list(BOOKING_EVENT_TYPES))
            for event in events:
                payload: Any = event.payload
                try:
                    booking = source.booking_from_event(payload if isinstance(payload, dict) else {})
                except Exception as err:
                    if is_outage(err):
                        outage = err  # not this event's fault: it and the rest wait for the next run
                        break
                    log.exception("inbox event %s failed", event.event_id)  # a malformed order: the batch goes on
                    status = inbox.record_failure(
                        conn, event.event_id, f"{type(err).__name__}: {err}"[:500], max_attempts=max_attempts
                    )
                    counts["events_given_up" if status == "failed" else "events_failed"] += 1
                    continue
                if booking is None:
                    inbox.mark_ignored(conn, [event.event_id], "not a booking")
                    counts["events_ignored"] += 1
                    continue
                counts.update(land(conn, [booking], company=company))
                inbox.mark_processed(conn, [event.event_id])
                counts["events"] += 1
        if outage is not None:
            raise outage
        if len(events) < batch:
            break
    if poll:
        since = watermarks.watermark(conn, SYSTEM, STREAM)
        started = dt.datetime.now(dt.UTC)
        try:
            listed = source.bookings(since.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S") if since else None)
        except ConfigurationError as err:  # a tenant without travel orders (no 订单管理 configured)
            log.warning("no booking catch-up: %s", err)
            counts["poll_not_configured"] += 1
            log.info("bookings landed: %s", dict(counts))
            return dict(counts)
        with conn.transaction():
            counts.update(land(conn, listed, company=company))
            watermarks.set_watermark(conn, SYSTEM, STREAM, started - OVERLAP, run_key=run_key)
        counts["polled"] += len(listed)
    log.info("bookings landed: %s", dict(counts))
    return dict(counts)


CHINA = dt.timezone(dt.timedelta(hours=8))
OVERLAP = dt.timedelta(minutes=5)  # the poll looks back a little: a booking saved during the last one


def booking_source(hook: Any) -> BookingSource | None:
    """The 合思 hook as a :class:`BookingSource`, or ``None`` (logged) while it has no booking side yet
    (``booking_from_event`` / ``bookings``): the accruals then post what is already landed."""
    if callable(getattr(hook, "booking_from_event", None)) and callable(getattr(hook, "bookings", None)):
        return hook
    log.warning("the 合思 hook %s reads no bookings yet: no booking landed this run", type(hook).__name__)
    return None
