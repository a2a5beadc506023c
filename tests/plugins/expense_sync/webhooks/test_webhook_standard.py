"""Standard Webhooks deliveries: signed with the standardwebhooks library (R1, R2, R3)."""

from __future__ import annotations

import base64
import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook
from webhook_senders import (
    STANDARD_OLD_SECRET,
    STANDARD_SECRET,
    TOLERANCE,
    Delivery,
    standard,
    standard_by_hand,
    standard_payload,
)
from webhook_testkit import inbox_rows, refusals

VECTOR = {
    "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
    "timestamp": 1614265330,
    "body": '{"test": 2432232314}',
    "signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
}


def test_a_signed_event_is_stored_once_and_announced(receiver, webhook_env):
    payload = standard_payload()
    delivery = standard(payload, msg_id="msg_0001")

    response = receiver.send(delivery)

    assert response.status_code == 200 and response.json() == {"status": "stored"}
    [row] = inbox_rows(webhook_env)
    assert (row["source"], row["dedup_key"], row["event_type"], row["status"]) == (
        "standard",
        "msg_0001",
        "claim.approved",
        "new",
    )
    assert row["payload"] == payload
    assert set(row["headers"]) == {"content-type", "user-agent", "webhook-id", "webhook-timestamp"}
    receiver.notifications.wait()
    assert receiver.notifications.calls[0] == {"events": 1, "sources": {"standard": 1}}


def test_the_spec_test_vector_signs_as_published_and_is_refused_as_stale(receiver, webhook_env):
    moment = datetime.fromtimestamp(VECTOR["timestamp"], tz=UTC)
    assert Webhook(VECTOR["secret"]).sign(VECTOR["id"], moment, VECTOR["body"]) == VECTOR["signature"]

    response = receiver.send(
        Delivery(
            "POST",
            "/expense-sync/webhooks/standard",
            VECTOR["body"].encode(),
            {
                "Content-Type": "application/json",
                "webhook-id": VECTOR["id"],
                "webhook-timestamp": str(VECTOR["timestamp"]),
                "webhook-signature": VECTOR["signature"],
            },
        )
    )

    assert response.status_code == 401 and response.json() == {"error": "timestamp too old"}
    assert inbox_rows(webhook_env) == []


def test_a_signature_computed_by_hand_per_the_spec_is_accepted(receiver, webhook_env):
    response = receiver.send(standard_by_hand(b'{"type":"claim.paid","data":{}}', "msg_by_hand"))

    assert response.status_code == 200
    assert [r["dedup_key"] for r in inbox_rows(webhook_env)] == ["msg_by_hand"]


def _without(header: str) -> Delivery:
    delivery = standard(standard_payload())
    del delivery.headers[header]
    return delivery


def _with(header: str, value: str) -> Delivery:
    delivery = standard(standard_payload())
    delivery.headers[header] = value
    return delivery


def _flipped(delivery: Delivery, position: int) -> Delivery:
    body = bytearray(delivery.body)
    body[position] ^= 0x01
    delivery.body = bytes(body)
    return delivery


def _reserialized() -> Delivery:
    delivery = standard(standard_payload())
    delivery.body = json.dumps(json.loads(delivery.body), indent=2).encode()
    return delivery


