"""A travel order booked in 合思 (the sandbox's 订单管理) fires its 业务对象数据变更 message; the real
receiver stores it under the booking event type, where the claims intake leaves it alone and the
hook turns it into a :class:`~expense_sync.accruals.model.Booking` by re-reading the order."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
import requests
from webhook_senders import EKUAIBAO_PATH, EKUAIBAO_PATH_TOKEN
from webhook_testkit import inbox_rows

from expense_sync.accruals.model import BOOKING_EVENT_TYPES
from expense_sync.claims.intake import collect
from expense_sync.hooks.ekuaibao import EkuaibaoHook
from expense_sync_sandboxes.ekuaibao.bookings import ORDER_ENTITY
from testkit import FAST


@pytest.fixture
def ekb(sandboxes, webhook_env, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_EXPENSE_EKUAIBAO",
        sandboxes.connection(
            "expense_ekuaibao", **FAST, outbound_path_tokens=[EKUAIBAO_PATH_TOKEN], booking_entity_id=ORDER_ENTITY
        ),
    )
    hook = EkuaibaoHook()
    corp = hook.corporation()
    hook.create_staffs([{"name": "王芳", "code": "E1001", "cellphone": "13800000001", "defaultDepartment": corp}])
    control = sandboxes.control("ekuaibao")
    yield control
    control.mutate("configure_outbound", url=None)


def test_a_pushed_booking_reaches_the_inbox_as_a_booking_event_and_reads_back(ekb, receiver, webhook_env):
    application = ekb.mutate("seed_application", staff_code="E1001", amount="5000", state="paid")
    ekb.mutate("configure_outbound", url=receiver.url + EKUAIBAO_PATH)

    order = ekb.mutate(
        "seed_booking", requisition_code=application["form"]["code"], category="flight", amount="1280.00"
    )
    ekb.mutate("seed_booking", order_id=order["id"], state="changed", amount="1350.00")

    rows = inbox_rows(webhook_env)
    bookings = [r for r in rows if r["event_type"] in BOOKING_EVENT_TYPES]
    assert [(r["event_type"], r["subject"]) for r in bookings] == [("dataLink", order["id"])] * 2
    assert len({r["dedup_key"] for r in bookings}) == 2  # a change is another event
    payload = bookings[-1]["payload"]
    booking = EkuaibaoHook().booking_from_event(payload if isinstance(payload, dict) else json.loads(payload))
    assert booking is not None
    assert (booking.order_id, booking.state, booking.category, booking.amount, booking.currency) == (
        order["id"],
        "changed",
        "flight",
        Decimal("1350.00"),
        "CNY",
    )
    assert booking.requisition_code == application["form"]["code"] and booking.staff_id == application["ownerId"]
    assert booking.booked_at.tzinfo is not None

    since = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    counts = collect(webhook_env, EkuaibaoHook(), company="1000", run_key="t", poll=False, since=since)
    assert not counts.get("events") and not counts.get("events_ignored")  # the bookings stay for the accruals
    left = webhook_env.execute(
        "SELECT count(*) FROM sync.event_inbox WHERE event_type = 'dataLink' AND status = 'new'"
    ).fetchone()[0]
    assert left == 2


def test_the_same_message_twice_is_one_event(ekb, receiver, webhook_env):
    application = ekb.mutate("seed_application", staff_code="E1001", amount="800", state="paid")
    ekb.mutate("configure_outbound", url=receiver.url + EKUAIBAO_PATH)
    order = ekb.mutate("seed_booking", requisition_code=application["form"]["code"], category="hotel", amount="450")
    log = ekb.state()["outboundLog"]
    message = log[-1]["request"]
    assert message["dataLinkId"] == order["id"] and log[-1]["state"] == "SUCCESS"

    again = requests.post(receiver.url + EKUAIBAO_PATH, json=message, timeout=10)

    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert [r["subject"] for r in inbox_rows(webhook_env) if r["event_type"] == "dataLink"] == [order["id"]]
