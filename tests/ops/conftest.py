"""One local Airflow deployment for the tests under tests/ops, started as ``make airflow`` starts it.

Free ports, a temporary AIRFLOW_HOME and databases of its own; the probe DAGs of tests/ops/dags as a
second bundle; fast retries. At the end it is stopped and nothing it started may still be running.
"""

from __future__ import annotations

import uuid

import pytest

from expense_sync_sandboxes.postgres import LocalPostgres
from local_airflow import LocalAirflow, Settings, free_port
from testkit import FAST, ROOT

PROBE_DAGS = ROOT / "tests" / "ops" / "dags"


@pytest.fixture(scope="session")
def local_airflow(tmp_path_factory):
    home = tmp_path_factory.mktemp("airflow-home")
    suffix = uuid.uuid4().hex[:8]
    settings = Settings(
        home=home,
        port=free_port(),
        metadata_db=f"expense_sync_airflow_{suffix}",
        mdm_db=f"expense_sync_mdm_{suffix}",
        fresh=True,
        extra_dag_dirs=[PROBE_DAGS],
        connection_extra=FAST,
        environment={
            "AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY": "1",
            "AIRFLOW__CORE__MAX_TASK_RETRY_DELAY": "2",
            "EXPENSE_SYNC_GX_RESULTS_DIR": str(home / "gx"),
        },
    )
    local = LocalAirflow(settings).start()
    throwaway = bool(local.postgres and local.postgres.cluster_dir)  # goes away with the deployment
    try:
        yield local
    finally:
        local.stop()
        leftovers = local.leftovers()
        if not throwaway:
            for name in (settings.metadata_db, settings.mdm_db):
                LocalPostgres().drop_database(name)
    assert not leftovers, f"processes left running: {leftovers}"


@pytest.fixture(scope="session")
def green_run(local_airflow) -> str:
    """A run of org_sync_daily triggered through the API, finished: its run id."""
    run_id = local_airflow.trigger("org_sync_daily")
    assert local_airflow.wait_for_run("org_sync_daily", run_id) == "success"
    return run_id
