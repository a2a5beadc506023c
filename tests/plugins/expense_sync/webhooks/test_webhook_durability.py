"""Nothing is answered 2xx unless it is committed, and a stored event is never lost or refused.

* the database unreachable, going away mid-flight, restarting, or too slow: 503 with Retry-After,
  and the sender's retry is stored once;
* Airflow failing, or hanging, while it is notified: the delivery is still 2xx and the row stays
  ``new`` for the DAG's catch-up; bursts are coalesced into few notifications.
"""

from __future__ import annotations

import os
import threading
import time

import psycopg
from psycopg import sql
from webhook_senders import (
    EKUAIBAO_PATH_TOKEN,
    ekuaibao,
    ekuaibao_message,
    standard,
    standard_by_hand,
    standard_payload,
)
from webhook_testkit import Notifications, inbox_rows, refusals

from expense_sync.webhooks.config import ReceiverSettings
from expense_sync.webhooks.writer import connect_mdm
from expense_sync_sandboxes.cluster import free_port

TERMINATE = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s"


def _rows_now() -> list[dict]:
    with psycopg.connect(os.environ["AIRFLOW_CONN_MDM_POSTGRES"], autocommit=True) as conn:
        return inbox_rows(conn)


def test_an_unreachable_database_answers_503_and_the_retry_is_stored(start_receiver, webhook_env, monkeypatch, caplog):
    good_url = os.environ["AIRFLOW_CONN_MDM_POSTGRES"]
    monkeypatch.setenv("AIRFLOW_CONN_MDM_POSTGRES", f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere")
    receiver = start_receiver()
    delivery = standard(standard_payload(), msg_id="msg_db_down")

    refused = receiver.send(delivery)

    assert refused.status_code == 503 and refused.headers["Retry-After"] == "5"
    assert refused.json() == {"error": "database unavailable"}
    assert "source=standard status=503 reason=database unavailable" in refusals(caplog)[0]
    assert "inbox connections opened at start: 0 of 4 (database unavailable" in caplog.text  # yet it started
    assert receiver.notifications.calls == []

    monkeypatch.setenv("AIRFLOW_CONN_MDM_POSTGRES", good_url)
    assert receiver.send(delivery).json() == {"status": "stored"}
    assert [r["dedup_key"] for r in inbox_rows(webhook_env)] == ["msg_db_down"]


def test_a_database_outage_mid_flight_answers_503_until_it_is_back(receiver, webhook_env, pg_server):
    database = webhook_env.info.dbname
    assert receiver.send(standard(standard_payload(), msg_id="msg_before")).status_code == 200
    with psycopg.connect(pg_server.server_url, autocommit=True) as admin:
        admin.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS false").format(sql.Identifier(database)))
        admin.execute(TERMINATE, (database,))
        try:
            during = [receiver.send(standard(standard_payload(), msg_id=f"msg_during_{i}")) for i in range(3)]
        finally:
            admin.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS true").format(sql.Identifier(database)))

    assert [r.status_code for r in during] == [503, 503, 503]
    retried = [receiver.send(standard(standard_payload(), msg_id=f"msg_during_{i}")) for i in range(3)]
    assert [r.json()["status"] for r in retried] == ["stored"] * 3
    assert [r["dedup_key"] for r in _rows_now()] == ["msg_before"] + [f"msg_during_{i}" for i in range(3)]


def test_a_restarted_database_costs_no_delivery(receiver, webhook_env, pg_server):
    """Connections broken by a restart are replaced and the insert tried again, invisibly to the sender."""
    database = webhook_env.info.dbname
    assert receiver.send(standard(standard_payload(), msg_id="msg_1")).status_code == 200
    with psycopg.connect(pg_server.server_url, autocommit=True) as admin:
        admin.execute(TERMINATE, (database,))

    assert receiver.send(standard(standard_payload(), msg_id="msg_2")).json() == {"status": "stored"}
    assert len(_rows_now()) == 2


def test_the_first_delivery_after_the_start_finds_its_connection_open(start_receiver, webhook_env):
    def slow_connect() -> psycopg.Connection:  # a connection takes longer than a delivery may
        time.sleep(0.8)
        return connect_mdm(0.5)

    settings = ReceiverSettings(notify_interval=0.0, config_ttl=0.0, db_timeout=0.5, pool_size=2)
    receiver = start_receiver(settings=settings, connect=slow_connect)

    first = [receiver.send(standard(standard_payload(), msg_id=f"msg_first_{i}")) for i in range(2)]

    assert [r.status_code for r in first] == [200, 200]


def test_a_database_slower_than_the_timeout_answers_503(start_receiver, webhook_env):
    receiver = start_receiver(settings=ReceiverSettings(notify_interval=0.0, config_ttl=0.0, db_timeout=0.5))
    delivery = ekuaibao(ekuaibao_message())
    with psycopg.connect(os.environ["AIRFLOW_CONN_MDM_POSTGRES"]) as locker:  # a transaction holds the lock
        locker.execute("LOCK TABLE sync.event_inbox IN ACCESS EXCLUSIVE MODE")
        slow = receiver.send(delivery)
        locker.rollback()

    assert slow.status_code == 503 and "Retry-After" in slow.headers
    assert receiver.send(delivery).status_code == 200
    assert len(inbox_rows(webhook_env)) == 1


def test_a_payload_the_database_refuses_is_422_and_kept_for_a_person(receiver, webhook_env, caplog):
    response = receiver.send(standard_by_hand(b'{"type": "claim.paid", "note": "nul \\u0000 inside"}'))

    assert response.status_code == 422
    assert inbox_rows(webhook_env) == []
    [line] = refusals(caplog)
    assert "reason=payload cannot be stored" in line and "sqlstate 22P05" in line and "nul" not in line
    [(code, record)] = webhook_env.execute("SELECT reason_code, record FROM sync.exception_item").fetchall()
    assert code == "webhook_payload_unstorable" and "nul \\u0000 inside" in record["payload"]


def test_an_undefined_database_connection_answers_503(start_receiver, webhook_env, monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_MDM_POSTGRES")
    receiver = start_receiver()

    response = receiver.send(standard(standard_payload()))

    assert response.status_code == 503 and response.json() == {"error": "database not configured"}


def _wait_for(condition, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_a_failing_notifier_still_answers_2xx_and_the_event_waits_in_the_inbox(start_receiver, webhook_env, caplog):
    notifications = Notifications(fail=True)
    receiver = start_receiver(notifier=notifications)

    response = receiver.send(ekuaibao(ekuaibao_message()))

    assert response.status_code == 200 and response.json()["status"] == "stored"
    notifications.wait()
    _wait_for(lambda: "asset notification failed (ConnectionError)" in caplog.text)
    assert [r["status"] for r in inbox_rows(webhook_env)] == ["new"]
    assert receiver.send(ekuaibao(ekuaibao_message(action="flow.rejected"))).status_code == 200
    assert len(inbox_rows(webhook_env)) == 2


def test_a_hung_notifier_holds_no_delivery_and_bursts_are_coalesced(start_receiver, webhook_env):
    release, calls = threading.Event(), []

    def hanging_notifier(extra: dict) -> None:
        calls.append(extra)
        release.wait(30)

    receiver = start_receiver(notifier=hanging_notifier)
    assert receiver.send(standard(standard_payload(), msg_id="msg_first")).status_code == 200
    _wait_for(lambda: len(calls) == 1)  # the notifier thread is now stuck in Airflow

    burst = [receiver.send(standard(standard_payload(), msg_id=f"msg_{i}")) for i in range(10)]
    assert [r.json()["status"] for r in burst] == ["stored"] * 10
    release.set()
    _wait_for(lambda: len(calls) == 2)

    assert calls == [{"events": 1, "sources": {"standard": 1}}, {"events": 10, "sources": {"standard": 10}}]


def test_duplicates_are_not_announced(receiver, webhook_env):
    delivery = standard(standard_payload(), msg_id="msg_once")
    assert receiver.send(delivery).status_code == 200
    receiver.notifications.wait()

    assert receiver.send(delivery).json() == {"status": "duplicate"}
    assert receiver.send(standard(standard_payload(), msg_id="msg_twice")).status_code == 200
    _wait_for(lambda: len(receiver.notifications.calls) == 2)
    assert [c["events"] for c in receiver.notifications.calls] == [1, 1]


class DriverWithABug:
    """A database connection whose driver fails in a way nobody planned for."""

    closed = False

    def close(self) -> None:
        self.closed = True

    def execute(self, *args, **kwargs):
        raise RuntimeError("driver bug: CANARY-8d1e secret-looking detail")


def test_an_unexpected_failure_is_one_log_line_and_a_503_never_a_500(start_receiver, webhook_env, caplog):
    receiver = start_receiver(connect=DriverWithABug)

    response = receiver.send(standard(standard_payload()))

    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert response.json() == {"error": "temporarily unavailable"}
    failures = [r for r in caplog.records if r.levelname == "ERROR"]
    assert [r.getMessage() for r in failures] == [
        "webhook failed: path=/expense-sync/webhooks/standard error=RuntimeError"
    ]
    assert "CANARY-8d1e" not in caplog.text
    assert inbox_rows(webhook_env) == []


def test_an_unexpected_failure_on_the_secret_path_does_not_log_the_token(start_receiver, webhook_env, caplog):
    receiver = start_receiver(connect=DriverWithABug)

    response = receiver.send(ekuaibao(ekuaibao_message()))

    assert response.status_code == 503
    failures = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert failures == ["webhook failed: path=/expense-sync/webhooks/ekuaibao/<token> error=RuntimeError"]
    assert EKUAIBAO_PATH_TOKEN not in caplog.text
