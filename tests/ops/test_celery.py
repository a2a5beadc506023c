"""The CeleryExecutor of docker-compose.yaml, run for real without Docker: ``make airflow EXECUTOR=celery``.

One deployment for this module, started as ``scripts/local_airflow.py --executor celery`` starts it:
scheduler, api-server, dag-processor, triggerer and two Celery workers (``airflow celery worker``,
compose's default queue and concurrency, distinct ``--celery-hostname``) on this machine's Redis and
PostgreSQL, the task results in the metadata database as compose keeps them. Free ports, a temporary
AIRFLOW_HOME, databases of its own and a Redis key prefix of its own, so parallel sessions sharing the
Redis never take each other's tasks. The vendors are the sandboxes; 合思's outbound messages reach
the webhook receiver the api-server serves, whose asset event starts ``claim_events``.

What it proves: the runs succeed through the workers, the task instances' ``hostname`` names both
workers (each took tasks), the vendor tasks took their pools on compose's queue, the middle platform
holds what the runs synced, and stopping leaves no process and no Redis key behind.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from pathlib import Path

import psycopg
import pytest

from expense_sync.pools import POOL_ERP, POOL_EXPENSE, POOL_OA
from expense_sync_sandboxes.ekuaibao.flows import OUTBOUND_PATH_TOKEN
from testkit import canonical_state, expense_state

ORG, CHART, CLAIMS = "org_sync_daily", "expense_category_sync_weekly", "claim_events"
ERP = "kingdee"  # setup's Variable expense_sync_erp_vendor in the local deployment
QUEUE = "default"  # compose sets no [operators] default_queue: every task goes to Airflow's default


@pytest.fixture(scope="module")
def celery_airflow(tmp_path_factory):
    """The deployment, stopped at the end of the module: then no process with its AIRFLOW_HOME may
    run, and no key with its prefix may be left in Redis."""
    import redis

    from expense_sync_sandboxes.postgres import LocalPostgres
    from local_airflow import LocalAirflow, Settings, free_port
    from testkit import FAST

    home = tmp_path_factory.mktemp("airflow-celery-home")
    suffix = uuid.uuid4().hex[:8]
    settings = Settings(
        home=home,
        port=free_port(),
        metadata_db=f"expense_sync_airflow_celery_{suffix}",
        mdm_db=f"expense_sync_mdm_celery_{suffix}",
        fresh=True,
        connection_extra=FAST,
        connection_extras={"expense_ekuaibao": {"outbound_path_tokens": [OUTBOUND_PATH_TOKEN]}},
        environment={
            "AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY": "1",
            "AIRFLOW__CORE__MAX_TASK_RETRY_DELAY": "2",
            "EXPENSE_SYNC_GX_RESULTS_DIR": str(home / "gx"),
            "EXPENSE_SYNC_WEBHOOK_NOTIFY_INTERVAL": "0.5",
        },
        executor="celery",
        workers=2,
        broker_key_prefix=f"expense-sync-test-{suffix}:",
    )
    broker = redis.Redis.from_url(settings.broker_url)
    local = LocalAirflow(settings)
    try:
        local.start(timeout=420)
        yield local
    finally:  # also when it did not start: its databases and keys go all the same
        local.stop()
        leftovers = local.leftovers()
        keys = list(broker.scan_iter(match=f"{settings.broker_key_prefix}*"))
        # a clean stop leaves no task in the queue and none taken but unacknowledged
        waiting = {
            k: broker.llen(k) if broker.type(k) == b"list" else broker.hlen(k)
            for k in keys
            if k.endswith((f":{QUEUE}".encode(), b"unacked"))
        }
        if keys:  # the rest (bindings) goes with the deployment
            broker.delete(*keys)
        with contextlib.suppress(psycopg.OperationalError):  # none answers: a throwaway cluster, gone with it
            for name in (settings.metadata_db, settings.mdm_db):
                LocalPostgres().drop_database(name)
    assert not leftovers, f"processes left running: {leftovers}"
    assert not any(waiting.values()), f"tasks left in Redis: {waiting}"


@pytest.fixture(scope="module")
def middle(celery_airflow):
    with psycopg.connect(celery_airflow.env["AIRFLOW_CONN_MDM_POSTGRES"], autocommit=True) as conn:
        yield conn


def run_green(local, dag_id: str, timeout: float = 600) -> list[dict]:
    """Trigger ``dag_id`` and wait for success; its task instances."""
    run_id = local.trigger(dag_id)
    state = local.wait_for_run(dag_id, run_id, timeout=timeout)
    tasks = task_instances(local, dag_id, run_id)
    assert state == "success", {t["task_id"]: t["state"] for t in tasks}
    return tasks


def task_instances(local, dag_id: str, run_id: str) -> list[dict]:
    return local.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 100})["task_instances"]


def ran(tasks: list[dict]) -> list[dict]:
    """The task instances a worker ran (not the skipped ones)."""
    return [t for t in tasks if t["state"] == "success"]


def test_without_its_broker_the_celery_deployment_says_so_and_starts_nothing(tmp_path):
    from local_airflow import LocalAirflow, Settings, free_port

    local = LocalAirflow(
        Settings(home=tmp_path / "home", executor="celery", broker_url=f"redis://127.0.0.1:{free_port()}/0")
    )
    with pytest.raises(RuntimeError, match="Celery broker .* does not answer.*redis-server"):
        local.start()
    assert not local.processes and local.postgres is None and not (tmp_path / "home").exists()


@pytest.fixture(scope="module")
def org_run(celery_airflow) -> list[dict]:
    return run_green(celery_airflow, ORG)


@pytest.mark.timeout(1200)
def test_org_sync_daily_runs_on_the_workers_and_fills_the_middle_platform(celery_airflow, org_run, middle):
    assert celery_airflow.env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    workers = set(celery_airflow.settings.worker_names())
    assert len(workers) == 2 and {"worker-1", "worker-2"} <= set(celery_airflow.processes)
    for component, process in celery_airflow.processes.items():  # the workers too: Variables live in the database
        environ = Path(f"/proc/{process.pid}/environ").read_bytes().split(b"\0")
        assert not [e for e in environ if e.startswith(b"AIRFLOW_VAR_")], component
    assert {t["hostname"] for t in ran(org_run)} <= workers, "a task ran somewhere else than on a worker"
    assert {t["queue"] for t in org_run} == {QUEUE}
    pools = {t["task_id"]: t["pool"] for t in org_run}
    assert (pools["extract_directory"], pools["push_to_expense_system"]) == (POOL_OA, POOL_EXPENSE)

    # the middle platform holds the OA's people, and 合思 holds exactly what the middle platform holds
    people = {p["job_number"] for p in celery_airflow.sandboxes.control("dingtalk").state()["people"] if p["active"]}
    canonical, expense = canonical_state(middle), expense_state(celery_airflow.sandboxes)
    assert people and {no for no, e in canonical["employees"].items() if e["active"]} == people
    assert {code: (s["name"], s["unit"], s["active"]) for code, s in expense["staff"].items()} == {
        no: (e["name"], e["unit"], e["active"]) for no, e in canonical["employees"].items()
    }


@pytest.mark.timeout(1200)
def test_a_webhook_claim_becomes_a_voucher_through_the_workers_and_both_workers_took_tasks(
    celery_airflow, org_run, middle, monkeypatch
):
    from chartkit import seed_org_units
    from claimkit import claim_row, erp_vouchers, file_claim, voucher_row

    local = celery_airflow
    monkeypatch.setenv(f"AIRFLOW_CONN_ERP_{ERP.upper()}", local.env[f"AIRFLOW_CONN_ERP_{ERP.upper()}"])
    seed_org_units(middle, ERP)  # the departments the ERP's cost centers name (org_sync brings the OA's)
    chart = run_green(local, CHART)  # cost centers and fee types into 合思, mapped to GL accounts

    # 合思 sends its outbound messages to the receiver the api-server serves; its asset event starts the run
    local.sandboxes.control("ekuaibao").mutate(
        "configure_outbound", url=f"{local.url}/expense-sync/webhooks/ekuaibao/{OUTBOUND_PATH_TOKEN}"
    )
    started = {r["dag_run_id"] for r in local.api("GET", f"/dags/{CLAIMS}/dagRuns")["dag_runs"]}
    claim_no = file_claim(local.sandboxes, middle, amounts=("1280.00", "356.50"))["form"]["code"]
    inbox = middle.execute("SELECT source, status FROM sync.event_inbox").fetchall()
    assert inbox and {source for source, _ in inbox} == {"ekuaibao"}, "the receiver stored 合思's messages"
    run = wait_for_asset_run(local, started, within=300)
    assert local.wait_for_run(CLAIMS, run["dag_run_id"], timeout=600) == "success"
    claims = task_instances(local, CLAIMS, run["dag_run_id"])
    assert {t["task_id"]: t["state"] for t in claims} == {
        "migrate": "success",
        "collect_claims": "success",
        "accrue_bookings": "success",
        "validate_claims": "success",
        "check_claims_health": "success",
        "post_vouchers": "success",
        "reverse_accruals": "success",
        "summarize": "success",
    }
    assert {t["pool"] for t in claims if t["task_id"] == "post_vouchers"} == {POOL_ERP}
    assert {status for _, status in middle.execute("SELECT source, status FROM sync.event_inbox").fetchall()} == {
        "processed"
    }

    # the middle platform and the ERP hold the claim's one voucher
    assert claim_row(middle, claim_no)["state"] == "voucher_created"
    voucher = voucher_row(middle, claim_no)
    [held] = erp_vouchers(local.sandboxes, ERP, claim_no)
    assert voucher["remote_id"] and str(voucher["total"]) == "1636.50" and held

    # every task ran on one of the two workers, and each worker took some
    everything = ran(org_run) + ran(chart) + ran(claims)
    hosts = {t["hostname"] for t in everything}
    assert hosts == set(local.settings.worker_names()), {t["task_id"]: t["hostname"] for t in everything}
    assert {t["queue"] for t in everything} == {QUEUE}


def wait_for_asset_run(local, before: set[str], within: float) -> dict:
    """The first run of claim_events that an asset event (the receiver's) started after ``before``."""
    deadline = time.monotonic() + within
    while True:
        runs = local.api("GET", f"/dags/{CLAIMS}/dagRuns")["dag_runs"]
        fresh = [r for r in runs if r["dag_run_id"] not in before and r["run_type"] == "asset_triggered"]
        if fresh:
            return fresh[0]
        assert time.monotonic() < deadline, f"no asset-triggered run of {CLAIMS}: {runs}"
        local.check_alive()
        time.sleep(2)
