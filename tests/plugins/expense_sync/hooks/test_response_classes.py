"""The classification table (hooks/classify.py), row by row, through the real request path of a hook
that does not opt in to HTML throttling (WeCom) and one that does (DingTalk), against a local server
that answers with scripted bytes: a status and content type, a cut-off or undecodable body, no
answer at all, a refused certificate, or no accept (a connect timeout). Each row says the error
class and how many calls reached the server: retried rows take ``max_attempts``, the others one."""

from __future__ import annotations

import datetime as dt
import http
import ipaddress
import json
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field

import pytest

from expense_sync.hooks.dingtalk import DingTalkHook
from expense_sync.hooks.errors import (
    AuthenticationError,
    EndpointError,
    OutcomeUnknownError,
    ThrottledError,
    TokenInvalidError,
    TransientVendorError,
    VendorRequestError,
)
from expense_sync.hooks.sap import SapHook
from expense_sync.hooks.wecom import WeComHook
from testkit import FAST

ATTEMPTS = 3
TIMEOUT = 1.0
HTML = "text/html;charset=UTF-8"
JSON = "application/json;charset=UTF-8"
PAGE = "<html><body><h1>访问过于频繁，请稍后再试</h1></body></html>"


@dataclass(frozen=True)
class Answer:
    """What the server does with each request: an HTTP answer, or one of the ``mode`` failures."""

    status: int = 200
    content_type: str = JSON
    body: str = '{"errcode":0,"errmsg":"ok"}'
    headers: dict[str, str] = field(default_factory=dict)
    mode: str = "answer"  # answer | chunked_broken | bad_gzip | drop | slow | tls | no_accept

    def raw(self) -> bytes:
        body = self.body.encode()
        head = {"Content-Type": self.content_type, "Connection": "close", **self.headers}
        if self.mode == "chunked_broken":  # one good chunk, then a chunk size that is not hex
            head["Transfer-Encoding"] = "chunked"
            body = f"{len(body[:5]):x}\r\n".encode() + body[:5] + b"\r\nZZ\r\n"
        elif self.mode == "bad_gzip":
            head["Content-Encoding"] = "gzip"
            head["Content-Length"] = str(len(body))
        else:
            head["Content-Length"] = str(len(body))
        lines = [f"HTTP/1.1 {self.status} {http.HTTPStatus(self.status).phrase}"]
        lines += [f"{k}: {v}" for k, v in head.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Server:
    """A local server that counts the requests (or TLS handshakes) it gets and answers as scripted."""

    def __init__(self, answer: Answer, cert: tuple[str, str] | None) -> None:
        self.answer, self.calls, self.backlog = answer, 0, []
        self.sock = socket.create_server(("127.0.0.1", 0), backlog=0 if answer.mode == "no_accept" else 16)
        self.port = self.sock.getsockname()[1]
        if answer.mode == "no_accept":  # fill the accept queue: the next connect is never answered
            for _ in range(3):
                client = socket.socket()
                client.setblocking(False)
                client.connect_ex(("127.0.0.1", self.port))
                self.backlog.append(client)
            time.sleep(0.1)
            return
        self.tls = None
        if answer.mode == "tls":
            self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls.load_cert_chain(*cert)
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            try:
                if self.tls is not None:
                    self.calls += 1
                    self.tls.wrap_socket(conn, server_side=True)  # the client refuses the certificate
                    return
                self._read_request(conn)
                self.calls += 1
                if self.answer.mode == "slow":
                    time.sleep(TIMEOUT * 2)
                if self.answer.mode != "drop":
                    conn.sendall(self.answer.raw())
            except OSError:
                return

    @staticmethod
    def _read_request(conn: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            data += conn.recv(65536)
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")),
            0,
        )
        while len(body) < length:
            body += conn.recv(65536)

    def close(self) -> None:
        self.sock.close()
        for client in self.backlog:
            client.close()


def self_signed(tmp_path) -> tuple[str, str]:
    """A certificate for 127.0.0.1 that no CA signed, and its key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_path), str(key_path)


HOOKS = {"wecom": WeComHook, "dingtalk": DingTalkHook, "sap": SapHook}  # DingTalk opts in to HTML throttling
LOGON = {"Location": "/sap/public/bc/icf/logon.html?sap-client=100"}


@pytest.fixture
def call(monkeypatch, tmp_path):
    """Serve an answer, point a hook at it and make one call; return the hook, the server and the error."""
    servers: list[Server] = []

    def run(vendor: str, answer: Answer, *, idempotent: bool = True):
        server = Server(answer, self_signed(tmp_path) if answer.mode == "tls" else None)
        servers.append(server)
        conn_id = f"classify_{vendor}"
        extra = {**FAST, "max_attempts": ATTEMPTS, "timeout": TIMEOUT}
        value = {
            "conn_type": "http",
            "host": "127.0.0.1",
            "port": server.port,
            "schema": "https" if answer.mode == "tls" else "http",
            "login": "corp",
            "password": "secret",
            "extra": extra,
        }
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(value))
        hook = HOOKS[vendor](conn_id)
        method, payload = ("GET", None) if idempotent else ("POST", {"amount": "1.00"})
        try:
            body = hook.request(method, "/api/thing", json=payload, authorize=False, idempotent=idempotent)
        except Exception as err:  # the row says which class it must be
            return hook, server, err
        return hook, server, body

    yield run
    for server in servers:
        server.close()


def page(status: int, **kw) -> Answer:
    return Answer(status=status, content_type=HTML, body=PAGE, **kw)


def data(status: int, body: str = '{"message":"nope"}', **kw) -> Answer:
    return Answer(status=status, content_type=JSON, body=body, **kw)


RETRIED, ONCE = ATTEMPTS, 1
TOKEN_REFUSED = '{"errcode":40014,"errmsg":"不合法的access_token"}'  # DingTalk's check_body reads it first
# id: (hook, answer, idempotent, expected class, calls that reach the server)
ROWS = {
    "200 json is the body": ("wecom", data(200, '{"errcode":0,"x":1}'), True, None, ONCE),
    "429 throttled": ("wecom", data(429, headers={"Retry-After": "0.1"}), True, ThrottledError, RETRIED),
    "429 throttled write is re-sent": ("wecom", data(429), False, ThrottledError, RETRIED),
    "503 json": ("wecom", data(503), True, TransientVendorError, RETRIED),
    "503 json write": ("wecom", data(503), False, OutcomeUnknownError, ONCE),
    "500 html": ("wecom", page(500), True, TransientVendorError, RETRIED),
    "502 html opt-in": ("dingtalk", page(502), True, ThrottledError, RETRIED),
    "200 html": ("wecom", page(200), True, TransientVendorError, RETRIED),
    "200 html write": ("wecom", page(200), False, OutcomeUnknownError, ONCE),
    "200 html opt-in": ("dingtalk", page(200), True, ThrottledError, RETRIED),
    "200 html opt-in write is re-sent": ("dingtalk", page(200), False, ThrottledError, RETRIED),
    "301": ("wecom", page(301, headers={"Location": "https://127.0.0.1/"}), True, EndpointError, ONCE),
    "302 json": ("wecom", data(302, "", headers={"Location": "/login"}), True, EndpointError, ONCE),
    "302 opt-in write": ("dingtalk", data(302, "", headers={"Location": "/login"}), False, EndpointError, ONCE),
    "302 xml (SAP's own check)": ("sap", Answer(302, "text/xml", "<x/>", LOGON), False, EndpointError, ONCE),
    "200 html (SAP's own check)": ("sap", page(200), True, TransientVendorError, RETRIED),
    "401 html": ("wecom", page(401), True, AuthenticationError, ONCE),
    "403 json": ("wecom", data(403), True, AuthenticationError, ONCE),
    "401 token refusal in the body": ("dingtalk", data(401, TOKEN_REFUSED), True, TokenInvalidError, ONCE),
    "404 html": ("wecom", page(404), True, VendorRequestError, ONCE),
    "404 html opt-in": ("dingtalk", page(404), True, VendorRequestError, ONCE),
    "400 text": ("wecom", Answer(400, "text/plain", "bad request"), True, VendorRequestError, ONCE),
    "read timeout": ("wecom", Answer(mode="slow"), True, TransientVendorError, RETRIED),
    "read timeout write": ("wecom", Answer(mode="slow"), False, OutcomeUnknownError, ONCE),
    "no answer": ("wecom", Answer(mode="drop"), True, TransientVendorError, RETRIED),
    "no answer write": ("wecom", Answer(mode="drop"), False, OutcomeUnknownError, ONCE),
    "chunked body cut": ("wecom", Answer(mode="chunked_broken"), True, TransientVendorError, RETRIED),
    "chunked body cut write": ("wecom", Answer(mode="chunked_broken"), False, OutcomeUnknownError, ONCE),
    "undecodable body": ("wecom", Answer(mode="bad_gzip"), True, TransientVendorError, RETRIED),
    "undecodable body write": ("wecom", Answer(mode="bad_gzip"), False, OutcomeUnknownError, ONCE),
    "certificate refused": ("wecom", Answer(mode="tls"), True, EndpointError, ONCE),
    "certificate refused write": ("wecom", Answer(mode="tls"), False, EndpointError, ONCE),
}


@pytest.mark.parametrize(("vendor", "answer", "idempotent", "expected", "calls"), ROWS.values(), ids=ROWS.keys())
def test_each_row_raises_its_class_and_retries_only_what_may_heal(call, vendor, answer, idempotent, expected, calls):
    hook, server, result = call(vendor, answer, idempotent=idempotent)
    if expected is None:
        assert result == {"errcode": 0, "x": 1}
    else:
        assert type(result) is expected, repr(result)
        assert result.vendor == vendor
    assert server.calls == calls
    assert hook.stats["calls"] == calls and hook.stats["retries"] == calls - 1


@pytest.mark.parametrize("idempotent", [True, False])
def test_a_connect_timeout_never_reached_the_vendor_and_is_retried_even_for_a_write(call, idempotent):
    hook, server, err = call("wecom", Answer(mode="no_accept"), idempotent=idempotent)
    assert type(err) is TransientVendorError and err.message == "connect timeout"
    assert server.calls == 0 and hook.stats["calls"] == ATTEMPTS


def test_a_redirect_names_its_target_without_the_query(call):
    location = "https://user:pw@vendor.example:8443/api/thing?access_token=T0KEN#x"
    _, _, err = call("wecom", data(301, "", headers={"Location": location}))
    assert "https://vendor.example:8443/api/thing" in str(err)
    assert "T0KEN" not in str(err) and "pw" not in str(err) and err.status == 301


def test_throttles_keep_the_wait_the_answer_asks_for_or_the_configured_one(call):
    _, _, err = call("wecom", data(429, headers={"Retry-After": "0.1"}))
    assert err.retry_after == 0.1
    _, _, err = call("dingtalk", page(200))
    assert err.retry_after == FAST["throttle_wait"]
