"""Recorded HTTP for the peers benchmark: every response of a read recorded once through a proxy in
front of the sandbox, then replayed byte for byte by a trivial server, so that a client's wall time
is its own and not the sandbox's (the sandbox builds each page of its company as it is asked).

A request is known by its method, path, query (less ``access_token``, which differs per token and
not per page) and body bytes; each client records its own reads, since each words its requests in
its own way. A request the tape does not hold is answered 404 and counted as a miss: a replayed run
with misses is not a measurement, and the driver refuses it.

    tape = Tape()
    with Recorder(tape, "http://127.0.0.1:PORT") as proxy:   # proxy.url in place of the sandbox's
        ...one read...
    with Player(tape) as player:                              # player.url; player.served, tape.misses
        ...the same read, replayed...
"""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

Key = tuple[str, str, tuple[tuple[str, str], ...], bytes]
Answer = tuple[int, str, bytes]  # status, content type, body
SKIPPED_HEADERS = {"host", "connection", "content-length", "accept-encoding", "keep-alive"}


class Tape:
    """The recorded answers, and what a replay asked for that was not recorded."""

    def __init__(self) -> None:
        self.answers: dict[Key, Answer] = {}
        self.misses = 0
        self._lock = threading.Lock()

    @staticmethod
    def key(method: str, target: str, body: bytes) -> Key:
        parts = urlsplit(target)
        query = tuple(sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "access_token"))
        return method, parts.path, query, body

    def record(self, key: Key, answer: Answer) -> None:
        with self._lock:
            self.answers[key] = answer

    def missed(self) -> None:
        with self._lock:
            self.misses += 1


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the clients' sessions expect
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms wait for a delayed ACK
    server: _Server

    def do_GET(self) -> None:  # noqa: N802  (http.server's naming)
        self._answer()

    def do_POST(self) -> None:  # noqa: N802
        self._answer()

    def _answer(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, content_type, payload = self.server.answer(self, body)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # one line per request would be most of the server's work


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, tape: Tape) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.tape = tape
        self.served = 0
        self._count = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def answer(self, request: _Handler, body: bytes) -> Answer:
        raise NotImplementedError

    def count(self) -> None:
        with self._count:
            self.served += 1

    def __enter__(self) -> _Server:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


class Recorder(_Server):
    """A proxy to ``upstream`` that records every answer on the tape."""

    def __init__(self, tape: Tape, upstream: str) -> None:
        super().__init__(tape)
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._local = threading.local()  # one upstream connection per client connection's thread

    def answer(self, request: _Handler, body: bytes) -> Answer:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = http.client.HTTPConnection(*self._upstream, timeout=120)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in SKIPPED_HEADERS}
        connection.request(request.command, request.path, body=body or None, headers=headers)
        response = connection.getresponse()
        answer = (response.status, response.getheader("Content-Type") or "application/json", response.read())
        self.tape.record(Tape.key(request.command, request.path, body), answer)
        self.count()
        return answer


class Player(_Server):
    """The tape's answers, byte for byte; a request it does not hold is a 404 and a miss."""

    def answer(self, request: _Handler, body: bytes) -> Answer:
        self.count()
        found = self.tape.answers.get(Tape.key(request.command, request.path, body))
        if found is None:
            self.tape.missed()
            return 404, "application/json", b'{"errcode": 404, "errmsg": "not on the tape"}'
        return found
