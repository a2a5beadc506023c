"""Constants and helpers shared by the tests (conftest.py holds the fixtures)."""

from __future__ import annotations

import ast
import json
import threading
import time
from pathlib import Path
from typing import Any

from expense_sync_sandboxes import VENDORS as SANDBOXES
from expense_sync_sandboxes.cluster import free_port

ROOT = Path(__file__).resolve().parent.parent

VENDORS = list(SANDBOXES)  # every registered sandbox is reset before each test that uses them

# Connection extras for tests: fast backoff, short timeouts, a rate limit well above the sandbox's.
FAST = {
    "rate_limit_qps": 2000,
    "timeout": 2.0,
    "backoff_initial": 0.02,
    "backoff_max": 0.2,
    "throttle_wait": 0.05,
    "max_attempts": 8,
}

ROOT_MARK = "<root>"
READS_BY_POST = {"POST /api/openapi/v1/auth/getAccessToken", "POST /api/openapi/v1/staffs/getStaffIds"}
READ_POST_PREFIX = "POST /api/openapi/v2/extension/"  # 合思's invoice searches (flow/INVOICE, INVOICE/object)


def strategy_table() -> dict[str, str]:
    """``EXPECTED`` of tests/dags/test_dag_integrity.py ({dag_id: cron}): the one list of the strategy table."""
    tree = ast.parse((ROOT / "tests" / "dags" / "test_dag_integrity.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "EXPECTED" for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError("tests/dags/test_dag_integrity.py has no EXPECTED")


def run_dag(dagbag, dag_id: str, **conf) -> tuple[str, dict[str, str]]:
    """Run a DAG once with dag.test(); return the run state and each task's state."""
    run = dagbag.dags[dag_id].test(run_conf=conf or None)
    return str(run.state), {ti.task_id: str(ti.state) for ti in run.get_task_instances()}


def step_counts(conn, step: str) -> dict:
    """The counts the latest run recorded for a step in the run ledger, as the step returned them
    (without the vendor API calls ``run_step`` adds: :func:`step_api_calls`)."""
    row = conn.execute(
        "SELECT counts - 'vendor_api' FROM sync.run_step WHERE step = %s ORDER BY finished_at DESC LIMIT 1", (step,)
    ).fetchone()
    assert row is not None, f"no run recorded step {step!r}"
    return row[0]


def step_api_calls(conn, step: str) -> dict:
    """The vendor API calls the latest run recorded for a step: vendor → {calls, throttled, retries}."""
    row = conn.execute(
        "SELECT counts -> 'vendor_api' FROM sync.run_step WHERE step = %s ORDER BY finished_at DESC LIMIT 1", (step,)
    ).fetchone()
    assert row is not None and row[0] is not None, f"no run recorded the API calls of step {step!r}"
    return row[0]


def canonical_state(conn) -> dict:
    """The canonical org data by business key, without surrogate ids or timestamps."""
    units = conn.execute(
        "SELECT u.code, u.name, COALESCE(p.code, %s), u.active, u.parent_id IS NULL FROM mdm.org_unit u "
        "LEFT JOIN mdm.org_unit p ON p.org_unit_id = u.parent_id",
        (ROOT_MARK,),
    ).fetchall()
    roots = {code for code, *_, is_root in units if is_root}
    people = conn.execute(
        "SELECT e.employee_no, e.name, e.mobile, COALESCE(e.email, ''), u.code, p.title, e.active "
        "FROM mdm.employee e JOIN mdm.org_unit u USING (org_unit_id) LEFT JOIN mdm.position p USING (position_id)"
    ).fetchall()
    return {
        "org_units": {
            code: {"name": name, "parent": ROOT_MARK if parent in roots else parent, "active": active}
            for code, name, parent, active, is_root in units
            if not is_root
        },
        "employees": {
            no: {
                "name": name,
                "mobile": mobile,
                "email": email,
                "unit": ROOT_MARK if unit in roots else unit,
                "position": title,
                "active": active,
            }
            for no, name, mobile, email, unit, title, active in people
        },
    }


def expense_state(sandboxes) -> dict:
    """What the 合思 sandbox holds, by code, in the same shape as :func:`canonical_state`."""
    dump = sandboxes.control("ekuaibao").state()
    corp = dump["corporationId"]
    code_of = {d["id"]: (ROOT_MARK if d["id"] == corp else d["code"]) for d in dump["departments"]}
    return {
        "departments": {
            d["code"]: {"name": d["name"], "parent": code_of[d["parentId"]], "active": d["active"]}
            for d in dump["departments"]
            if d["id"] != corp
        },
        "staff": {
            s["code"]: {
                "name": s["name"],
                "cellphone": s["cellphone"],
                "email": s["email"],
                "unit": code_of[s["defaultDepartment"]],
                "active": s["active"],
            }
            for s in dump["staffs"]
        },
    }


def write_calls(sandboxes) -> int:
    """How many writes (POST/PUT, not token or lookups) 合思 has received since its reset."""
    calls = sandboxes.control("ekuaibao").stats()["calls"]
    return sum(
        n
        for key, n in calls.items()
        if key.split(" ")[0] in ("POST", "PUT") and key not in READS_BY_POST and not key.startswith(READ_POST_PREFIX)
    )


def serve(app: Any) -> tuple[str, Any, threading.Thread]:
    """Serve an ASGI app with uvicorn on a free local port, in a thread of this process (so that its
    log records reach ``caplog``); returns its base URL, the server (``should_exit`` stops it) and
    the thread, once it accepts connections."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    return f"http://127.0.0.1:{port}", server, thread


def point_connection(
    monkeypatch, conn_id: str, url: str, *, login: str = "k", password: str = "s", **extra: Any
) -> None:
    """Point the Airflow connection ``conn_id`` at a vendor served at ``url`` (``http://host:port``,
    a network-edge fake or a sandbox started by the test), with the fast test pacing and ``extra``."""
    host, port = url.removeprefix("http://").split(":")
    conn = {
        "conn_type": "http",
        "host": host,
        "port": int(port),
        "schema": "http",
        "login": login,
        "password": password,
    }
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({**conn, "extra": {**FAST, **extra}}))
