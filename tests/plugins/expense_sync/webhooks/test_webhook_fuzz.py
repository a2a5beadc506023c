"""Fuzz-ish input on every route (fixed seed): never a 5xx, one log line per refusal, no secret logged.

Cases per route: random bytes, mutated valid deliveries (byte flips, truncation, insertion),
random JSON/XML shapes, random and half-valid headers and query parameters, random content types.
A mutation can leave a delivery valid where the sender signs nothing (合思 outside its key, WeCom's
envelope outside ``Encrypt``, a GET's body): then it is a 2xx, and a row exists only behind a 2xx.
"""

from __future__ import annotations

import json
import random

import requests
from webhook_senders import (
    ALL_SECRETS,
    Delivery,
    dingtalk,
    dingtalk_event,
    ekuaibao,
    ekuaibao_message,
    standard,
    standard_payload,
    wecom,
    wecom_event,
    wecom_url_check,
)
from webhook_testkit import inbox_rows, refusals

CASES_PER_ROUTE = 120
CANARY = "CANARY-BODY-7f3a"
CONTENT_TYPES = [
    "application/json",
    "text/xml",
    "application/xml",
    "text/plain",
    "",
    "application/json; x",
    "multipart/form-data; boundary=x",
    "APPLICATION/JSON",
    "application/json;charset=gbk",
]
VALID = {
    "ekuaibao": lambda: ekuaibao(ekuaibao_message(remark=CANARY)),
    "dingtalk": lambda: dingtalk(dingtalk_event(title=CANARY)),
    "wecom": lambda: wecom(wecom_event(extra=f"<Remark>{CANARY}</Remark>")),
    "standard": lambda: standard({**standard_payload(), "note": CANARY}),
    "wecom-url": lambda: wecom_url_check(CANARY),
}


def _junk_text(rng: random.Random, size: int) -> str:
    alphabet = "abcXYZ0189+/=._-:,{}[]<>\"' \t中文" + CANARY
    return "".join(rng.choice(alphabet) for _ in range(size))


def _mutate(rng: random.Random, data: bytes) -> bytes:
    data = bytearray(data or b"x")
    for _ in range(rng.randint(1, 4)):
        kind, at = rng.choice(("flip", "cut", "insert", "swap")), rng.randrange(len(data))
        if kind == "flip":
            data[at] ^= 1 << rng.randrange(8)
        elif kind == "cut":
            del data[at:]
            data = data or bytearray(b"{")
        elif kind == "insert":
            data[at:at] = rng.randbytes(rng.randint(1, 8))
        else:
            data[at] = rng.randrange(256)
    return bytes(data)


def _random_shape(rng: random.Random) -> bytes:
    shapes = [
        lambda: json.dumps({"encrypt": _junk_text(rng, rng.randint(0, 90))}),
        lambda: json.dumps([_junk_text(rng, 5)] * rng.randint(0, 3)),
        lambda: json.dumps({"flowId": rng.choice([None, 1, [], {}, "F1"]), "signKey": rng.choice([None, 7, "x"])}),
        lambda: "[" * rng.randint(1, 5000),
        lambda: f"<xml><Encrypt>{_junk_text(rng, 64)}</Encrypt></xml>",
        lambda: "<xml>" + "<a>" * rng.randint(1, 3000),
        lambda: '{"type": 1e99999, "n": -0, "s": "\\ud800"}',
        lambda: "",
    ]
    return rng.choice(shapes)().encode("utf-8", "surrogatepass")


def _case(rng: random.Random, route: str) -> Delivery:
    delivery = VALID[route]()
    roll = rng.random()
    if roll < 0.3:
        delivery.body = _mutate(rng, delivery.body)
    elif roll < 0.45:
        delivery.body = rng.randbytes(rng.randint(0, 3000))
    elif roll < 0.6:
        delivery.body = _random_shape(rng)
    elif roll < 0.75:
        name = rng.choice(list(delivery.params) or ["msg_signature"])
        delivery.params[name] = rng.choice([_junk_text(rng, rng.randint(0, 40)), "", "0", "9" * 30, "-1"])
    elif roll < 0.9:
        names = [n for n in delivery.headers if n.lower() != "content-type"] or ["webhook-id"]
        value = _junk_text(rng, rng.randint(0, 60)).strip().encode("utf-8")
        delivery.headers[rng.choice(names)] = value.decode("latin-1")
    else:
        delivery.headers["Content-Type"] = rng.choice(CONTENT_TYPES)
    return delivery


def test_random_input_never_gets_a_5xx(receiver, webhook_env, caplog):
    rng = random.Random(20261124)
    session = requests.Session()
    counts: dict[int, int] = {}

    for route in VALID:
        for _ in range(CASES_PER_ROUTE):
            response = _case(rng, route).send(receiver.url, session)
            counts[response.status_code] = counts.get(response.status_code, 0) + 1
            assert response.status_code < 500, (route, response.status_code, response.text)

    refused = sum(n for status, n in counts.items() if status >= 400)
    assert refused >= CASES_PER_ROUTE * len(VALID) / 2, counts  # the fuzzing mostly produced bad input
    assert len(refusals(caplog)) == refused  # exactly one line per refusal
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
    assert CANARY not in caplog.text
    assert not [s for s in ALL_SECRETS if s in caplog.text]
    assert len(inbox_rows(webhook_env)) <= counts.get(200, 0)  # a row only behind a 2xx