FORGED = {
    "missing webhook-id": (lambda: _without("webhook-id"), 400),
    "missing webhook-timestamp": (lambda: _without("webhook-timestamp"), 400),
    "missing webhook-signature": (lambda: _without("webhook-signature"), 401),
    "non-numeric timestamp": (lambda: _with("webhook-timestamp", "1700000000.5"), 400),
    "superscript-digit timestamp": (lambda: _with("webhook-timestamp", "170000000²"), 400),
    "webhook-id with a dot": (lambda: _with("webhook-id", "msg.1"), 400),
    "bad signature": (lambda: _with("webhook-signature", "v1," + base64.b64encode(b"x" * 32).decode()), 401),
    "signature not base64": (lambda: _with("webhook-signature", "v1,@@@"), 401),
    "signature without version": (lambda: _with("webhook-signature", "deadbeef"), 401),
    "wrong secret": (lambda: standard(standard_payload(), secrets=(STANDARD_OLD_SECRET,)), 401),
    "one byte flipped in the body": (lambda: _flipped(standard(standard_payload()), 10), 401),
    "body re-serialized": (_reserialized, 401),
    "timestamp tolerance+1 s old": (
        lambda: standard(standard_payload(), timestamp=int(time.time()) - TOLERANCE - 1),
        401,
    ),
    "timestamp tolerance+1 s ahead": (
        lambda: standard(standard_payload(), timestamp=int(time.time()) + TOLERANCE + 2),
        401,
    ),
    "oversized body": (lambda: standard({"type": "x", "data": "a" * (256 * 1024)}), 413),
    "wrong content type": (lambda: standard(standard_payload(), content_type="text/plain"), 415),
    "no content type": (lambda: standard(standard_payload(), content_type=""), 415),
    "malformed JSON (signed)": (lambda: standard(b'{"type": "claim.paid", '), 400),
    "JSON that is not an object (signed)": (lambda: standard(b'["claim.paid"]'), 400),
    "NaN in JSON (signed)": (lambda: standard(b'{"type": "x", "amount": NaN}'), 400),
    "body not UTF-8 (signed)": (lambda: standard_by_hand(b'{"type": "\xff"}'), 400),
}


@pytest.mark.parametrize("case", list(FORGED))
def test_forged_stale_and_malformed_deliveries_are_refused_with_one_log_line(case, receiver, webhook_env, caplog):
    build, status = FORGED[case]

    response = receiver.send(build())

    assert response.status_code == status, response.text
    assert inbox_rows(webhook_env) == []
    [line] = refusals(caplog)
    assert "source=standard" in line and f"status={status}" in line


def test_an_oversized_chunked_body_is_cut_off_at_the_limit(receiver, webhook_env):
    delivery = standard({"type": "x", "data": "a" * (300 * 1024)})
    chunks = (delivery.body[i : i + 16384] for i in range(0, len(delivery.body), 16384))

    response = receiver.session.post(
        f"{receiver.url}{delivery.path}", data=chunks, headers=delivery.headers, timeout=30
    )

    assert response.status_code == 413
    assert inbox_rows(webhook_env) == []


def test_one_valid_signature_among_bogus_entries_is_enough(receiver, webhook_env):
    delivery = standard(standard_payload())
    valid = delivery.headers["webhook-signature"]
    bogus = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="
    delivery.headers["webhook-signature"] = f"{bogus}  {valid} v1a,AAAA junk"

    assert receiver.send(delivery).status_code == 200
    assert len(inbox_rows(webhook_env)) == 1


