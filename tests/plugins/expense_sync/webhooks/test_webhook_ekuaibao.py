"""合思 outbound messages: plain JSON with the static signKey (R1, R3).

合思 has no timestamp and no body signature: stale/future cases do not apply, and a flipped byte
can only be caught where it changes the key (or breaks the JSON).
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from webhook_senders import EKUAIBAO_SIGN_KEY, Delivery, ekuaibao, ekuaibao_message
from webhook_testkit import inbox_rows, refusals


def test_a_message_with_the_key_in_the_body_is_stored_without_the_key(receiver, webhook_env):
    message = ekuaibao_message(voucherStatus="待生成", amount={"currency": "CNY", "amount": "1234.50"})

    response = receiver.send(ekuaibao(message))

    assert response.status_code == 200 and response.json() == {"code": "1", "status": "stored"}
    [row] = inbox_rows(webhook_env)
    assert (row["source"], row["dedup_key"], row["event_type"], row["subject"]) == (
        "ekuaibao",
        "ID01flow|FLOW:251847192:631543649|flow.paid",
        "flow.paid",
        "ID01flow",
    )
    assert row["payload"] == message and "signKey" not in row["payload"]
    assert EKUAIBAO_SIGN_KEY not in json.dumps(row["headers"]) + json.dumps(row["payload"])
    receiver.notifications.wait()
    assert receiver.notifications.calls == [{"events": 1, "sources": {"ekuaibao": 1}}]


def test_a_message_with_the_key_in_the_header_is_stored_without_the_header(receiver, webhook_env):
    response = receiver.send(ekuaibao(ekuaibao_message(), in_header=True))

    assert response.status_code == 200
    [row] = inbox_rows(webhook_env)
    assert "signkey" not in row["headers"] and EKUAIBAO_SIGN_KEY not in json.dumps(row["headers"])


def test_an_approval_event_without_action_is_keyed_by_its_state(receiver, webhook_env):
    message = {"flowId": "ID02flow", "nodeId": "FLOW:1:2", "state": "approving"}

    assert receiver.send(ekuaibao(message)).status_code == 200
    assert [r["dedup_key"] for r in inbox_rows(webhook_env)] == ["ID02flow|FLOW:1:2|approving"]


def test_different_actions_on_one_node_are_different_events(receiver, webhook_env):
    for action in ("backlog.approving", "flow.rejected", "backlog.approving"):
        assert receiver.send(ekuaibao(ekuaibao_message(action=action))).status_code == 200

    assert [r["event_type"] for r in inbox_rows(webhook_env)] == ["backlog.approving", "flow.rejected"]


def _flip_in_key() -> Delivery:
    delivery = ekuaibao(ekuaibao_message())
    at = delivery.body.index(EKUAIBAO_SIGN_KEY.encode()) + 5
    body = bytearray(delivery.body)
    body[at] ^= 0x01
    delivery.body = bytes(body)
    return delivery


def _header_and_body(header_key: str, body_key: str) -> Delivery:
    delivery = ekuaibao(ekuaibao_message(), sign_key=body_key)
    delivery.headers["signKey"] = header_key
    return delivery


FORGED = {
    "missing signKey": (lambda: ekuaibao(ekuaibao_message(), sign_key=None), 401),
    "empty signKey": (lambda: ekuaibao(ekuaibao_message(), sign_key=""), 401),
    "signKey not a string": (lambda: ekuaibao({**ekuaibao_message(), "signKey": 12345}, sign_key=None), 401),
    "wrong signKey": (lambda: ekuaibao(ekuaibao_message(), sign_key="sk-guess"), 401),
    "wrong signKey header": (lambda: ekuaibao(ekuaibao_message(), sign_key="sk-guess", in_header=True), 401),
    "one byte flipped in the signKey": (_flip_in_key, 401),
    "right header, wrong body key": (lambda: _header_and_body(EKUAIBAO_SIGN_KEY, "sk-guess"), 401),
    "non-ASCII signKey": (lambda: ekuaibao(ekuaibao_message(), sign_key="签名秘钥"), 401),
    "no flowId": (lambda: ekuaibao({"nodeId": "FLOW:1:2", "action": "flow.paid"}), 400),
    "malformed JSON (key in header)": (
        lambda: Delivery(
            "POST",
            "/expense-sync/webhooks/ekuaibao",
            b'{"flowId": "ID01',
            {"Content-Type": "application/json", "signKey": EKUAIBAO_SIGN_KEY},
        ),
        400,
    ),
    "malformed JSON": (
        lambda: Delivery(
            "POST", "/expense-sync/webhooks/ekuaibao", b'{"flowId": "ID01', {"Content-Type": "application/json"}
        ),
        400,
    ),
    "JSON array": (
        lambda: Delivery("POST", "/expense-sync/webhooks/ekuaibao", b"[1, 2]", {"Content-Type": "application/json"}),
        400,
    ),
    "oversized body": (lambda: ekuaibao(ekuaibao_message(remark="备" * 100_000)), 413),
    "form content type": (lambda: ekuaibao(ekuaibao_message(), content_type="application/x-www-form-urlencoded"), 415),
    "no content type": (lambda: ekuaibao(ekuaibao_message(), content_type=""), 415),
}


@pytest.mark.parametrize("case", list(FORGED))
def test_forged_and_malformed_messages_are_refused_with_one_log_line(case, receiver, webhook_env, caplog):
    build, status = FORGED[case]

    response = receiver.send(build())

    assert response.status_code == status, response.text
    assert inbox_rows(webhook_env) == []
    [line] = refusals(caplog)
    assert "source=ekuaibao" in line and f"status={status}" in line
    assert EKUAIBAO_SIGN_KEY not in caplog.text and "sk-guess" not in caplog.text


def test_json_content_type_with_charset_is_accepted(receiver, webhook_env):
    delivery = ekuaibao(ekuaibao_message(), content_type="application/json;charset=UTF-8")

    assert receiver.send(delivery).status_code == 200


def test_replays_in_sequence_store_one_row(receiver, webhook_env):
    delivery = ekuaibao(ekuaibao_message())

    statuses = [receiver.send(delivery).json()["status"] for _ in range(50)]

    assert statuses == ["stored"] + ["duplicate"] * 49
    assert len(inbox_rows(webhook_env)) == 1


def test_a_refired_message_with_other_fields_is_the_same_event(receiver, webhook_env):
    """合思 re-fires an outbound message when a document loops through a fee-standard check."""
    first = ekuaibao(ekuaibao_message(currentApprovers=[{"id": "u1"}]))
    refired = ekuaibao(ekuaibao_message(currentApprovers=[{"id": "u2"}]))

    assert [receiver.send(d).json()["status"] for d in (first, refired)] == ["stored", "duplicate"]
    assert len(inbox_rows(webhook_env)) == 1


def test_fifty_concurrent_identical_messages_store_one_row(receiver, webhook_env):
    delivery = ekuaibao(ekuaibao_message())

    with ThreadPoolExecutor(50) as pool:
        responses = list(pool.map(lambda _: delivery.send(receiver.url), range(50)))

    assert [r.status_code for r in responses] == [200] * 50
    assert sorted(r.json()["status"] for r in responses) == ["duplicate"] * 49 + ["stored"]
    assert len(inbox_rows(webhook_env)) == 1


def test_several_configured_keys_are_each_accepted(receiver, webhook_env, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_EXPENSE_EKUAIBAO",
        json.dumps(
            {
                "conn_type": "http",
                "host": "127.0.0.1",
                "login": "k",
                "password": "p",
                "extra": {"outbound_sign_keys": ["sk-approval-events", EKUAIBAO_SIGN_KEY]},
            }
        ),
    )

    assert receiver.send(ekuaibao(ekuaibao_message(), sign_key="sk-approval-events")).status_code == 200
    assert receiver.send(ekuaibao(ekuaibao_message(action="flow.rejected"))).status_code == 200
    assert len(inbox_rows(webhook_env)) == 2


def test_without_sign_keys_the_sender_is_not_configured(receiver, webhook_env, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_EXPENSE_EKUAIBAO",
        json.dumps({"conn_type": "http", "host": "127.0.0.1", "login": "k", "password": "p", "extra": {}}),
    )

    assert receiver.send(ekuaibao(ekuaibao_message())).status_code == 404


def test_an_unknown_extra_is_a_misconfiguration(receiver, webhook_env, monkeypatch, caplog):
    monkeypatch.setenv(
        "AIRFLOW_CONN_EXPENSE_EKUAIBAO",
        json.dumps(
            {
                "conn_type": "http",
                "host": "127.0.0.1",
                "login": "k",
                "password": "p",
                "extra": {"outbound_sign_key": EKUAIBAO_SIGN_KEY},
            }
        ),
    )

    assert receiver.send(ekuaibao(ekuaibao_message())).status_code == 503
    [line] = refusals(caplog)
    assert "invalid extras: outbound_sign_key" in line and EKUAIBAO_SIGN_KEY not in caplog.text


def _queued(conn) -> list[tuple]:
    return conn.execute(
        "SELECT kind, source_system, entity, record_key, reason_code, reason, record, occurrences"
        " FROM sync.exception_item ORDER BY item_id"
    ).fetchall()


def test_a_lone_surrogate_is_refused_once_and_kept_for_a_person(receiver, webhook_env, caplog):
    message = ekuaibao_message(title="报销 \ud800 broken", signKey=EKUAIBAO_SIGN_KEY)
    body = json.dumps(message).encode()  # ASCII: the surrogate travels as the escape \ud800
    delivery = Delivery("POST", "/expense-sync/webhooks/ekuaibao", body, {"Content-Type": "application/json"})

    first, retry = receiver.send(delivery), receiver.send(delivery)

    assert (first.status_code, retry.status_code) == (400, 400)  # refused for good, not 503 for ever
    assert first.json() == {"error": "body has a lone surrogate"}
    assert inbox_rows(webhook_env) == []
    [(kind, system, entity, key, code, reason, record, occurrences)] = _queued(webhook_env)
    assert (kind, system, entity, key, code) == (
        "quarantine",
        "ekuaibao",
        "webhook_event",
        "ID01flow|FLOW:251847192:631543649|flow.paid",
        "webhook_payload_unstorable",
    )
    assert "lone surrogate" in reason and occurrences == 2
    assert record["subject"] == "ID01flow" and "报销 \\ud800 broken" in record["payload"]
    assert EKUAIBAO_SIGN_KEY not in json.dumps(record)
    assert len(refusals(caplog)) == 2
