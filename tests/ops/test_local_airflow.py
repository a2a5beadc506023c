"""``make airflow`` without Docker: the launcher starts a working Airflow, the API logs in, every DAG of
the strategy table is there without import errors, the init step made the pools, connections and
variables, org_sync_daily runs green through the real scheduler, and stopping leaves nothing behind
(checked when the session's deployment stops, in conftest.py)."""

import os
from pathlib import Path

import requests

from expense_sync.pools import POOL_ERP, POOL_EXPENSE, POOL_OA
from testkit import strategy_table


def test_the_api_logs_in_the_admin_and_refuses_a_wrong_password(local_airflow):
    wrong = requests.post(
        f"{local_airflow.url}/auth/token", json={"username": "admin", "password": "not-the-password"}, timeout=10
    )
    assert wrong.status_code == 401
    assert requests.get(f"{local_airflow.url}/api/v2/dags", timeout=10).status_code == 401
    assert local_airflow.token().count(".") == 2  # a JWT
    assert local_airflow.api("GET", "/dags")["total_entries"] >= 1


def test_every_dag_of_the_strategy_table_is_listed_without_import_errors(local_airflow):
    dags = {d["dag_id"]: d for d in local_airflow.api("GET", "/dags", params={"limit": 1000})["dags"]}
    for dag_id in strategy_table():
        assert dag_id in dags, f"{dag_id} is not in the UI"
        assert not dags[dag_id]["is_paused"] and "expense-sync" in {t["name"] for t in dags[dag_id]["tags"]}
    assert local_airflow.api("GET", "/importErrors")["total_entries"] == 0


def test_setup_made_the_pools_connections_and_variables(local_airflow):
    pools = {p["name"]: p for p in local_airflow.api("GET", "/pools")["pools"]}
    assert {POOL_OA, POOL_ERP, POOL_EXPENSE} <= set(pools)
    # FAST connections pace at 2000 qps per task: no vendor quota has room for more than one such task
    assert pools[POOL_OA]["slots"] == 1 and "dingtalk" in pools[POOL_OA]["description"]
    connections = {
        c["connection_id"] for c in local_airflow.api("GET", "/connections", params={"limit": 100})["connections"]
    }
    assert {"mdm_postgres", "oa_dingtalk", "oa_wecom", "expense_ekuaibao", "erp_kingdee"} <= connections
    variables = {v["key"] for v in local_airflow.api("GET", "/variables")["variables"]}
    assert {"expense_sync_oa_vendor", "expense_sync_erp_vendor"} <= variables


def test_no_component_has_a_variable_in_its_environment_to_shadow_the_ui(local_airflow):
    """Airflow reads ``AIRFLOW_VAR_*`` before its database: a Variable an operator changes in the UI
    must be the one that runs, so the Variables live only in the database setup wrote them to."""
    for component, process in local_airflow.processes.items():
        environ = Path(f"/proc/{process.pid}/environ").read_bytes().split(b"\0")
        assert not [e for e in environ if e.startswith(b"AIRFLOW_VAR_")], component


def test_org_sync_daily_runs_green_and_its_vendor_tasks_take_their_pools(local_airflow, green_run):
    tasks = local_airflow.api("GET", f"/dags/org_sync_daily/dagRuns/{green_run}/taskInstances")["task_instances"]
    assert {t["task_id"]: t["state"] for t in tasks} == {
        "migrate": "success",
        "extract_directory": "success",
        "merge_directory": "success",
        "check_org_health": "success",
        "push_to_expense_system": "success",
        "deactivation_questions": "success",
        "ask_about_deactivations": "skipped",  # nothing held: no question, the run does not wait
        "apply_deactivation_decisions": "success",
        "summarize": "success",
    }
    pools = {t["task_id"]: t["pool"] for t in tasks}
    assert (pools["extract_directory"], pools["push_to_expense_system"]) == (POOL_OA, POOL_EXPENSE)


def test_make_resolve_reaches_the_running_deployment_from_a_plain_shell(local_airflow, tmp_path):
    """``make resolve`` runs scripts/operator_cli.py: no PYTHONPATH, no DSN, only the file the
    deployment leaves while it runs."""
    import subprocess
    import sys

    import psycopg

    from expense_sync.store.queue import open_item

    with psycopg.connect(local_airflow.env["AIRFLOW_CONN_MDM_POSTGRES"], autocommit=True) as conn:
        item = open_item(
            conn, kind="conflict", system="ekuaibao", entity="employee", record_key="E9001", reason_code="ops_probe"
        )
        env = {
            "PATH": os.environ["PATH"],
            "HOME": str(tmp_path),
            "EXPENSE_SYNC_CLI_ENV": str(local_airflow.home / "cli.env.json"),
        }
        done = subprocess.run(
            [sys.executable, "scripts/operator_cli.py", "resolve", str(item), "--decision", "kept", "--by", "carol"],
            cwd=Path(__file__).parents[2],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert f"item {item} " in done.stdout and "resolved by carol: kept" in done.stdout
        row = conn.execute("SELECT status, decided_by FROM sync.exception_item WHERE item_id = %s", (item,)).fetchone()
        assert row == ("resolved", "carol")
