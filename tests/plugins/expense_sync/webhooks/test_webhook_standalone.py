"""``python -m expense_sync.webhooks``: the standalone receiver as a real process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests
from webhook_senders import dingtalk, dingtalk_event, dingtalk_reply_text, standard, standard_payload
from webhook_testkit import inbox_rows

from expense_sync_sandboxes.cluster import free_port

ROOT = Path(__file__).resolve().parents[4]


def _env() -> dict[str, str]:
    path = os.pathsep.join([str(ROOT / "plugins"), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path}


def test_the_standalone_receiver_serves_the_plugin_paths_and_stops_cleanly(webhook_env, tmp_path):
    port = free_port()
    log = (tmp_path / "receiver.log").open("wb")
    command = [sys.executable, "-m", "expense_sync.webhooks", "--port", str(port), "--workers", "2"]
    process = subprocess.Popen(command, env=_env(), stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (tmp_path / "receiver.log").read_text()
            try:
                if requests.get(f"{url}/expense-sync/health", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "the standalone receiver did not come up"
            time.sleep(0.2)

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
