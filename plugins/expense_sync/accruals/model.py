"""A travel booking as the accrual engine sees it, whatever 合思 message or API it came from."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, Protocol

# The 合思 outbound-message types (``sync.event_inbox.event_type``) that announce a booking: the
# accrual engine consumes them, the claims intake leaves them alone. Filled from 合思's documents:
# ``dataLink`` is the message log's name for 业务对象数据变更 messages (EKB
# outbound-message/call-failed-log-list.md, ``messageType``), the kind 订单管理 fires for an order;
# the receiver stores such a message under it (webhooks/ekuaibao.py). Not every ``dataLink``
# message is an order: ``BookingSource.booking_from_event`` answers None for the others.
BOOKING_EVENT_TYPES: tuple[str, ...] = ("dataLink",)

BookingState = Literal["confirmed", "cancelled", "changed"]


@dataclass(frozen=True)
class Booking:
    """One travel order (机票 / 酒店 / 火车 …) booked through 合思 against an application (申请单).

    ``order_id`` is the booking's own id (the business key of its accrual); ``requisition_code`` the
    申请单 it was booked against, which the trip's claim later names; ``amount`` the booked price
    (Decimal, ``currency``). A ``changed`` or ``cancelled`` booking carries the new amount (0 when
    cancelled)."""

    order_id: str
    state: BookingState
    category: str  # flight | hotel | train | car | other
    requisition_code: str | None
    staff_id: str
    employee_no: str | None
    amount: Decimal
    booked_at: dt.datetime
    currency: str = "CNY"
    cost_center: str | None = None
    project: str | None = None
    company: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


class BookingSource(Protocol):
    """The booking side of the 合思 hook."""

    def booking_from_event(self, payload: dict[str, Any]) -> Booking | None:
        """A booking from one verified outbound message, or ``None`` when the message is no booking."""

    def bookings(self, since: str | None = None) -> list[Booking]:
        """Bookings changed since ``since`` (``"yyyy-MM-dd HH:mm:ss"``): the catch-up for missed messages."""
