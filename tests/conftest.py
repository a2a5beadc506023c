"""Test session setup: an isolated Airflow home, a real PostgreSQL, and the vendor sandboxes over HTTP.

* Airflow gets a temporary ``AIRFLOW_HOME`` with a SQLite metadata DB (created once per session),
  before anything imports Airflow.
* PostgreSQL: the local server if one answers (``$EXPENSE_SYNC_PG_SERVER``), else a throwaway
  cluster started here. A migrated template database is made once; every test that needs the
  middle platform gets a fresh copy (``mdm``), dropped afterwards.
* Sandboxes: one child process serves every vendor for the session; each test resets the vendors
  it uses and points the Airflow connections at them through ``AIRFLOW_CONN_*``.
"""

# ruff: noqa: E402  (Airflow must see its environment before anything imports it)
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_AIRFLOW_HOME = tempfile.mkdtemp(prefix="expense-sync-airflow-")
os.environ.update(
    {
        "AIRFLOW_HOME": _AIRFLOW_HOME,
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY": "1",
        "AIRFLOW__CORE__MAX_TASK_RETRY_DELAY": "2",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": os.environ.get("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING"),
    }
)

import pytest

from expense_sync_sandboxes.cluster import (
    CONNECTIONS,
    SandboxCluster,
)
from expense_sync_sandboxes.postgres import LocalPostgres
from testkit import FAST, VENDORS


@pytest.fixture(scope="session", autouse=True)
def airflow_db():
    from airflow.utils import db

    db.resetdb()
    yield
    shutil.rmtree(_AIRFLOW_HOME, ignore_errors=True)


@pytest.fixture(autouse=True)
def fresh_jwt_keys():
    """Airflow caches its JWT signer and validator per process (``BaseAuthManager._get_token_signer``,
    ``_get_token_validator``, functools caches) from the secret it saw first: a test that serves
    the API with a secret of its own would leave tokens another test signs unverifiable. Each test
    gets them built from its own settings."""
    yield
    from airflow.api_fastapi.auth.managers.base_auth_manager import BaseAuthManager

    BaseAuthManager._get_token_signer.cache_clear()
    BaseAuthManager._get_token_validator.cache_clear()


@pytest.fixture(scope="session")
def pg_server():
    server = LocalPostgres().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mdm_template(pg_server):
    """A database with every migration applied, copied for each test."""
    import psycopg

    from expense_sync.store.migrate import migrate

    name = pg_server.create_database("expense_sync_tmpl")
    with psycopg.connect(pg_server.url(name), autocommit=True) as conn:
        migrate(conn)
    yield name
    pg_server.drop_database(name)


@pytest.fixture
def mdm(pg_server, mdm_template, monkeypatch):
    """A fresh, migrated middle-platform database; ``mdm_postgres`` points at it."""
    import psycopg

    name = pg_server.create_database("expense_sync_test", template=mdm_template)
    url = pg_server.url(name)
    monkeypatch.setenv("AIRFLOW_CONN_MDM_POSTGRES", url)
    conn = psycopg.connect(url, autocommit=True)
    yield conn
    conn.close()
    pg_server.drop_database(name)


@pytest.fixture(scope="session")
def sandbox_cluster():
    with SandboxCluster(VENDORS) as cluster:
        yield cluster


@pytest.fixture
def sandboxes(sandbox_cluster, monkeypatch, tmp_path):
    """All vendor sandboxes reset to a small seeded company, and the connections pointed at them."""
    for vendor in VENDORS:
        sandbox_cluster.control(vendor).reset(seed=1, departments=12, employees=60)
    for conn_id in CONNECTIONS:
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", sandbox_cluster.connection(conn_id, **FAST))
    monkeypatch.setenv("EXPENSE_SYNC_GX_RESULTS_DIR", str(tmp_path / "gx"))
    # The sandboxes push no contact-change events unless a test points them at a receiver: org syncs
    # read the OA whole every run, except in the tests of reading by events (tests/dags/test_org_changes.py).
    monkeypatch.setenv("AIRFLOW_VAR_EXPENSE_SYNC_ORG_FULL_READ_DAYS", "0")
    return sandbox_cluster


@pytest.fixture(scope="session")
def dagbag():
    """The DAGs of dags/, parsed once per session (tests that run a DAG and tests that inspect one)."""
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))


@pytest.fixture(scope="session")
def deadline_dags():
    """The DAGs of dags/ parsed once with deadline alerts on (as deployed); the variable is unset again
    before any test runs, so ``dagbag`` and DAG runs never see it."""
    from opskit import parse_with_deadlines

    with pytest.MonkeyPatch.context() as patch:
        return parse_with_deadlines(patch)
