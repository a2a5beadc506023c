"""The per-key lock every outbound write runs under: a second holder waits, and is let in when the
first lets go; a holder that dies releases it with its connection."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from expense_sync.store.locks import held, lock_id


def connect(mdm) -> psycopg.Connection:
    return psycopg.connect(mdm.info.dsn, password=mdm.info.password, autocommit=True)


def test_lock_ids_are_stable_and_distinct():
    assert lock_id("voucher/kingdee/BX0001") == lock_id("voucher/kingdee/BX0001")
    assert lock_id("voucher/kingdee/BX0001") != lock_id("voucher/sap/BX0001")


def test_a_second_holder_waits_for_the_first(mdm):
    other = connect(mdm)
    order: list[str] = []

    def second() -> None:
        with held(other, ["k/2", "k/1"]):  # overlapping keys, asked in another order: no deadlock
            order.append("second")

    with held(mdm, ["k/1", "k/2"]):
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.5)
        order.append("first")
    thread.join(10)
    assert order == ["first", "second"]
    other.close()


def test_a_holder_that_waits_too_long_fails_loudly(mdm):
    other = connect(mdm)
    with held(mdm, "k"), pytest.raises(psycopg.errors.LockNotAvailable):
        with held(other, "k", wait="200ms"):
            pass
    with held(other, "k", wait="200ms"):  # released by the first holder
        pass
    other.close()


def test_a_dead_holder_releases_its_lock(mdm):
    dying = connect(mdm)
    with held(dying, "k"):
        dying.close()  # the process dies: its session ends
    with held(mdm, "k", wait="2s"):
        pass
