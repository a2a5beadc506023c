"""DingTalk HTTP event pushes, sealed with dingtalk-sdk's own crypto (R1, R3) and the test vector."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from webhook_senders import (
    DINGTALK_AES_KEY,
    DINGTALK_TOKEN,
    TOLERANCE,
    Delivery,
    dingtalk,
    dingtalk_crypto,
    dingtalk_event,
    dingtalk_reply_text,
    now_ms,
)
from webhook_testkit import inbox_rows, refusals

from expense_sync.webhooks import dingtalk as receiver_dingtalk
from expense_sync.webhooks.delivery import Delivery as ReceivedDelivery
from expense_sync.webhooks.errors import Rejected
from expense_sync.webhooks.msgcrypt import MsgCrypt

VECTOR = {  # docs/vendors/research.md §2.3, from 007gzs/dingtalk-sdk tests/test_crypto.py
    "token": "123456",
    "aes_key": "4g5j64qlyl3zvetqxz5jiocdr586fn2zvjpa8zls3ij",
    "owner_key": "suite4xxxxxxxxxxxxxxx",
    "timestamp": "1445827045067",
    "nonce": "nEXhMP4r",
    "signature": "5a65ceeef9aab2d149439f82dc191dd6c5cbe2c0",
    "encrypt": "1a3NBxmCFwkCJvfoQ7WhJHB+iX3qHPsc9JbaDznE1i03peOk1LaOQoRz3+nlyGNhwmwJ3vDMG+OzrHMeiZI7gT"
    "RWVdUBmfxjZ8Ej23JVYa9VrYeJ5as7XM/ZpulX8NEQis44w53h1qAgnC3PRzM7Zc/D6Ibr0rgUathB6zRHP8PYrfg"
    "nNOS9PhSBdHlegK+AGGanfwjXuQ9+0pZcy0w9lQ==",
    "plaintext": '{"EventType":"check_create_suite_url","Random":"LPIdSnlF","TestSuiteKey":"suite4xxxxxxxxxxxxxxx"}',
}


def test_the_research_test_vector_verifies_and_decrypts_exactly():
    crypt = MsgCrypt(VECTOR["token"], VECTOR["aes_key"], VECTOR["owner_key"])

    crypt.check_signature(VECTOR["signature"], VECTOR["timestamp"], VECTOR["nonce"], VECTOR["encrypt"])
    assert crypt.decrypt(VECTOR["encrypt"]).decode() == VECTOR["plaintext"]


def test_the_test_vector_goes_through_the_verifier_at_its_own_time():
    callback = receiver_dingtalk.Callback(MsgCrypt(VECTOR["token"], VECTOR["aes_key"], VECTOR["owner_key"]))
    query = {"msg_signature": VECTOR["signature"], "timestamp": VECTOR["timestamp"], "nonce": VECTOR["nonce"]}
    body = json.dumps({"encrypt": VECTOR["encrypt"]}).encode()
    delivery = ReceivedDelivery("POST", {}, query, body, "127.0.0.1")

    event = receiver_dingtalk.verify(delivery, callback, int(VECTOR["timestamp"]) / 1000)

    assert json.loads(event.payload_json) == json.loads(VECTOR["plaintext"])
    assert event.event_type == "check_create_suite_url"
    with pytest.raises(Rejected) as stale:
        receiver_dingtalk.verify(delivery, callback, time.time())
    assert (stale.value.status, stale.value.reason) == (401, "timestamp too old")


def test_the_sdk_can_open_what_the_receiver_seals():
    crypt = MsgCrypt(DINGTALK_TOKEN, DINGTALK_AES_KEY, "dingtestappkey0001")
    encrypt = crypt.encrypt("审批完成".encode())

    opened = dingtalk_crypto().decrypt_encrypt_str(crypt.sign("1", "n", encrypt), "1", "n", encrypt)
    assert opened == "审批完成"


def test_an_approval_event_is_stored_once_and_answered_with_encrypted_success(receiver, webhook_env):
    event = dingtalk_event()

    response = receiver.send(dingtalk(event))

    assert response.status_code == 200
    assert dingtalk_reply_text(response.json()) == "success"
    [row] = inbox_rows(webhook_env)
    assert (row["source"], row["event_type"], row["subject"]) == ("dingtalk", "bpms_instance_change", "proc-0001")
    assert row["dedup_key"] == (
        "bpms_instance_change|dingcorp01|proc-0001||finish|agree||||1700000000000|1700000500000"
    )
    assert row["payload"] == event
    assert set(row["headers"]) == {"content-type", "user-agent", "?timestamp", "?nonce"}
    receiver.notifications.wait()
    assert receiver.notifications.calls == [{"events": 1, "sources": {"dingtalk": 1}}]


def test_check_url_is_answered_and_not_stored(receiver, webhook_env):
    response = receiver.send(dingtalk({"EventType": "check_url"}))

    assert response.status_code == 200 and dingtalk_reply_text(response.json()) == "success"
    assert inbox_rows(webhook_env) == []
    assert receiver.notifications.calls == []


def test_the_older_signature_parameter_name_is_accepted(receiver, webhook_env):
    assert receiver.send(dingtalk(dingtalk_event(), signature_param="signature")).status_code == 200


def test_an_address_book_event_is_keyed_by_its_users_and_time(receiver, webhook_env):
    event = {
        "EventType": "user_leave_org",
        "CorpId": "dingcorp01",
        "UserId": ["u1", "u2"],
        "TimeStamp": "1700000000123",
    }

    assert receiver.send(dingtalk(event)).status_code == 200
    assert [r["dedup_key"] for r in inbox_rows(webhook_env)] == ["user_leave_org|dingcorp01|||||u1,u2||1700000000123||"]


def test_an_event_id_is_the_dedup_key_when_there_is_one(receiver, webhook_env):
    first = dingtalk(dingtalk_event(eventId="evt-42", title="first"))
    again = dingtalk(dingtalk_event(eventId="evt-42", title="re-pushed"))

    assert receiver.send(first).status_code == receiver.send(again).status_code == 200
    assert [r["dedup_key"] for r in inbox_rows(webhook_env)] == ["eventId|evt-42"]


def _drop(param: str) -> Delivery:
    delivery = dingtalk(dingtalk_event())
    del delivery.params[param]
    return delivery


def _flip_encrypt(position: int) -> Delivery:
    delivery = dingtalk(dingtalk_event())
    envelope = json.loads(delivery.body)
    text = envelope["encrypt"]
    flipped = "A" if text[position] != "A" else "B"
    delivery.body = json.dumps({"encrypt": text[:position] + flipped + text[position + 1 :]}).encode()
    return delivery


def _other_token() -> Delivery:
    delivery = dingtalk(dingtalk_event())
    from dingtalk.crypto import _get_signature

    envelope = json.loads(delivery.body)
    delivery.params["msg_signature"] = _get_signature(
        "guessed-token", delivery.params["timestamp"], delivery.params["nonce"], envelope["encrypt"]
    )
    return delivery


def _sealed_text(text: str) -> Delivery:
    timestamp = now_ms()
    sealed = dingtalk_crypto().encrypt_message(text, nonce="n1", timestamp=timestamp)
    body = json.dumps({"encrypt": sealed["encrypt"]}).encode()
    return Delivery(
        "POST",
        "/expense-sync/webhooks/dingtalk",
        body,
        {"Content-Type": "application/json"},
        {"msg_signature": sealed["msg_signature"], "timestamp": str(timestamp), "nonce": "n1"},
    )


def _body(body: bytes, content_type: str = "application/json") -> Delivery:
    delivery = dingtalk(dingtalk_event())
    delivery.body, delivery.headers["Content-Type"] = body, content_type
    return delivery


FORGED = {
    "missing msg_signature": (lambda: _drop("msg_signature"), 401),
    "missing timestamp": (lambda: _drop("timestamp"), 400),
    "missing nonce": (lambda: _drop("nonce"), 400),
    "signature by another token": (_other_token, 401),
    "one byte flipped in encrypt": (lambda: _flip_encrypt(40), 401),
    "timestamp tolerance+1 s old": (
        lambda: dingtalk(dingtalk_event(), timestamp=now_ms() - (TOLERANCE + 1) * 1000),
        401,
    ),
    "timestamp tolerance+1 s ahead": (
        lambda: dingtalk(dingtalk_event(), timestamp=now_ms() + (TOLERANCE + 2) * 1000),
        401,
    ),
    "timestamp in seconds, not ms": (lambda: dingtalk(dingtalk_event(), timestamp=int(time.time())), 401),
    "sealed for another app": (lambda: dingtalk(dingtalk_event(), owner_key="dingotherapp"), 401),
    "no encrypt field": (lambda: _body(b'{"Encrypt": "abc"}'), 400),
    "encrypt not a string": (lambda: _body(b'{"encrypt": 42}'), 400),
    "malformed JSON": (lambda: _body(b'{"encrypt": '), 400),
    "event is not JSON": (lambda: _sealed_text("<xml>not json</xml>"), 400),
    "event without EventType": (lambda: _sealed_text('{"processInstanceId": "p1"}'), 400),
    "oversized body": (lambda: _body(b'{"encrypt": "' + b"A" * (256 * 1024) + b'"}'), 413),
    "wrong content type": (lambda: _body(dingtalk(dingtalk_event()).body, "text/xml"), 415),
}


@pytest.mark.parametrize("case", list(FORGED))
def test_forged_stale_and_malformed_pushes_are_refused_with_one_log_line(case, receiver, webhook_env, caplog):
    build, status = FORGED[case]

    response = receiver.send(build())

    assert response.status_code == status, response.text
    assert inbox_rows(webhook_env) == []
    [line] = refusals(caplog)
    assert "source=dingtalk" in line and f"status={status}" in line
    assert DINGTALK_TOKEN not in caplog.text and DINGTALK_AES_KEY not in caplog.text


def test_replays_in_sequence_store_one_row_and_all_get_success(receiver, webhook_env):
    delivery = dingtalk(dingtalk_event())

    replies = [receiver.send(delivery) for _ in range(50)]

    assert {r.status_code for r in replies} == {200}
    assert {dingtalk_reply_text(r.json()) for r in replies} == {"success"}
    assert len(inbox_rows(webhook_env)) == 1


def test_a_repush_sealed_again_is_the_same_event(receiver, webhook_env):
    event = dingtalk_event()

    assert receiver.send(dingtalk(event, nonce="first")).status_code == 200
    assert receiver.send(dingtalk(event, nonce="second", timestamp=now_ms() + 1000)).status_code == 200
    assert len(inbox_rows(webhook_env)) == 1


def test_fifty_concurrent_identical_pushes_store_one_row(receiver, webhook_env):
    delivery = dingtalk(dingtalk_event())

    with ThreadPoolExecutor(50) as pool:
        responses = list(pool.map(lambda _: delivery.send(receiver.url), range(50)))

    assert [r.status_code for r in responses] == [200] * 50
    assert len(inbox_rows(webhook_env)) == 1


def test_start_and_finish_of_one_approval_are_two_events(receiver, webhook_env):
    start = dingtalk_event(kind="start", result="", finishTime=None)

    assert receiver.send(dingtalk(start)).status_code == 200
    assert receiver.send(dingtalk(dingtalk_event())).status_code == 200
    assert [r["subject"] for r in inbox_rows(webhook_env)] == ["proc-0001", "proc-0001"]


def test_the_owner_key_can_be_configured(receiver, webhook_env, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_OA_DINGTALK",
        json.dumps(
            {
                "conn_type": "http",
                "host": "127.0.0.1",
                "login": "dingtestappkey0001",
                "password": "s",
                "extra": {
                    "callback_token": DINGTALK_TOKEN,
                    "callback_aes_key": DINGTALK_AES_KEY,
                    "callback_owner_key": "dingcorp01",
                },
            }
        ),
    )

    assert receiver.send(dingtalk(dingtalk_event(), owner_key="dingcorp01")).status_code == 200
    assert receiver.send(dingtalk(dingtalk_event(kind="x"))).status_code == 401  # sealed for the AppKey


def test_a_bad_aes_key_is_a_misconfiguration(receiver, webhook_env, monkeypatch, caplog):
    monkeypatch.setenv(
        "AIRFLOW_CONN_OA_DINGTALK",
        json.dumps(
            {
                "conn_type": "http",
                "host": "127.0.0.1",
                "login": "dingtestappkey0001",
                "password": "s",
                "extra": {"callback_token": DINGTALK_TOKEN, "callback_aes_key": "!" * 43},
            }
        ),
    )

    assert receiver.send(dingtalk(dingtalk_event())).status_code == 503
    [line] = refusals(caplog)
    assert "callback_aes_key is not an EncodingAESKey" in line


def test_a_lone_surrogate_in_a_sealed_event_is_refused_and_kept_for_a_person(receiver, webhook_env):
    delivery = _sealed_text(json.dumps(dingtalk_event(instance="proc-surrogate", title="\ud800")))  # as the escape

    first, retry = receiver.send(delivery), receiver.send(delivery)

    assert (first.status_code, retry.status_code) == (400, 400)  # refused for good, not 503 for ever
    assert inbox_rows(webhook_env) == []
    [(source, entity, reason_code, record)] = webhook_env.execute(
        "SELECT source_system, entity, reason_code, record FROM sync.exception_item"
    ).fetchall()
    assert (source, entity, reason_code) == ("dingtalk", "webhook_event", "webhook_payload_unstorable")
    assert record["subject"] == "proc-surrogate" and "\\ud800" in record["payload"]
