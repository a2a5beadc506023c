"""WeCom callbacks, sealed with wechatpy's own crypto (R1, R3): URL check and encrypted XML events."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from webhook_senders import (
    TOLERANCE,
    WECOM_AES_KEY,
    WECOM_CORP_ID,
    WECOM_TOKEN,
    Delivery,
    wecom,
    wecom_approval_event,
    wecom_event,
    wecom_url_check,
)
from webhook_testkit import inbox_rows, refusals


def test_the_url_check_answers_the_decrypted_echostr_in_plain_text(receiver, webhook_env):
    response = receiver.send(wecom_url_check("1616140317555161061"))

    assert response.status_code == 200 and response.text == "1616140317555161061"
    assert response.headers["content-type"].startswith("text/plain")
    assert inbox_rows(webhook_env) == []


def test_the_url_check_survives_an_unescaped_plus_in_echostr(receiver, webhook_env):
    delivery = wecom_url_check("echo-with-plus")
    url = f"{receiver.url}{delivery.path}?" + "&".join(f"{k}={v}" for k, v in delivery.params.items())

    response = receiver.session.get(url, timeout=10)

    assert response.status_code == 200 and response.text == "echo-with-plus"


ECHO = "plain-echo-7731"


def _url_check_without(param: str) -> Delivery:
    delivery = wecom_url_check(ECHO)
    del delivery.params[param]
    return delivery


URL_CHECKS_FORGED = {
    "missing msg_signature": (lambda: _url_check_without("msg_signature"), 401),
    "missing echostr": (lambda: _url_check_without("echostr"), 400),
    "missing timestamp": (lambda: _url_check_without("timestamp"), 400),
    "stale": (lambda: wecom_url_check(ECHO, timestamp=int(time.time()) - TOLERANCE - 1), 401),
    "sealed for another corp": (lambda: wecom_url_check(ECHO, corp_id="wwothercorp"), 401),
}


@pytest.mark.parametrize("case", list(URL_CHECKS_FORGED))
def test_forged_url_checks_are_refused(case, receiver, webhook_env, caplog):
    build, status = URL_CHECKS_FORGED[case]

    response = receiver.send(build())

    assert response.status_code == status and ECHO not in response.text
    [line] = refusals(caplog)
    assert "source=wecom" in line


def test_a_contact_event_is_stored_once_and_answered_success(receiver, webhook_env):
    response = receiver.send(wecom(wecom_event()))

    assert response.status_code == 200 and response.text == "success"
    [row] = inbox_rows(webhook_env)
    assert (row["source"], row["event_type"], row["subject"]) == ("wecom", "change_contact/update_user", None)
    assert row["dedup_key"] == f"{WECOM_CORP_ID}|change_contact|update_user|zhangsan|||||1700000000"
    assert row["payload"] == {
        "ToUserName": WECOM_CORP_ID,
        "FromUserName": "sys",
        "CreateTime": "1700000000",
        "MsgType": "event",
        "Event": "change_contact",
        "ChangeType": "update_user",
        "UserID": "zhangsan",
        "Name": "张三",
        "Department": "1,2",
    }
    receiver.notifications.wait()
    assert receiver.notifications.calls == [{"events": 1, "sources": {"wecom": 1}}]


def test_an_approval_event_names_its_approval_number(receiver, webhook_env):
    assert receiver.send(wecom(wecom_approval_event(), content_type="application/xml")).status_code == 200

    [row] = inbox_rows(webhook_env)
    assert (row["event_type"], row["subject"]) == ("sys_approval_change", "202611240001")
    assert row["payload"]["ApprovalInfo"]["Notifyer"] == [{"UserId": "u1"}, {"UserId": "u2"}]


def test_status_changes_of_one_approval_are_separate_events(receiver, webhook_env):
    for status, created in ((1, 1700000000), (2, 1700000100), (2, 1700000100)):
        delivery = wecom(wecom_approval_event(status=status, create_time=created))
        assert receiver.send(delivery).status_code == 200

    assert len(inbox_rows(webhook_env)) == 2


def _drop(param: str) -> Delivery:
    delivery = wecom(wecom_event())
    del delivery.params[param]
    return delivery


def _flip_encrypt() -> Delivery:
    delivery = wecom(wecom_event())
    at = delivery.body.index(b"<![CDATA[", delivery.body.index(b"<Encrypt>")) + 30
    body = bytearray(delivery.body)
    body[at] = ord("A") if body[at] != ord("A") else ord("B")
    delivery.body = bytes(body)
    return delivery


def _body(body: bytes, content_type: str = "text/xml") -> Delivery:
    delivery = wecom(wecom_event())
    delivery.body, delivery.headers["Content-Type"] = body, content_type
    return delivery


def _other_token() -> Delivery:
    from webhook_senders import xmltodict
    from wechatpy.crypto import _get_signature

    delivery = wecom(wecom_event())
    encrypt = xmltodict.parse(delivery.body)["xml"]["Encrypt"]
    delivery.params["msg_signature"] = _get_signature(
        "guessed", delivery.params["timestamp"], delivery.params["nonce"], encrypt
    )
    return delivery


BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
    b"<xml><Encrypt>&lol2;</Encrypt></xml>"
)

FORGED = {
    "missing msg_signature": (lambda: _drop("msg_signature"), 401),
    "missing timestamp": (lambda: _drop("timestamp"), 400),
    "missing nonce": (lambda: _drop("nonce"), 400),
    "signature by another token": (_other_token, 401),
    "one byte flipped in Encrypt": (_flip_encrypt, 401),
    "timestamp tolerance+1 s old": (lambda: wecom(wecom_event(), timestamp=int(time.time()) - TOLERANCE - 1), 401),
    "timestamp tolerance+1 s ahead": (lambda: wecom(wecom_event(), timestamp=int(time.time()) + TOLERANCE + 2), 401),
    "sealed for another corp": (lambda: wecom(wecom_event(), corp_id="wwothercorp"), 401),
    "no Encrypt element": (lambda: _body(b"<xml><ToUserName>x</ToUserName></xml>"), 400),
    "malformed XML": (lambda: _body(b"<xml><Encrypt>abc</Encrypt>"), 400),
    "entity expansion (DTD)": (lambda: _body(BILLION_LAUGHS), 400),
    "JSON instead of XML": (lambda: _body(b'{"Encrypt": "abc"}', "application/json"), 415),
    "oversized body": (lambda: _body(b"<xml><Encrypt>" + b"A" * (256 * 1024) + b"</Encrypt></xml>"), 413),
    "no content type": (lambda: _body(wecom(wecom_event()).body, ""), 415),
}


@pytest.mark.parametrize("case", list(FORGED))
def test_forged_stale_and_malformed_events_are_refused_with_one_log_line(case, receiver, webhook_env, caplog):
    build, status = FORGED[case]

    response = receiver.send(build())

    assert response.status_code == status, response.text
    assert inbox_rows(webhook_env) == []
    [line] = refusals(caplog)
    assert "source=wecom" in line and f"status={status}" in line
    assert WECOM_TOKEN not in caplog.text and WECOM_AES_KEY not in caplog.text


def test_replays_in_sequence_store_one_row(receiver, webhook_env):
    delivery = wecom(wecom_event())

    responses = [receiver.send(delivery) for _ in range(50)]

    assert {(r.status_code, r.text) for r in responses} == {(200, "success")}
    assert len(inbox_rows(webhook_env)) == 1


def test_fifty_concurrent_identical_events_store_one_row(receiver, webhook_env):
    delivery = wecom(wecom_event())

    with ThreadPoolExecutor(50) as pool:
        responses = list(pool.map(lambda _: delivery.send(receiver.url), range(50)))

    assert [r.status_code for r in responses] == [200] * 50
    assert len(inbox_rows(webhook_env)) == 1
