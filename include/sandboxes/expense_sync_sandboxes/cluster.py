"""Start the sandboxes in a child process and drive them: for tests, the demo and benchmarks."""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from expense_sync_sandboxes import dingtalk, ekuaibao, kingdee, sap, wecom, yonyou

PACKAGE_ROOT = Path(__file__).resolve().parent.parent

# Airflow connection id -> (vendor, login, password): the sandboxes' own demo credentials.
CONNECTIONS = {
    "oa_dingtalk": ("dingtalk", dingtalk.APP_KEY, dingtalk.APP_SECRET),
    "oa_wecom": ("wecom", wecom.CORP_ID, wecom.CORP_SECRET),
    "expense_ekuaibao": ("ekuaibao", ekuaibao.APP_KEY, ekuaibao.APP_SECURITY),
    "erp_kingdee": ("kingdee", kingdee.USER_NAME, kingdee.APP_SECRET),
    "erp_yonyou": ("yonyou", yonyou.APP_KEY, yonyou.APP_SECRET),
    "erp_sap": ("sap", sap.USER, sap.PASSWORD),
}
# Connection id -> the extras a working connection to that sandbox needs besides host and login
# (account ids and defaults, not secrets).
CONNECTION_EXTRAS: dict[str, dict[str, Any]] = {
    "erp_kingdee": {
        "acct_id": kingdee.ACCT_ID,
        "app_id": kingdee.APP_ID,
        # the sandbox's customised expense-item → GL account link (a standard K3Cloud has none)
        "chart_forms": {"expense_item": {"fields": {"gl_account": "F_ES_AccountId"}}},
    },
    "erp_yonyou": yonyou.DEMO_EXTRAS,
    # the approval template each OA sandbox's tenant has (any code or id is accepted)
    "oa_dingtalk": {"approval_process_code": "PROC-EXPENSE-SANDBOX"},
    "oa_wecom": {"approval_template_id": "expense-approval-sandbox", "approval_key_control": "Text-business-key"},
}


LISTEN_PORTS = range(20000, 32768)  # below Linux's ephemeral range (32768-60999): no outgoing
# connection can take a port between the moment it is picked here and the moment a server binds it


_HANDED_OUT: set[int] = set()  # by this process: a port is picked before its server binds it


def free_port() -> int:
    """A port of 127.0.0.1 nothing listens on, outside the range outgoing connections draw from,
    and never one this process handed out before: a deployment picks its API port, then its
    sandboxes' and log servers' ports, before any of them binds (the same port twice was seen:
    the api-server then failed with "address already in use")."""
    for _ in range(200):
        port = random.choice(LISTEN_PORTS)
        if port in _HANDED_OUT:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _HANDED_OUT.add(port)
        return port
    raise RuntimeError("no free port found in 200 tries")


class SandboxControl:
    """The ``/_sandbox`` control API of one running sandbox."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = requests.Session()

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        response = self.http.request(method, f"{self.base_url}/_sandbox{path}", json=body, timeout=60)
        if response.status_code >= 400:
            raise RuntimeError(f"sandbox {path}: {response.status_code} {response.text}")
        return response.json()

    def reset(self, **options: Any) -> None:
        """Rebuild the vendor's data from a seed; also clears faults, stats, tokens and the rate limit."""
        self._call("POST", "/reset", options)

    def faults(self, *rules: dict[str, Any], seed: int = 1) -> None:
        """Inject faults, e.g. ``faults({"kind": "5xx", "every": 5})``; no rules clears them."""
        self._call("PUT", "/faults", {"seed": seed, "rules": list(rules)})

    def rate_limit(self, qps: float | None) -> None:
        self._call("PUT", "/rate-limit", {"qps": qps})

    def expire_tokens(self) -> None:
        self._call("POST", "/expire-tokens")

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "/stats")

    def mutate(self, op: str, **args: Any) -> Any:
        return self._call("POST", "/mutate", {"op": op, **args})["result"]

    def state(self) -> dict[str, Any]:
        return self._call("GET", "/state")


class SandboxCluster:
    """Serve the named vendors on free ports of 127.0.0.1 in a child process."""

    def __init__(
        self,
        vendors: list[str],
        options: dict[str, dict] | None = None,
        ports: dict[str, int] | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.host = host
        self.fixed = dict(ports or {})
        self.ports = {v: self.fixed.get(v) or free_port() for v in vendors}
        self.options = options or {}
        self.process: subprocess.Popen | None = None
        self.log_path = Path(tempfile.mkstemp(prefix="expense-sync-sandboxes-", suffix=".log")[1])

    def url(self, vendor: str) -> str:
        return f"http://{self.host}:{self.ports[vendor]}"

    def control(self, vendor: str) -> SandboxControl:
        return SandboxControl(self.url(vendor))

    def connection(self, conn_id: str, **extra: Any) -> str:
        """The ``AIRFLOW_CONN_<ID>`` JSON value pointing ``conn_id`` at its sandbox."""
        vendor, login, password = CONNECTIONS[conn_id]
        return json.dumps(
            {
                "conn_type": "http",
                "host": self.host,
                "port": self.ports[vendor],
                "schema": "http",
                "login": login,
                "password": password,
                "extra": {**CONNECTION_EXTRAS.get(conn_id, {}), **extra},
            }
        )

    def start(self, timeout: float = 30, attempts: int = 3) -> SandboxCluster:
        """Start the sandboxes; a free port taken by another process meanwhile is picked again."""
        for attempt in range(attempts):
            logged = self.log_path.stat().st_size if self.log_path.exists() else 0
            try:
                return self._start(timeout)
            except RuntimeError:
                with open(self.log_path, "rb") as log:  # this attempt's whole log, not only its tail
                    log.seek(logged)
                    text = log.read().decode(errors="replace")
                if attempt == attempts - 1 or "address already in use" not in text:
                    raise
                self.ports = {v: self.fixed.get(v) or free_port() for v in self.ports}
        raise AssertionError("unreachable")

    def _start(self, timeout: float) -> SandboxCluster:
        args = [
            sys.executable,
            "-m",
            "expense_sync_sandboxes",
            "serve",
            "--host",
            self.host,
            "--options",
            json.dumps(self.options),
            "--empty",  # tests, the demo and the benchmarks seed what they need
        ]
        for vendor, port in self.ports.items():
            args += ["--port", f"{vendor}={port}"]
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")])),
        }
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                args, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        for vendor in self.ports:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(
                        f"the sandboxes exited with code {self.process.returncode}: {self.log_errors()}\n"
                        f"{self.log_tail()}"
                    )
                try:
                    if requests.get(f"{self.url(vendor)}/_sandbox/health", timeout=1).ok:
                        break
                except requests.ConnectionError:
                    pass
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"the {vendor} sandbox did not come up in {timeout}s")
                time.sleep(0.1)
        return self

    def log_errors(self, lines: int = 10) -> str:
        """The log's error lines (the cause, which a long traceback pushes out of the tail)."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join([line for line in text.splitlines() if "ERROR" in line or "Errno" in line][-lines:])

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> SandboxCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
