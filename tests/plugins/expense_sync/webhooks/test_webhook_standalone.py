"""``python -m expense_sync.webhooks``: the standalone receiver as a real process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
from webhook_senders import (
    dingtalk,
    dingtalk_event,
    dingtalk_reply_text,
    ekuaibao,
    ekuaibao_message,
    standard,
    standard_payload,
)
from webhook_testkit import inbox_rows

from expense_sync_sandboxes.cluster import free_port

ROOT = Path(__file__).resolve().parents[4]


def _env() -> dict[str, str]:
    path = os.pathsep.join([str(ROOT / "plugins"), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path}


def _start(tmp_path: Path, *options: str, **env: str) -> tuple[subprocess.Popen, int]:
    """The standalone receiver as a process, once its health check answers; and its port."""
    port = free_port()
    log = (tmp_path / "receiver.log").open("wb")
    command = [sys.executable, "-m", "expense_sync.webhooks", "--port", str(port), *options]
    process = subprocess.Popen(command, env={**_env(), **env}, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, (tmp_path / "receiver.log").read_text()
        try:
            if requests.get(f"http://127.0.0.1:{port}/expense-sync/health", timeout=1).ok:
                return process, port
        except requests.ConnectionError:
            pass
        assert time.monotonic() < deadline, "the standalone receiver did not come up"
        time.sleep(0.2)


def test_the_standalone_receiver_serves_the_plugin_paths_and_stops_cleanly(webhook_env, tmp_path):
    process, port = _start(tmp_path, "--workers", "2")
    url = f"http://127.0.0.1:{port}"
    try:
        assert standard(standard_payload(), msg_id="msg_standalone").send(url).json() == {"status": "stored"}
        reply = dingtalk(dingtalk_event()).send(url)
        assert dingtalk_reply_text(reply.json()) == "success"
        assert [r["source"] for r in inbox_rows(webhook_env)] == ["standard", "dingtalk"]
    finally:
        process.send_signal(signal.SIGTERM)
        returncode = process.wait(30)
    assert returncode == 0
    assert "webhook refused" not in (tmp_path / "receiver.log").read_text()


def test_rest_notification_without_its_settings_stops_at_once(tmp_path):
    env = {k: v for k, v in _env().items() if not k.startswith("EXPENSE_SYNC_AIRFLOW_API")}

    result = subprocess.run(
        [sys.executable, "-m", "expense_sync.webhooks", "--notify", "rest", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode != 0
    assert "--notify rest needs EXPENSE_SYNC_AIRFLOW_API_URL" in result.stderr


def test_a_body_that_stalls_is_answered_408_and_its_connection_closed(webhook_env, tmp_path):
    process, port = _start(tmp_path, EXPENSE_SYNC_WEBHOOK_BODY_TIMEOUT="1")
    delivery = ekuaibao(ekuaibao_message())
    head = (
        f"POST {delivery.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(delivery.body)}\r\n\r\n"
    ).encode()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
            client.sendall(head + delivery.body[: len(delivery.body) // 2])  # and then nothing more
            started = time.monotonic()
            answer = b""
            while chunk := client.recv(4096):  # until the receiver closes the connection
                answer += chunk
            waited = time.monotonic() - started

        assert answer.startswith(b"HTTP/1.1 408 "), answer
        assert b'{"error":"body too slow"}' in answer and 0.5 < waited < 5
        assert inbox_rows(webhook_env) == []
        assert requests.get(f"http://127.0.0.1:{port}/expense-sync/health", timeout=5).ok
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
    assert "webhook refused: source=ekuaibao status=408 reason=body too slow" in (tmp_path / "receiver.log").read_text()
