"""``make airflow``: the Airflow UI on this machine, without Docker, ready to run every DAG.

What it starts, each in a process group of its own so that stopping it is exact:

1. PostgreSQL (the local server if one answers, else a throwaway cluster) with two databases: the
   Airflow metadata (``expense_sync_airflow``) and the middle platform (``expense_sync_local``);
2. every vendor sandbox, on free ports of 127.0.0.1;
3. ``airflow db migrate`` and ``python -m expense_sync setup`` (connections, variables, pools,
   migrations, the admin password), as the docker-compose init service does;
4. the components of the docker-compose deployment: ``api-server``, ``scheduler``, ``dag-processor`` and
   ``triggerer``, with ``AIRFLOW_HOME=.local/airflow``; by default the scheduler runs the tasks itself
   (LocalExecutor); ``--executor celery`` (``make airflow EXECUTOR=celery``) runs them as compose does,
   on Celery workers (two by default) fed through Redis, with their results in the metadata database;
5. one run of every DAG, so the UI shows green runs (``--no-runs`` skips it).

It prints the address and the login, then waits; Ctrl+C (or SIGTERM) stops everything it started.
The users (``admin``; ``finance`` and ``hr``, who decide the chart's and the org's questions; ``auditor``,
read-only; ``expense-sync``, the DAGs' own, which writes each run's note through the REST API: connection
``airflow_api``) get a password generated once and kept in ``.local/airflow/simple_auth_manager_passwords.json``;
the databases stay between launches (``--fresh`` starts them anew). Tests drive :class:`LocalAirflow`
from Python with free ports, a temporary home and databases of their own.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "include" / "sandboxes")]

from expense_sync_sandboxes import VENDORS  # noqa: E402
from expense_sync_sandboxes.cluster import CONNECTIONS, SandboxCluster, free_port  # noqa: E402
from expense_sync_sandboxes.postgres import LocalPostgres  # noqa: E402

COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
EXECUTORS = {"local": "LocalExecutor", "celery": "CeleryExecutor"}
CELERY_APP = "airflow.providers.celery.executors.celery_executor.app"  # compose's worker healthcheck pings it
# What a Celery worker's tasks report as their host (``[core] hostname_callable``): on one machine every
# worker would otherwise report the same name, where compose's containers each report their own
WORKER_HOSTNAME = "LOCAL_AIRFLOW_WORKER_HOSTNAME"
ADMIN = "admin"
# The people of the UI (SimpleAuthManager, user:role), as docker-compose.yaml names them: the decisions
# under Required Actions are assigned by kind (Variable expense_sync_deciders) and recorded by name
USERS = {ADMIN: "admin", "finance": "user", "hr": "user", "auditor": "viewer"}
# The OA sandboxes' event-callback secrets (the OA connections' extras and what the sandbox seals with).
_CALLBACK = {
    "callback_token": "local-oa-callback-token",
    "callback_aes_key": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
}
OA_CALLBACK = {"oa_dingtalk": _CALLBACK, "oa_wecom": _CALLBACK}
# The DAGs' own user: summarize writes each run's note through the REST API as it (connection airflow_api)
SERVICE_USER = "expense-sync"
DECIDERS = {"chart": ["finance"], "claims": ["finance"], "org": ["hr"]}
SIMPLE_AUTH_MANAGER = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
VARIABLE_PREFIX = "AIRFLOW_VAR_"  # Airflow reads a Variable from the environment before its database
CLI_ENV = "cli.env.json"  # how the operator's command line reaches the running deployment
STOP_GRACE = 30.0  # seconds a component gets to exit on SIGTERM before SIGKILL


@dataclass
class Settings:
    """Where and how to run. The defaults are ``make airflow``'s; tests pass their own."""

    home: Path = ROOT / ".local" / "airflow"
    port: int = 8080
    metadata_db: str = "expense_sync_airflow"
    mdm_db: str = "expense_sync_local"
    fresh: bool = False  # drop both databases first
    extra_dag_dirs: list[Path] = field(default_factory=list)  # more DAG bundles (tests add probe DAGs)
    connection_extra: dict[str, Any] = field(default_factory=lambda: {"rate_limit_qps": 50})
    connection_extras: dict[str, dict[str, Any]] = field(default_factory=dict)  # conn id -> more extras of it
    environment: dict[str, str] = field(default_factory=dict)  # last word on any variable
    executor: str = "local"  # or "celery": the workers below, as docker-compose.yaml runs them
    workers: int = 2  # Celery workers (``airflow celery worker``), each on its own host name
    broker_url: str = "redis://127.0.0.1:6379/0"
    # every Redis key (queues, the workers' broadcast channels) starts with it: deployments sharing one
    # Redis do not take each other's tasks (tests use one of their own)
    broker_key_prefix: str = "expense-sync:"

    @property
    def celery(self) -> bool:
        return self.executor == "celery"

    def worker_names(self) -> list[str]:
        """The Celery host names of the workers (``celery@<host>`` in compose)."""
        host = socket.getfqdn()
        return [f"worker{n}@{host}" for n in range(1, self.workers + 1)] if self.celery else []


