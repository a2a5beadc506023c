"""The demo (``make demo``): org_sync_daily run for real through Airflow, twice, against the sandboxes.

1. A PostgreSQL: the local server if one answers, else a throwaway cluster; a fresh database
   ``expense_sync_demo`` for the middle platform (left in place afterwards, to explore).
2. The DingTalk and 合思 sandboxes, with a seeded company of 40 departments and 400 people, four
   of them with the kind of bad record every real directory has.
3. ``airflow dags test org_sync_daily`` (the real Airflow CLI, SQLite metadata under .local/airflow),
   then a day of changes in the OA (2 % churn), then the DAG again.
4. A summary of both runs from the run ledger, the open exception queue, and where the Data Docs are.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg

from expense_sync_sandboxes.cluster import SandboxCluster
from expense_sync_sandboxes.postgres import LocalPostgres

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / ".local"
DATABASE = "expense_sync_demo"
BAD_RECORDS = [  # (userid, field, value): what the health of a real directory looks like
    ("u0000007", "email", "zhang.wei@"),
    ("u0000013", "mobile", "1380013"),
    ("u0000021", "job_number", "E0000022"),
]


def airflow(env: dict[str, str], *args: str, log) -> None:
    command = [str(Path(sys.executable).parent / "airflow"), *args]
    log.write(f"\n$ {' '.join(command)}\n".encode())
    log.flush()
    done = subprocess.run(command, env=env, stdout=log, stderr=log, cwd=ROOT)
    if done.returncode:
        sys.exit(f"`airflow {' '.join(args)}` failed; see {log.name}")


def summarize(url: str, docs: Path) -> None:
    with psycopg.connect(url) as conn:
        runs = conn.execute("SELECT run_key FROM sync.run ORDER BY started_at").fetchall()
        print(f"\nexpense-sync demo: org_sync_daily through Airflow; middle platform {url}\n")
        for n, (run_key,) in enumerate(runs, 1):
            steps = dict(conn.execute("SELECT step, counts FROM sync.run_step WHERE run_key = %s", (run_key,)))
            merge, push = steps.get("merge", {}), steps.get("push", {})
            title = "first full sync" if n == 1 else "after a day of hires, leavers, transfers and renames"
            print(f"run {n} ({title}): {run_key}")
            print(
                f"  OA calls: {steps.get('extract', {}).get('api', {}).get('calls', 0)}, "
                f"合思 calls: {push.get('api_calls', 0)}"
            )
            for entity, label in (("org_unit", "departments"), ("employee", "employees")):
                m, p = merge.get(entity, {}), push.get(entity, {})
                pushed = ", ".join(f"{k} {v}" for k, v in sorted(p.items())) or "nothing"
                print(
                    f"  {label:<11} created {m.get('created', 0):>4}  updated {m.get('updated', 0):>3}  "
                    f"deactivated {m.get('deactivated', 0):>3}  quarantined {m.get('quarantined', 0):>2}"
                    f"   -> 合思: {pushed}"
                )
        items = conn.execute(
            "SELECT kind, entity, record_key, reason FROM sync.exception_item WHERE status <> 'resolved' "
            "ORDER BY kind, entity, record_key"
        ).fetchall()
    print(f"\nopen exception queue ({len(items)}), each waiting for a fix at the source:")
    for kind, entity, key, reason in items:
        print(f"  {kind:<10} {entity:<8} {key:<10} {reason}")
    print(f"\nData Docs (open in a browser): {docs.as_uri()}")


def main() -> None:
    LOCAL.mkdir(exist_ok=True)
    server = LocalPostgres().start()
    server.drop_database(DATABASE)
    with psycopg.connect(server.server_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {DATABASE}")
    url = server.url(DATABASE)
    docs_dir = ROOT / "great_expectations" / "uncommitted"
    options = {"dingtalk": {"seed": 42, "departments": 40, "employees": 400}}
    try:
        with (
            SandboxCluster(["dingtalk", "ekuaibao"], options=options) as sandboxes,
            open(LOCAL / "demo.log", "wb") as log,
        ):
            for userid, field, value in BAD_RECORDS:
                sandboxes.control("dingtalk").mutate("set_person", userid=userid, **{field: value})
            env = {
                **os.environ,
                "AIRFLOW_HOME": str(LOCAL / "airflow"),
                "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
                "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY": "5",
                "AIRFLOW_CONN_MDM_POSTGRES": url,
                "AIRFLOW_CONN_OA_DINGTALK": sandboxes.connection("oa_dingtalk", rate_limit_qps=50),
                "AIRFLOW_CONN_EXPENSE_EKUAIBAO": sandboxes.connection("expense_ekuaibao", rate_limit_qps=50),
                "AIRFLOW_VAR_EXPENSE_SYNC_OA_VENDOR": "dingtalk",
                "EXPENSE_SYNC_GX_RESULTS_DIR": str(docs_dir),
            }
            print("migrating the Airflow metadata database (SQLite under .local/airflow) …", flush=True)
            airflow(env, "db", "migrate", log=log)
            print("day 1: airflow dags test org_sync_daily …", flush=True)
            airflow(env, "dags", "test", "org_sync_daily", log=log)
            churn = sandboxes.control("dingtalk").mutate("churn", fraction=0.02)
            print(f"the OA changes overnight: {churn}", flush=True)
            print("day 2: airflow dags test org_sync_daily …", flush=True)
            airflow(env, "dags", "test", "org_sync_daily", log=log)
        summarize(url, docs_dir / "data_docs" / "local_site" / "index.html")
        print(f"Airflow's own output: {LOCAL / 'demo.log'}")
    finally:
        if server.cluster_dir:  # a throwaway cluster goes away with the demo
            server.stop()


if __name__ == "__main__":
    main()
