"""Local stand-ins for the alert channels: a DingTalk custom robot webhook and an SMTP server.

Both run in a thread on a free port of 127.0.0.1 and keep what they receive for the test to read.
"""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import hmac
import json
import socketserver
import threading
import urllib.parse
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class RobotCatcher:
    """DingTalk's custom robot: ``POST /robot/send?access_token=…[&timestamp=…&sign=…]`` with a JSON message.

    Answers ``{"errcode": 0, "errmsg": "ok"}``, or the robot's own errors: 300001 for an unknown
    token, 310000 for a missing or wrong signature when the robot has a signing secret.
    """

    def __init__(self, token: str, secret: str | None = None) -> None:
        self.token, self.secret = token, secret
        self.messages: list[dict[str, Any]] = []
        self.requests: list[str] = []  # every raw path and body, to look for secrets
        catcher = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                catcher.requests.append(f"{self.path}\n{body}")
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                answer = catcher.answer(url.path, query)
                if answer["errcode"] == 0:
                    catcher.messages.append(json.loads(body))
                raw = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer(self, path: str, query: dict[str, str]) -> dict[str, Any]:
        if path != "/robot/send" or query.get("access_token") != self.token:
            return {"errcode": 300001, "errmsg": "token is not exist"}
        if self.secret:
            stamp = query.get("timestamp", "")
            digest = hmac.new(self.secret.encode(), f"{stamp}\n{self.secret}".encode(), hashlib.sha256).digest()
            if query.get("sign") != base64.b64encode(digest).decode():
                return {"errcode": 310000, "errmsg": "sign not match"}
        return {"errcode": 0, "errmsg": "ok"}

    def __enter__(self) -> RobotCatcher:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class SmtpCatcher:
    """An SMTP server that accepts every message (EHLO/HELO, AUTH PLAIN and LOGIN, MAIL, RCPT, DATA)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.logins: list[str] = []  # user names that authenticated
        catcher = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str) -> None:
                self.wfile.write(f"{line}\r\n".encode())

            def handle(self) -> None:
                self.reply("220 catcher ESMTP")
                while line := self.rfile.readline():
                    command = line.decode().strip()
                    verb = command.split(" ")[0].upper()
                    if verb == "EHLO":
                        self.reply("250-catcher")
                        self.reply("250-AUTH PLAIN LOGIN")
                        self.reply("250 8BITMIME")
                    elif verb == "AUTH":
                        self.auth(command.split(" ")[1:])
                    elif verb == "DATA":
                        self.reply("354 end with <CRLF>.<CRLF>")
                        catcher.messages.append(self.data())
                        self.reply("250 queued")
                    elif verb == "QUIT":
                        self.reply("221 bye")
                        return
                    else:  # HELO, MAIL, RCPT, RSET, NOOP
                        self.reply("250 ok")

            def auth(self, args: list[str]) -> None:
                if args[0].upper() == "PLAIN":
                    _, user, _ = base64.b64decode(args[1]).split(b"\0")
                else:
                    self.reply("334 VXNlcm5hbWU6")
                    user = base64.b64decode(self.rfile.readline().strip())
                    self.reply("334 UGFzc3dvcmQ6")
                    self.rfile.readline()
                catcher.logins.append(user.decode())
                self.reply("235 authenticated")

            def data(self) -> EmailMessage:
                lines = []
                while (line := self.rfile.readline()) not in (b".\r\n", b".\n", b""):
                    lines.append(line[1:] if line.startswith(b"..") else line)
                return email.message_from_bytes(b"".join(lines), policy=email.policy.default)

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]

    def __enter__(self) -> SmtpCatcher:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
