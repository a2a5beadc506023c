"""The 合思 hook's booking side against the sandbox over HTTP: the catch-up lists 订单管理 and keeps
the orders changed since the watermark (the list's own window is on the creation time), and a
message is turned into a booking by re-reading its order."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

import pytest

from expense_sync.hooks.ekuaibao import EkuaibaoHook
from expense_sync.hooks.errors import ConfigurationError
from expense_sync_sandboxes.ekuaibao.bookings import ORDER_ENTITY
from testkit import FAST


@pytest.fixture
def ekb(sandboxes, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_EXPENSE_EKUAIBAO",
        sandboxes.connection("expense_ekuaibao", **FAST, booking_entity_id=ORDER_ENTITY),
    )
    hook = EkuaibaoHook()
    corp = hook.corporation()
    hook.create_staffs([{"name": "王芳", "code": "E1001", "cellphone": "13800000001", "defaultDepartment": corp}])
    control = sandboxes.control("ekuaibao")
    control.application = control.mutate("seed_application", staff_code="E1001", amount="9000", state="paid")
    return control


def _book(ekb, **kw) -> dict:
    return ekb.mutate("seed_booking", requisition_code=ekb.application["form"]["code"], **kw)


def _now_text() -> str:
    """Now as 合思 writes a window's bound: China time."""
    return dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m-%d %H:%M:%S")


def test_the_catch_up_lists_every_order_with_its_state_and_category(ekb):
    orders = {
        kind: _book(ekb, category=kind, amount=amount)
        for kind, amount in [("flight", "1280.00"), ("hotel", "450.00"), ("train", "553.50"), ("car", "63.80")]
    }
    ekb.mutate("seed_booking", order_id=orders["hotel"]["id"], state="cancelled", amount="450.00")

    found = {b.order_id: b for b in EkuaibaoHook().bookings()}

    assert {orders[k]["id"]: k for k in orders} == {i: b.category for i, b in found.items()}
    flight, hotel = found[orders["flight"]["id"]], found[orders["hotel"]["id"]]
    assert (flight.state, flight.amount, flight.requisition_code) == (
        "confirmed",
        Decimal("1280.00"),
        ekb.application["form"]["code"],
    )
    assert (hotel.state, hotel.amount) == ("cancelled", Decimal("0"))  # a cancelled booking carries 0
    assert {b.staff_id for b in found.values()} == {ekb.application["ownerId"]}


def test_since_keeps_the_orders_changed_since_even_if_created_before(ekb):
    old = _book(ekb, category="flight", amount="900")
    stale = _book(ekb, category="hotel", amount="300")
    time.sleep(1.1)
    watermark = _now_text()
    time.sleep(1.1)
    new = _book(ekb, category="train", amount="300")
    ekb.mutate("seed_booking", order_id=old["id"], state="changed", amount="950")
    untouched = _book(ekb, category="car", amount="40")
    hook = EkuaibaoHook()

    changed = {b.order_id: b for b in hook.bookings(since=watermark)}

    assert set(changed) == {old["id"], new["id"], untouched["id"]}  # not the stale one
    assert stale["id"] in {b.order_id for b in hook.bookings()}
    assert (changed[old["id"]].state, changed[old["id"]].amount) == ("changed", Decimal("950"))
    assert hook.bookings(since="2099-01-01 00:00:00") == []


def test_the_catch_up_pages_through_more_than_a_hundred_orders(ekb):
    for n in range(101):
        _book(ekb, category="car", amount=f"{n + 1}.00")

    found = EkuaibaoHook().bookings()

    assert len(found) == 101 and sum(b.amount for b in found) == Decimal(sum(range(1, 102)))


def test_a_message_is_re_read_and_what_is_no_order_is_none(ekb):
    order = _book(ekb, category="hotel", amount="620")
    hook = EkuaibaoHook()

    booking = hook.booking_from_event({"dataLinkId": order["id"], "订单金额": "1"})  # the body is not trusted

    assert booking is not None and (booking.order_id, booking.amount) == (order["id"], Decimal("620"))
    assert hook.booking_from_event({"dataLinkId": "no-such-instance"}) is None
    assert hook.booking_from_event({"flowId": ekb.application["id"], "action": "flow.paid"}) is None


def test_without_the_order_entity_the_catch_up_is_a_configuration_error(ekb, sandboxes, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_EXPENSE_EKUAIBAO", sandboxes.connection("expense_ekuaibao", **FAST))
    with pytest.raises(ConfigurationError, match="booking_entity_id"):
        EkuaibaoHook().bookings()