def test_a_secret_without_the_whsec_prefix_works(receiver, webhook_env, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_EXPENSE_SYNC_WEBHOOK_SECRETS", STANDARD_SECRET.removeprefix("whsec_"))

    assert receiver.send(standard(standard_payload())).status_code == 200


def test_rotation_accepts_every_listed_secret_and_ends_the_old_ones_grace_window(receiver, webhook_env, monkeypatch):
    def configure(old_not_after: datetime | None) -> None:
        old = {"secret": STANDARD_OLD_SECRET}
        if old_not_after is not None:
            old["not_after"] = old_not_after.isoformat()
        monkeypatch.setenv("AIRFLOW_VAR_EXPENSE_SYNC_WEBHOOK_SECRETS", json.dumps([STANDARD_SECRET, old]))

    configure(None)
    assert receiver.send(standard(standard_payload(), secrets=(STANDARD_SECRET,))).status_code == 200
    assert receiver.send(standard(standard_payload(), secrets=(STANDARD_OLD_SECRET,))).status_code == 200
    # both signatures in one header, as a sender signs during its own rotation
    both = standard(standard_payload(), secrets=(STANDARD_OLD_SECRET, STANDARD_SECRET))
    assert receiver.send(both).status_code == 200

    configure(datetime.now(UTC) + timedelta(hours=1))  # inside the grace window
    assert receiver.send(standard(standard_payload(), secrets=(STANDARD_OLD_SECRET,))).status_code == 200

    configure(datetime.now(UTC) - timedelta(seconds=1))  # after it
    assert receiver.send(standard(standard_payload(), secrets=(STANDARD_OLD_SECRET,))).status_code == 401
    assert receiver.send(standard(standard_payload(), secrets=(STANDARD_SECRET,))).status_code == 200

    assert len(inbox_rows(webhook_env)) == 5


def test_replays_in_sequence_store_one_row_and_all_get_2xx(receiver, webhook_env):
    delivery = standard(standard_payload(), msg_id="msg_replayed")

    statuses = [receiver.send(delivery).json()["status"] for _ in range(50)]

    assert statuses == ["stored"] + ["duplicate"] * 49
    assert len(inbox_rows(webhook_env)) == 1
    receiver.notifications.wait()
    assert sum(call["events"] for call in receiver.notifications.calls) == 1


def test_retries_with_a_new_timestamp_are_the_same_event(receiver, webhook_env):
    payload = standard_payload()
    first = standard(payload, msg_id="msg_retried", timestamp=int(time.time()) - 60)
    retry = standard(payload, msg_id="msg_retried")

    assert [receiver.send(d).json()["status"] for d in (first, retry)] == ["stored", "duplicate"]
    assert len(inbox_rows(webhook_env)) == 1


def test_fifty_concurrent_identical_deliveries_store_one_row(receiver, webhook_env):
    delivery = standard(standard_payload(), msg_id="msg_concurrent")

    with ThreadPoolExecutor(50) as pool:
        responses = list(pool.map(lambda _: delivery.send(receiver.url), range(50)))

    assert [r.status_code for r in responses] == [200] * 50
    assert sorted(r.json()["status"] for r in responses) == ["duplicate"] * 49 + ["stored"]
    assert len(inbox_rows(webhook_env)) == 1


def test_a_sender_without_secrets_is_not_configured(receiver, webhook_env, monkeypatch):
    monkeypatch.delenv("AIRFLOW_VAR_EXPENSE_SYNC_WEBHOOK_SECRETS")

    assert receiver.send(standard(standard_payload())).status_code == 404


def test_an_invalid_secret_is_a_misconfiguration_the_sender_retries(receiver, webhook_env, monkeypatch, caplog):
    monkeypatch.setenv("AIRFLOW_VAR_EXPENSE_SYNC_WEBHOOK_SECRETS", '[{"secret": "whsec_!!notbase64"}]')

    response = receiver.send(standard(standard_payload()))

    assert response.status_code == 503 and response.headers["Retry-After"] == "60"
    [line] = refusals(caplog)
    assert "item 1: not a whsec_ base64 secret" in line and "notbase64" not in line


def test_a_too_short_secret_is_a_misconfiguration_even_for_a_delivery_it_signs(
    receiver, webhook_env, monkeypatch, caplog
):
    short = "whsec_" + base64.b64encode(b"abc").decode()  # 3 bytes: guessable
    monkeypatch.setenv("AIRFLOW_VAR_EXPENSE_SYNC_WEBHOOK_SECRETS", json.dumps([STANDARD_SECRET, short]))

    response = receiver.send(standard(standard_payload(), secrets=(short,)))

    assert response.status_code == 503 and response.headers["Retry-After"] == "60"
    [line] = refusals(caplog)
    assert "item 2: secret shorter than 24 bytes" in line and short not in line
    assert inbox_rows(webhook_env) == []


def test_a_secret_of_24_bytes_is_enough(receiver, webhook_env, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_EXPENSE_SYNC_WEBHOOK_SECRETS", VECTOR["secret"])  # 24 bytes

    assert receiver.send(standard(standard_payload(), secrets=(VECTOR["secret"],))).status_code == 200


def test_a_lone_surrogate_in_a_signed_payload_is_refused_and_kept_for_a_person(receiver, webhook_env):
    body = json.dumps({**standard_payload(claim="ER-SURROGATE"), "note": "\ud800"}).encode()  # as the escape
    delivery = standard(body, msg_id="msg_surrogate")

    first, retry = receiver.send(delivery), receiver.send(delivery)

    # the signed bytes are stored as sent: PostgreSQL refuses the escape (22P02), for good, not 503 for ever
    assert (first.status_code, retry.status_code) == (422, 422)
    assert inbox_rows(webhook_env) == []
    [(source, key, reason_code, record)] = webhook_env.execute(
        "SELECT source_system, record_key, reason_code, record FROM sync.exception_item"
    ).fetchall()
    assert (source, key, reason_code) == ("standard", "msg_surrogate", "webhook_payload_unstorable")
    assert "ER-SURROGATE" in record["payload"] and "\\ud800" in record["payload"]
