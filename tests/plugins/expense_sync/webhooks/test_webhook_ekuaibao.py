"""合思 outbound messages: unsigned JSON, a trigger guarded by a secret path token, an optional
address allow-list and a per-address token bucket; signed (Standard Webhooks) senders still verified.

合思 has no timestamp and no body signature (docs/vendors/ekuaibao.md, "Outbound messages"): the
content is never trusted, the claim intake re-reads the document by ``flowId``.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import uvicorn
from webhook_senders import (
    EKUAIBAO_PATH,
    EKUAIBAO_PATH_TOKEN,
    EKUAIBAO_SIGN_KEY,
    Delivery,
    ekuaibao,
    ekuaibao_message,
    standard,
)
from webhook_testkit import inbox_rows, refusals

from expense_sync.webhooks import create_app
from expense_sync.webhooks.config import ReceiverSettings
from testkit import free_port

TEST_SETTINGS = ReceiverSettings(notify_interval=0.0, config_ttl=0.0, rate_burst=100_000)  # as conftest's


def connection(login: str, **extra) -> str:
    return json.dumps(
        {"conn_type": "http", "host": "127.0.0.1", "port": 9, "login": login, "password": "app-secret", "extra": extra}
    )


def _configure(monkeypatch, **extra) -> None:
    extra.setdefault("outbound_path_tokens", [EKUAIBAO_PATH_TOKEN])
    monkeypatch.setenv("AIRFLOW_CONN_EXPENSE_EKUAIBAO", connection("ekb-appkey", **extra))


def _unknown_path(receiver) -> requests.Response:
    return receiver.send(Delivery("POST", "/expense-sync/no/such/path", b"{}", {"Content-Type": "application/json"}))


# -- the secret path ----------------------------------------------------------------------------
def test_an_unsigned_message_on_the_secret_path_is_stored_as_sent(receiver, webhook_env):
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
    assert row["payload"] == message
    receiver.notifications.wait()
    assert receiver.notifications.calls == [{"events": 1, "sources": {"ekuaibao": 1}}]


@pytest.mark.parametrize(
    "token",
    [
        None,  # the bare path
        "pt-guess-0000000000000",
        EKUAIBAO_PATH_TOKEN[:-1],
        EKUAIBAO_PATH_TOKEN + "x",
        EKUAIBAO_PATH_TOKEN.upper(),
        "签名秘钥签名秘钥签名秘钥签名秘钥",
    ],
)
def test_a_wrong_or_missing_token_is_answered_as_an_unknown_path(receiver, webhook_env, caplog, token):
    response = receiver.send(ekuaibao(ekuaibao_message(), token=token))
    unknown = _unknown_path(receiver)

    assert (
        (response.status_code, response.json())
        == (unknown.status_code, unknown.json())
        == (
            404,
            {"detail": "Not Found"},
        )
    )
    assert inbox_rows(webhook_env) == []
    [line] = refusals(caplog)
    assert "source=ekuaibao status=404" in line and EKUAIBAO_PATH_TOKEN not in caplog.text


def test_the_sign_key_does_not_authenticate_a_message(receiver, webhook_env):
    """合思 never sends the signKey (it is for the E-Bot callback): carrying it opens nothing."""
    message = ekuaibao_message(signKey=EKUAIBAO_SIGN_KEY)

    assert receiver.send(ekuaibao(message, token=None)).status_code == 404
    assert receiver.send(ekuaibao(message)).status_code == 200
    [row] = inbox_rows(webhook_env)
    assert "signKey" not in row["payload"]


def test_each_configured_token_is_accepted_while_one_replaces_another(receiver, webhook_env, monkeypatch):
    _configure(monkeypatch, outbound_path_tokens=["pt-new-token-0123456789", EKUAIBAO_PATH_TOKEN])

    assert receiver.send(ekuaibao(ekuaibao_message(), token="pt-new-token-0123456789")).status_code == 200
    assert receiver.send(ekuaibao(ekuaibao_message(action="flow.rejected"))).status_code == 200
    assert len(inbox_rows(webhook_env)) == 2


def test_without_tokens_or_signing_secrets_the_sender_is_not_configured(receiver, webhook_env, monkeypatch):
    _configure(monkeypatch, outbound_path_tokens=[])
    monkeypatch.delenv("AIRFLOW_VAR_EXPENSE_SYNC_WEBHOOK_SECRETS")

    assert receiver.send(ekuaibao(ekuaibao_message())).status_code == 404


@pytest.mark.parametrize(
    "extra, field",
    [
        ({"outbound_path_tokens": ["short"]}, "outbound_path_tokens"),
        ({"outbound_allowed_cidrs": ["10.0.0.0/33"]}, "outbound_allowed_cidrs"),
        ({"outbound_sign_key": EKUAIBAO_SIGN_KEY}, "invalid extras: outbound_sign_key"),
    ],
)
def test_bad_settings_are_a_misconfiguration(receiver, webhook_env, monkeypatch, caplog, extra, field):
    _configure(monkeypatch, **extra)

    assert receiver.send(ekuaibao(ekuaibao_message())).status_code == 503
    [line] = refusals(caplog)
    assert field in line and EKUAIBAO_SIGN_KEY not in caplog.text


# -- senders that sign ----------------------------------------------------------------------------
def _signed(message: dict, path: str = "/expense-sync/webhooks/ekuaibao", **kwargs) -> Delivery:
    delivery = standard(json.dumps(message, ensure_ascii=False).encode(), **kwargs)
    delivery.path = path
    return delivery


def test_a_signed_message_is_verified_and_needs_no_token(receiver, webhook_env):
    assert receiver.send(_signed(ekuaibao_message())).status_code == 200
    [row] = inbox_rows(webhook_env)
    assert (row["source"], row["subject"]) == ("ekuaibao", "ID01flow")


@pytest.mark.parametrize("path", ["/expense-sync/webhooks/ekuaibao", EKUAIBAO_PATH])
def test_a_wrongly_signed_message_is_refused_even_on_the_secret_path(receiver, webhook_env, caplog, path):
    wrong_secret = _signed(ekuaibao_message(), path, secrets=("whsec_" + "QUJD" * 8,))
    tampered = _signed(ekuaibao_message(), path)
    tampered.body = tampered.body.replace(b"ID01flow", b"ID02flow")

    assert [receiver.send(d).status_code for d in (wrong_secret, tampered)] == [401, 401]
    assert inbox_rows(webhook_env) == []


# -- who may post -----------------------------------------------------------------------------------
def test_an_address_outside_the_allow_list_is_refused(receiver, webhook_env, monkeypatch, caplog):
    _configure(monkeypatch, outbound_allowed_cidrs=["10.0.0.0/8", "2001:db8::/32"])

    response = receiver.send(ekuaibao(ekuaibao_message()))

    assert response.status_code == 403 and inbox_rows(webhook_env) == []
    [line] = refusals(caplog)
    assert "status=403 reason=source address not allowed" in line


def test_an_address_inside_the_allow_list_is_accepted(receiver, webhook_env, monkeypatch):
    _configure(monkeypatch, outbound_allowed_cidrs=["10.0.0.0/8", "127.0.0.0/8"])

    assert receiver.send(ekuaibao(ekuaibao_message())).status_code == 200


def _from(address_chain: str) -> Delivery:
    delivery = ekuaibao(ekuaibao_message())
    delivery.headers["X-Forwarded-For"] = address_chain
    return delivery


@pytest.fixture
def served_as_standalone():
    """``serve(trusted_proxies)``: the receiver under uvicorn without uvicorn's own proxy-header
    handling, as ``python -m expense_sync.webhooks`` runs it (uvicorn's default would already
    believe X-Forwarded-For from 127.0.0.1)."""
    servers = []

    def serve(trusted_proxies: str = "") -> str:
        settings = ReceiverSettings(**{**vars(TEST_SETTINGS), "trusted_proxies": trusted_proxies})
        app = create_app(notifier=None, settings=settings, prefix="/expense-sync")
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", proxy_headers=False)
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        servers.append((server, thread))
        deadline = time.monotonic() + 15
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline
            time.sleep(0.01)
        return f"http://127.0.0.1:{port}"

    yield serve
    for server, thread in servers:
        server.should_exit = True
        thread.join(15)


def test_forwarded_for_is_believed_only_from_trusted_proxies(served_as_standalone, webhook_env, monkeypatch):
    _configure(monkeypatch, outbound_allowed_cidrs=["203.0.113.0/24"])
    direct = RunningUrl(served_as_standalone())
    proxied = RunningUrl(served_as_standalone("127.0.0.1/32"))

    assert direct.send(_from("203.0.113.7")).status_code == 403  # no trusted proxy: the header is anyone's
    assert proxied.send(_from("203.0.113.7")).status_code == 200
    assert proxied.send(_from("203.0.113.7, 198.51.100.1")).status_code == 403  # the proxy saw 198.51.100.1
    assert proxied.send(_from("198.51.100.1, 203.0.113.7")).status_code == 200  # the left one is the client's say


class RunningUrl:
    def __init__(self, url: str) -> None:
        self.url = url

    def send(self, delivery: Delivery) -> requests.Response:
        return delivery.send(self.url)


# -- rate limit -------------------------------------------------------------------------------------
def test_beyond_its_bucket_an_address_gets_429_with_retry_after(start_receiver, webhook_env, caplog):
    settings = ReceiverSettings(
        **{**vars(TEST_SETTINGS), "rate_burst": 3, "rate_per_second": 0.1, "trusted_proxies": "127.0.0.1/32"}
    )
    receiver = start_receiver(settings=settings)

    answers = [receiver.send(_from("203.0.113.7")) for _ in range(4)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[-1].headers["Retry-After"] == "10"
    assert receiver.send(_from("203.0.113.8")).status_code == 200  # another address, another bucket
    assert receiver.send(standard({"type": "claim.approved", "data": {}})).status_code == 200  # signed senders
    assert "status=429 reason=too many requests" in caplog.text


# -- the message itself -----------------------------------------------------------------------------
def test_an_approval_event_without_action_is_keyed_by_its_state(receiver, webhook_env):
    message = {"flowId": "ID02flow", "nodeId": "FLOW:1:2", "state": "approving"}

    assert receiver.send(ekuaibao(message)).status_code == 200
    assert [r["dedup_key"] for r in inbox_rows(webhook_env)] == ["ID02flow|FLOW:1:2|approving"]


def test_different_actions_on_one_node_are_different_events(receiver, webhook_env):
    for action in ("backlog.approving", "flow.rejected", "backlog.approving"):
        assert receiver.send(ekuaibao(ekuaibao_message(action=action))).status_code == 200

    assert [r["event_type"] for r in inbox_rows(webhook_env)] == ["backlog.approving", "flow.rejected"]


MALFORMED = {
    "no flowId": (lambda: ekuaibao({"nodeId": "FLOW:1:2", "action": "flow.paid"}), 400),
    "malformed JSON": (
        lambda: Delivery("POST", EKUAIBAO_PATH, b'{"flowId": "ID01', {"Content-Type": "application/json"}),
        400,
    ),
    "JSON array": (lambda: Delivery("POST", EKUAIBAO_PATH, b"[1, 2]", {"Content-Type": "application/json"}), 400),
    "oversized body": (lambda: ekuaibao(ekuaibao_message(remark="备" * 100_000)), 413),
    "form content type": (lambda: ekuaibao(ekuaibao_message(), content_type="application/x-www-form-urlencoded"), 415),
    "no content type": (lambda: ekuaibao(ekuaibao_message(), content_type=""), 415),
}


# every way a delivery is refused for good (also the inbound reliability scenarios' bad cases)
FORGED = {
    "bare path": (lambda: ekuaibao(ekuaibao_message(), token=None), 404),
    "wrong token": (lambda: ekuaibao(ekuaibao_message(), token="pt-guess-0000000000000"), 404),
    "the signKey on the bare path": (lambda: ekuaibao(ekuaibao_message(signKey=EKUAIBAO_SIGN_KEY), token=None), 404),
    "wrongly signed": (lambda: _signed(ekuaibao_message(), EKUAIBAO_PATH, secrets=("whsec_" + "QUJD" * 8,)), 401),
    **MALFORMED,
}


@pytest.mark.parametrize("case", list(FORGED))
def test_forged_and_malformed_messages_are_refused_with_one_log_line(case, receiver, webhook_env, caplog):
    build, status = FORGED[case]

    response = receiver.send(build())

    assert response.status_code == status, response.text
    assert inbox_rows(webhook_env) == []
    [line] = refusals(caplog)
    assert "source=ekuaibao" in line and f"status={status}" in line
    assert EKUAIBAO_PATH_TOKEN not in caplog.text


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


def _queued(conn) -> list[tuple]:
    return conn.execute(
        "SELECT kind, source_system, entity, record_key, reason_code, reason, record, occurrences"
        " FROM sync.exception_item ORDER BY item_id"
    ).fetchall()


def test_a_lone_surrogate_is_refused_once_and_kept_for_a_person(receiver, webhook_env, caplog):
    message = ekuaibao_message(title="报销 \ud800 broken")
    body = json.dumps(message).encode()  # ASCII: the surrogate travels as the escape \ud800
    delivery = Delivery("POST", EKUAIBAO_PATH, body, {"Content-Type": "application/json"})

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
    assert len(refusals(caplog)) == 2
