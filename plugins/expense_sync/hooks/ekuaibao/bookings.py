"""合思 travel bookings (差旅订单): the orders the travel mall (合思商城, 携程商旅 …) pushes to 合思, kept
in the 订单管理 business object (``accruals.model.BookingSource``).

合思 announces a new or changed business-object instance by an outbound message of the kind
业务对象数据变更 (the message log's ``messageType`` ``dataLink``); the receiver stores it with that
event type (:data:`expense_sync.accruals.model.BOOKING_EVENT_TYPES`). The message is only a trigger:
the order is re-read by its instance id (``byDataLinkIds``). The catch-up lists 订单管理
(``searchOrders``). Fields are named ``E_<entity id>_<name>`` (订单号, 订单状态, 订单金额, 申请单编号,
出行人 …). Wire facts and what stays inferred: ``docs/vendors/ekuaibao.md`` ("Travel bookings")."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from expense_sync.accruals.model import Booking, BookingState
from expense_sync.hooks.ekuaibao.client import PAGE_SIZE, EkuaibaoClient
from expense_sync.hooks.errors import ConfigurationError, ContractError

CHINA = dt.timezone(dt.timedelta(hours=8))
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
INSTANCE_FIELD = "dataLinkId"  # the instance id in a 业务对象数据变更 message [I]
SEARCH = "/api/openapi/v2.1/datalink/TRAVEL_MANAGEMENT/searchOrders"
BY_IDS = "/api/openapi/v2/datalink/TRAVEL_MANAGEMENT/byDataLinkIds"
FIELD = re.compile(r"^E_([0-9A-Za-z]+)_(.+)$")
# 订单状态 / 订单类型 words (synTravelOrder.md: 出票、改签、退票、确认订单、退订、离店) -> our state
CANCELLED_WORDS, CHANGED_WORDS = ("退票", "退订", "取消"), ("改签", "变更")
# a field only one kind of order has -> its category [I]: the order's own entity (飞机, 酒店 …) has
# an id the documents do not name, so the category is told by the fields the order carries
CATEGORY_FIELDS: tuple[tuple[str, str], ...] = (
    ("航班号", "flight"),
    ("火车车次", "train"),
    ("车次", "train"),
    ("酒店名称", "hotel"),
    ("入住日期", "hotel"),
    ("车牌号", "car"),
    ("用车出行方式", "car"),
    ("车型", "car"),
)


class BookingsApi(EkuaibaoClient):
    """Travel orders (订单管理)."""

    def booking_from_event(self, payload: dict[str, Any]) -> Booking | None:
        """The order a 业务对象数据变更 message names, re-read from 合思; ``None`` when the message names
        no instance, or the instance is gone or is no order (another business object)."""
        instance = payload.get(INSTANCE_FIELD)
        if not isinstance(instance, str) or not instance:
            return None
        body = self.request("GET", BY_IDS, json={"ids": [instance]})
        for item in body.get("items") or []:
            if isinstance(item, dict) and item.get("id") == instance:
                return self._booking(item)
        return None

    def bookings(self, since: str | None = None) -> list[Booking]:
        """Orders changed since ``since`` (``"yyyy-MM-dd HH:mm:ss"``, China time, inclusive). The list's
        own window filters on the *creation* time, so every order is read and filtered on its
        ``updateTime`` here: a change to an old order is not missed."""
        entity = self._entity()
        floor = (
            int(dt.datetime.strptime(since, TIME_FORMAT).replace(tzinfo=CHINA).timestamp() * 1000) if since else None
        )
        found: list[Booking] = []
        start = 0
        while True:
            body = self.request("POST", SEARCH, json={"entityId": entity, "start": start, "count": PAGE_SIZE})
            page = (body.get("items") or {}).get("data") or []
            for row in page:
                link = row.get("dataLink") if isinstance(row, dict) else None
                if not isinstance(link, dict) or (floor is not None and int(link.get("updateTime") or 0) < floor):
                    continue
                booking = self._booking(link)
                if booking is not None:
                    found.append(booking)
            if len(page) < PAGE_SIZE:
                return found
            start += len(page)

    # -- parsing ----------------------------------------------------------------------------------
    def _entity(self) -> str:
        entity = self.settings.booking_entity_id
        if not entity:
            raise ConfigurationError(
                f"connection {self.conn_id} has no booking_entity_id (订单管理's 业务对象ID)", vendor=self.vendor
            )
        return entity

    def _booking(self, instance: dict[str, Any]) -> Booking | None:
        """A ``searchOrders`` ``dataLink`` (fields at its top level) or a ``byDataLinkIds`` item
        (fields under ``form``) as a booking; ``None`` when it is no 订单管理 instance."""
        nested = instance.get("form")
        form: dict[str, Any] = nested if isinstance(nested, dict) else instance
        fields = {m.group(2): (m.group(1), value) for key, value in form.items() if (m := FIELD.match(key))}
        entity = self.settings.booking_entity_id
        if entity and not any(owner == entity for owner, _ in fields.values()):
            return None
        values = {name: value for name, (_, value) in fields.items()}
        if "订单金额" not in values or "订单号" not in values:
            return None
        order_id = str(instance.get("id") or "")
        if not order_id:
            raise ContractError("a 订单管理 instance without an id", vendor=self.vendor, endpoint=SEARCH)
        state = booking_state(values)
        amount, currency = order_amount(order_id, values.get("订单金额"))
        travellers = values.get("出行人")
        staff = travellers[0] if isinstance(travellers, list) and travellers else None
        staff = staff or values.get("订票人") or instance.get("ownerId") or ""
        booked = values.get("订单日期") or instance.get("createTime")
        if not isinstance(booked, int):
            raise ContractError(f"order {order_id}: 订单日期 is {booked!r}, not a time", vendor=self.vendor)
        return Booking(
            order_id=order_id,
            state=state,
            category=category(values),
            requisition_code=str(values.get("申请单编号") or "") or None,
            staff_id=str(staff.get("id") if isinstance(staff, dict) else staff),
            employee_no=None,  # an order carries no 工号: the caller reads it from the org crosswalk
            amount=Decimal("0") if state == "cancelled" else amount,
            booked_at=dt.datetime.fromtimestamp(booked / 1000, CHINA),
            currency=currency,
            raw=instance,
        )


def booking_state(values: dict[str, Any]) -> BookingState:
    words = f"{values.get('订单状态') or ''} {values.get('订单类型') or ''}"
    if any(word in words for word in CANCELLED_WORDS):
        return "cancelled"
    if any(word in words for word in CHANGED_WORDS):
        return "changed"
    return "confirmed"


def category(values: dict[str, Any]) -> str:
    for field, name in CATEGORY_FIELDS:
        if values.get(field):
            return name
    return "other"


def order_amount(order_id: str, money: Any) -> tuple[Decimal, str]:
    try:
        value = Decimal(str(money["standard"] if isinstance(money, dict) else money))
    except (InvalidOperation, KeyError, TypeError):
        raise ContractError(f"order {order_id}: 订单金额 is {money!r}, not a money object") from None
    if not value.is_finite():
        raise ContractError(f"order {order_id}: 订单金额 is {value}")
    return value, str(money.get("standardStrCode") or "CNY") if isinstance(money, dict) else "CNY"