class LocalAirflow:
    """Start and stop the local deployment; talk to its REST API."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.home = self.settings.home
        self.url = f"http://127.0.0.1:{self.settings.port}"
        self.postgres: LocalPostgres | None = None
        self.sandboxes: SandboxCluster | None = None
        self.processes: dict[str, subprocess.Popen] = {}
        self.env: dict[str, str] = {}
        self.password = ""
        self.passwords: dict[str, str] = {}  # every user's, the admin's included
        self._token: str | None = None

    # -- start ------------------------------------------------------------------------------------
    def start(self, timeout: float = 180) -> LocalAirflow:
        try:
            self._start(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self, timeout: float) -> None:
        if _listening(self.settings.port):
            raise RuntimeError(f"port {self.settings.port} is taken: choose another (make airflow PORT=8081)")
        if self.settings.celery:
            _check_broker(self.settings.broker_url)
        self.home.mkdir(parents=True, exist_ok=True)
        self.postgres = LocalPostgres().start()
        metadata_url, mdm_url = (self._database(name) for name in (self.settings.metadata_db, self.settings.mdm_db))
        self.sandboxes = SandboxCluster(list(VENDORS)).start()
        self.passwords = self._user_passwords()
        self.password = self.passwords[ADMIN]
        setup_env = self._environment(metadata_url, mdm_url)
        # Variables go into the metadata database through setup and nowhere else: an AIRFLOW_VAR_* in
        # the components' environment would shadow what an operator sets in the UI
        self.env = {k: v for k, v in setup_env.items() if not k.startswith(VARIABLE_PREFIX)}
        self._run("db", "migrate")
        self._check_call([sys.executable, "-m", "expense_sync", "setup"], env=setup_env)
        self._write_cli_env()
        for component in COMPONENTS:
            self._spawn(component, [self._airflow(), component], self.env)
        for n, name in enumerate(self.settings.worker_names(), 1):
            self._start_worker(n, name)
        deadline = time.monotonic() + timeout
        self._wait_until_ready(deadline)
        self._point_oa_callbacks()
        if self.settings.celery:
            self._wait_for_workers(deadline)

    def _point_oa_callbacks(self) -> None:
        """The OA sandboxes push their approval and contact-change events to the api-server's receiver,
        as a tenant registers it as the OA's event callback (org_sync_daily reads by those events)."""
        for conn_id, extras in OA_CALLBACK.items():
            self.sandboxes.control(CONNECTIONS[conn_id][0]).mutate(
                "configure_callback",
                url=f"{self.url}/expense-sync/webhooks/{CONNECTIONS[conn_id][0]}",
                token=extras["callback_token"],
                aes_key=extras["callback_aes_key"],
                receive_id=CONNECTIONS[conn_id][1],  # the AppKey / CorpID the receiver expects
            )

    def _start_worker(self, n: int, name: str) -> None:
        """``airflow celery worker`` as compose's airflow-worker runs it (default queue and concurrency),
        under a host name of its own, with its own pid file and log server port."""
        env = {
            **self.env,
            "PYTHONPATH": os.pathsep.join([self.env["PYTHONPATH"], str(Path(__file__).parent)]),
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": f"{Path(__file__).stem}.worker_hostname",
            WORKER_HOSTNAME: name,
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        }
        pid_file = str(self.home / f"worker-{n}.pid")
        self._spawn(
            f"worker-{n}", [self._airflow(), "celery", "worker", "--celery-hostname", name, "--pid", pid_file], env
        )

    def _spawn(self, name: str, command: list[str], env: dict[str, str]) -> None:
        """A long-running component in its own process group, its output in ``<home>/<name>.log``."""
        with open(self.home / f"{name}.log", "ab") as log:
            self.processes[name] = subprocess.Popen(
                command, env=env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def _wait_for_workers(self, deadline: float) -> None:
        """Until every worker answers compose's healthcheck (``celery inspect ping``) through the broker."""
        names = self.settings.worker_names()
        celery = str(Path(sys.executable).parent / "celery")
        while True:
            self.check_alive()
            done = subprocess.run(
                [celery, "--app", CELERY_APP, "inspect", "ping", "--timeout", "5", "-d", ",".join(names)],
                env=self.env,
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=120,
            )
            if done.returncode == 0 and all(f"{name}: OK" in done.stdout for name in names):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the Celery workers did not answer in time; see {self.home}/worker-*.log")
            time.sleep(2)

    def _write_cli_env(self) -> None:
        """Where ``make resolve`` (scripts/operator_cli.py) finds this deployment; gone when it stops."""
        keys = ("AIRFLOW_HOME", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW_CONN_MDM_POSTGRES")
        path = self.home / CLI_ENV
        path.write_text(json.dumps({k: self.env[k] for k in keys}))
        path.chmod(0o600)

    def _database(self, name: str) -> str:
        import psycopg
        from psycopg import sql

        assert self.postgres is not None
        if self.settings.fresh:
            self.postgres.drop_database(name)
        with psycopg.connect(self.postgres.server_url, autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.postgres.url(name)

    def _passwords_file(self) -> Path:
        return self.home / "simple_auth_manager_passwords.json"

    def _user_passwords(self) -> dict[str, str]:
        """Every user's password: kept from the last launch, generated once for a new user, written
        where the api-server reads them (setup writes the admin's again, as compose does)."""
        path = self._passwords_file()
        known = json.loads(path.read_text() or "{}") if path.exists() and not self.settings.fresh else {}
        passwords = {user: known.get(user) or secrets.token_urlsafe(12) for user in [*USERS, SERVICE_USER]}
        path.write_text(json.dumps(passwords))
        path.chmod(0o600)
        return passwords

    def _environment(self, metadata_url: str, mdm_url: str) -> dict[str, str]:
        assert self.sandboxes is not None
        port = self.settings.port
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT / "plugins"), str(ROOT / "include" / "sandboxes")]),
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": EXECUTORS[self.settings.executor],
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__AUTH_MANAGER": SIMPLE_AUTH_MANAGER,
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(
                f"{user}:{role}" for user, role in {**USERS, SERVICE_USER: "user"}.items()
            ),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self._passwords_file()),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY": "10",
            "AIRFLOW__CORE__MAX_TASK_RETRY_DELAY": "60",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url.replace("postgresql://", "postgresql+psycopg://", 1),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__BASE_URL": self.url,
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            # serve-logs listens on fixed ports by default (8793, 8794): take free ones
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            "EXPENSE_SYNC_DEADLINE_ALERTS": "true",
            "EXPENSE_SYNC_ADMIN_PASSWORD": self.password,
            "AIRFLOW_CONN_MDM_POSTGRES": mdm_url,
            "AIRFLOW_CONN_AIRFLOW_API": json.dumps(
                {
                    "conn_type": "http",
                    "host": "127.0.0.1",
                    "port": port,
                    "login": SERVICE_USER,
                    "password": self.passwords.get(SERVICE_USER, ""),
                }
            ),
            "AIRFLOW_VAR_EXPENSE_SYNC_OA_VENDOR": "dingtalk",
            "AIRFLOW_VAR_EXPENSE_SYNC_ERP_VENDOR": "kingdee",
            "AIRFLOW_VAR_EXPENSE_SYNC_DECIDERS": json.dumps(DECIDERS),
        }
        if self.settings.celery:  # docker-compose.yaml's [celery] settings, with this machine's Redis
            env["AIRFLOW__CELERY__BROKER_URL"] = self.settings.broker_url
            env["AIRFLOW__CELERY__RESULT_BACKEND"] = f"db+{metadata_url}"
            env["AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__GLOBAL_KEYPREFIX"] = self.settings.broker_key_prefix
        for conn_id in CONNECTIONS:
            extras = {**OA_CALLBACK.get(conn_id, {}), **self.settings.connection_extras.get(conn_id, {})}
            env[f"AIRFLOW_CONN_{conn_id.upper()}"] = self.sandboxes.connection(
                conn_id, **self.settings.connection_extra, **extras
            )
        if self.settings.extra_dag_dirs:
            bundles = [{"name": "dags-folder", "classpath": _LOCAL_BUNDLE, "kwargs": {}}]
            bundles += [
                {"name": f"extra-{n}", "classpath": _LOCAL_BUNDLE, "kwargs": {"path": str(path)}}
                for n, path in enumerate(self.settings.extra_dag_dirs, 1)
            ]
            env["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"] = json.dumps(bundles)
        env.update(self.settings.environment)
        return env

    def _airflow(self) -> str:
        return str(Path(sys.executable).parent / "airflow")

    def _run(self, *args: str) -> None:
        self._check_call([self._airflow(), *args])

    def _check_call(self, command: list[str], env: dict[str, str] | None = None) -> None:
        with open(self.home / "setup.log", "ab") as log:
            log.write(f"\n$ {' '.join(command)}\n".encode())
            log.flush()
            done = subprocess.run(command, env=env or self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        if done.returncode:
            raise RuntimeError(f"{' '.join(command[-2:])} failed; see {self.home / 'setup.log'}")

    def _wait_until_ready(self, deadline: float) -> None:
        """Until the API answers, every component reports healthy and every DAG file is parsed."""
        expected = self.dag_files()
        while True:
            self.check_alive()
            try:
                health = requests.get(f"{self.url}/api/v2/monitor/health", timeout=5).json()
                healthy = all(
                    health.get(part, {}).get("status") == "healthy"
                    for part in ("metadatabase", "scheduler", "triggerer", "dag_processor")
                )
                if healthy and expected <= self.parsed_files():
                    return
            except (requests.ConnectionError, requests.Timeout, ValueError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"Airflow was not ready in time; see the logs in {self.home}")
            time.sleep(1)

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                tail = "\n".join((self.home / f"{name}.log").read_text(errors="replace").splitlines()[-20:])
                raise RuntimeError(f"airflow {name} exited with code {process.returncode}:\n{tail}")

    # -- the REST API -----------------------------------------------------------------------------
    def token(self) -> str:
        """A JWT for the admin, from ``POST /auth/token`` (SimpleAuthManager)."""
        if self._token is None:
            response = requests.post(
                f"{self.url}/auth/token", json={"username": ADMIN, "password": self.password}, timeout=10
            )
            response.raise_for_status()
            self._token = response.json()["access_token"]
        return self._token

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        response = requests.request(
            method,
            f"{self.url}/api/v2{path}",
            headers={"Authorization": f"Bearer {self.token()}"},
            timeout=30,
            **kwargs,
        )
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:500]}")
        return response.json() if response.content else None

    def dag_files(self) -> set[str]:
        """Every DAG file the deployment should have parsed (a DAG's id is its file's name)."""
        folders = [ROOT / "dags", *self.settings.extra_dag_dirs]
        return {path.name for folder in folders for path in folder.glob("*.py") if not path.name.startswith("_")}

    def parsed_files(self) -> set[str]:
        """The DAG files the dag-processor has parsed, into DAGs or into import errors."""
        dags = self.api("GET", "/dags", params={"limit": 1000})["dags"]
        errors = self.api("GET", "/importErrors", params={"limit": 1000})["import_errors"]
        return {Path(d["fileloc"]).name for d in dags} | {Path(e["filename"]).name for e in errors}

    def trigger(self, dag_id: str, conf: dict | None = None) -> str:
        """Start a run of ``dag_id`` now; its run id."""
        run = self.api("POST", f"/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf or {}})
        return run["dag_run_id"]

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 300) -> str:
        """Wait until the run finishes; its final state."""
        deadline = time.monotonic() + timeout
        while True:
            self.check_alive()
            state = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"]
            if state in ("success", "failed"):
                return state
            if time.monotonic() > deadline:
                raise TimeoutError(f"{dag_id} {run_id} still {state} after {timeout}s")
            time.sleep(2)

    # -- stop -------------------------------------------------------------------------------------
    def leftovers(self) -> list[int]:
        """Processes still running with this deployment's AIRFLOW_HOME (none after :meth:`stop`)."""
        marker = f"AIRFLOW_HOME={self.home}".encode()
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and int(entry.name) != os.getpid():
                try:
                    if marker in (entry / "environ").read_bytes().split(b"\0"):
                        found.append(int(entry.name))
                except OSError:
                    continue
        return found

    def stop(self) -> None:
        """SIGTERM to every component's and Celery worker's process group (a worker's warm shutdown lets
        its running tasks finish), SIGKILL to what is left; then sandboxes and PostgreSQL."""
        for process in self.processes.values():
            _signal_group(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        for process in self.processes.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            _signal_group(process.pid, signal.SIGKILL)
            process.wait()
        self.processes.clear()
        (self.home / CLI_ENV).unlink(missing_ok=True)
        for pid in self.leftovers():  # anything that left its group (a task's own session)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.sandboxes:
            self.sandboxes.stop()
            self.sandboxes = None
        if self.postgres and self.postgres.cluster_dir:
            self.postgres.stop()
        self.postgres = None

    def __enter__(self) -> LocalAirflow:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


_LOCAL_BUNDLE = "airflow.dag_processing.bundles.local.LocalDagBundle"


def worker_hostname() -> str:
    """``[core] hostname_callable`` of a Celery worker started here: the host name it was given."""
    return os.environ[WORKER_HOSTNAME]


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def _check_broker(url: str) -> None:
    """The Celery broker answers, or the launch stops before starting anything, saying what is missing."""
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5).ping()
    except redis.RedisError as err:
        raise RuntimeError(
            f"the Celery broker {url} does not answer ({err}): start redis-server or pass --broker"
        ) from None


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make airflow", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8080, help="the UI's port")
    parser.add_argument("--fresh", action="store_true", help="start with empty databases and a new password")
    parser.add_argument("--no-runs", action="store_true", help="do not trigger a first run of each DAG")
    parser.add_argument("--executor", choices=sorted(EXECUTORS), default="local", help="celery: as docker-compose")
    parser.add_argument("--workers", type=int, default=2, help="Celery workers (with --executor celery)")
    parser.add_argument("--broker", default=Settings.broker_url, help="the Celery broker (Redis)")
    args = parser.parse_args(argv)

    def terminate(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, terminate)  # also when started in the background, where SIGINT is ignored
    settings = Settings(
        port=args.port, fresh=args.fresh, executor=args.executor, workers=args.workers, broker_url=args.broker
    )
    local = LocalAirflow(settings)
    print("starting PostgreSQL, the vendor sandboxes and Airflow (about a minute) …", flush=True)
    try:
        local.start()
        dag_ids = sorted(d["dag_id"] for d in local.api("GET", "/dags", params={"limit": 1000})["dags"])
        if not args.no_runs:
            for dag_id in dag_ids:
                local.trigger(dag_id)
        assert local.sandboxes is not None and local.postgres is not None
        print(
            f"\nAirflow UI: {local.url}   logins: "
            + ", ".join(f"{user} / {local.passwords[user]} ({USERS[user]})" for user in USERS)
            + f"\ndecisions under Required Actions: {', '.join(f'{k} by {v[0]}' for k, v in DECIDERS.items())}\n"
            f"DAGs: {', '.join(dag_ids)}" + ("" if args.no_runs else " (a first run of each is under way)") + "\n"
            f"middle platform: {local.postgres.url(local.settings.mdm_db)}\n"
            f"sandboxes: {', '.join(f'{v} {local.sandboxes.url(v)}' for v in local.sandboxes.ports)}\n"
            + (
                f"Celery workers: {', '.join(settings.worker_names())} on {settings.broker_url}\n"
                if settings.celery
                else ""
            )
            + f"Data Docs: {ROOT / 'great_expectations/uncommitted/data_docs/local_site/index.html'}\n"
            f"logs: {local.home}/<component>.log; task logs in {local.home / 'logs'}\n"
            "Ctrl+C stops everything.",
            flush=True,
        )
        while True:
            time.sleep(1)
            local.check_alive()
    except KeyboardInterrupt:
        print("\nstopping …", flush=True)
    except RuntimeError as err:
        print(f"\n{err}", file=sys.stderr, flush=True)
        return 1
    finally:
        local.stop()
        print("stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
