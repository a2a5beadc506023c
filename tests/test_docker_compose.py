"""docker-compose.yaml, the Dockerfile and .env.example, checked without a Docker engine.

The compose file is read with PyYAML (anchors and ``<<`` merges resolved as compose resolves them)
and held to the shape of Airflow's official file: CeleryExecutor with Redis, PostgreSQL, api-server,
scheduler, dag-processor, worker, triggerer and an init service, each Airflow service mounting the
project's folders; the sandboxes and Flower as optional profiles. Every connection, variable and
``EXPENSE_SYNC_*`` name the code reads is provided (compose or .env.example) and documented
(README.md), and no name there is one the code does not read. The Dockerfile installs the same pins.
"""

import json
import re
import urllib.parse

import pytest
import yaml

from expense_sync import settings
from expense_sync.hooks import registry
from expense_sync.hooks.base import VendorHook
from expense_sync_sandboxes import VENDORS
from expense_sync_sandboxes.cluster import CONNECTION_EXTRAS, CONNECTIONS
from testkit import ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
COMPOSE_TEXT = (ROOT / "docker-compose.yaml").read_text()
SERVICES = COMPOSE["services"]
AIRFLOW_SERVICES = {
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-worker": "celery worker",
    "airflow-triggerer": "triggerer",
}
MOUNTED = ("dags", "plugins", "include", "great_expectations")
README = (ROOT / "README.md").read_text()


def env_example() -> dict[str, str]:
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip().removeprefix("'").removesuffix("'")
    return values


ENV_EXAMPLE = env_example()


def mounts(service: dict) -> dict[str, str]:
    """container path -> host path (with ``${AIRFLOW_PROJ_DIR:-.}`` read as ``.``)."""
    pairs = (v.replace("${AIRFLOW_PROJ_DIR:-.}", ".").split(":")[:2] for v in service.get("volumes", []))
    return {container: host for host, container in pairs}


def code_reads() -> dict[str, set[str]]:
    """The connection ids, Variables and EXPENSE_SYNC_* environment names the package and DAGs read."""
    conn_ids = {v for k, v in vars(settings).items() if k.endswith("_CONN_ID")}
    conn_ids |= {hook.default_conn_name for role in registry.ROLES for hook in registry.vendors(role).values()}
    variables = {v for k, v in vars(settings).items() if k.startswith("VAR_")}
    sources = [*(ROOT / "plugins").rglob("*.py"), *(ROOT / "dags").glob("*.py")]
    found = {m for path in sources for m in re.findall(r"[\"'](EXPENSE_SYNC_[A-Z_]+)[\"']", path.read_text())}
    envs = {name for name in found if not name.endswith("_")}  # a prefix (EXPENSE_SYNC_WEBHOOK_) is no name
    return {"connections": conn_ids, "variables": variables, "environment": envs}


READS = code_reads()


def test_the_services_of_the_official_shape_are_all_there():
    assert set(AIRFLOW_SERVICES) | {"postgres", "redis", "airflow-init", "sandboxes"} <= set(SERVICES)
    for name, command in AIRFLOW_SERVICES.items():
        service = SERVICES[name]
        assert service["command"] == command, name
        assert service["build"] == "." and service["image"].startswith("${EXPENSE_SYNC_IMAGE"), name
        assert service["healthcheck"]["test"], name
        assert service["restart"] == "always", name
        depends = service["depends_on"]
        assert depends["airflow-init"]["condition"] == "service_completed_successfully", name
        assert depends["postgres"]["condition"] == depends["redis"]["condition"] == "service_healthy", name
    assert SERVICES["airflow-worker"]["depends_on"]["airflow-apiserver"]["condition"] == "service_healthy"
    assert SERVICES["postgres"]["image"].startswith("postgres:") and SERVICES["redis"]["image"].startswith("redis:")
    assert SERVICES["airflow-apiserver"]["ports"] == ["${AIRFLOW_PORT:-8080}:8080"]


def test_airflow_runs_celery_on_redis_with_postgresql_and_the_execution_api():
    env = SERVICES["airflow-scheduler"]["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://") and "@redis:" in env["AIRFLOW__CELERY__BROKER_URL"]
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://airflow:")
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].endswith("@postgres/airflow")
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "false"
    assert SERVICES["airflow-worker"]["environment"]["DUMB_INIT_SETSID"] == "0"


@pytest.mark.parametrize("service", [*AIRFLOW_SERVICES, "airflow-init"])
def test_each_airflow_service_mounts_the_project(service):
    found = mounts(SERVICES[service])
    for folder in MOUNTED:
        assert found.get(f"/opt/airflow/{folder}") == f"./{folder}", f"{service} does not mount {folder}"
        assert (ROOT / folder).is_dir()
    results = SERVICES[service]["environment"]["EXPENSE_SYNC_GX_RESULTS_DIR"]
    assert results in found, "the Data Docs and validation results must outlive the container"


def test_init_migrates_and_runs_setup_with_the_env_file():
    init = SERVICES["airflow-init"]
    script = init["command"][-1]
    assert init["environment"]["_AIRFLOW_DB_MIGRATE"] == "true" and "/entrypoint airflow version" in script
    assert "python -m expense_sync setup" in script
    assert init["env_file"] == [".env"] and init["user"] == "0:0"
    mdm = urllib.parse.urlsplit(re.sub(r"\$\{[^}]*\}", "pw", init["environment"]["AIRFLOW_CONN_MDM_POSTGRES"]))
    assert (mdm.hostname, mdm.port) == ("postgres", 5432)
    created = (ROOT / "deploy" / "postgres" / "10-middle-platform.sh").read_text()
    assert (
        f"CREATE ROLE {mdm.username} LOGIN" in created
        and f"CREATE DATABASE {mdm.path[1:]} OWNER {mdm.username}" in created
    )
    assert mounts(SERVICES["postgres"])["/docker-entrypoint-initdb.d"] == "./deploy/postgres"


def test_the_sandboxes_are_an_optional_profile_serving_every_vendor():
    sandboxes = SERVICES["sandboxes"]
    assert sandboxes["profiles"] == ["sandboxes"]
    assert sandboxes["entrypoint"] == ["python", "-m", "expense_sync_sandboxes"]
    ports = dict(arg.removeprefix("--port=").split("=") for arg in sandboxes["command"] if arg.startswith("--port="))
    assert set(ports) == set(VENDORS), "every registered sandbox is served"
    assert "--host=0.0.0.0" in sandboxes["command"]
    assert sandboxes["environment"]["PYTHONPATH"] == "/opt/airflow/include/sandboxes"
    assert mounts(sandboxes)["/opt/airflow/include"] == "./include"
    assert all("profiles" not in SERVICES[s] for s in AIRFLOW_SERVICES), "Airflow runs without the sandboxes"


def test_flower_is_an_optional_profile_as_in_the_official_file():
    """``docker compose --profile flower up``: Celery's monitor on 5555, on the deployment's broker."""
    from airflow.providers.celery.cli.definition import get_celery_cli_commands

    flower = SERVICES["flower"]
    assert flower["profiles"] == ["flower"] and flower["command"] == "celery flower"
    celery = next(group for group in get_celery_cli_commands() if group.name == "celery")
    assert "flower" in {command.name for command in celery.subcommands}, "the pinned provider has the command"
    assert flower["ports"] == ["5555:5555"]
    assert flower["healthcheck"]["test"] == ["CMD", "curl", "--fail", "http://localhost:5555/"]
    assert flower["restart"] == "always" and flower["image"] == SERVICES["airflow-worker"]["image"]
    assert flower["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
    assert flower["depends_on"]["redis"]["condition"] == "service_healthy"
    broker = ("AIRFLOW__CORE__EXECUTOR", "AIRFLOW__CELERY__BROKER_URL", "AIRFLOW__CELERY__RESULT_BACKEND")
    assert {k: flower["environment"][k] for k in broker} == {
        k: SERVICES["airflow-worker"]["environment"][k] for k in broker
    }
    assert "flower" not in AIRFLOW_SERVICES and all("profiles" not in SERVICES[s] for s in AIRFLOW_SERVICES)


def hook_for(conn_id: str) -> type[VendorHook]:
    found = {hook.default_conn_name: hook for role in registry.ROLES for hook in registry.vendors(role).values()}
    return found[conn_id]


@pytest.mark.parametrize("conn_id", sorted(CONNECTIONS))
def test_the_example_connections_reach_the_sandboxes_with_valid_extras(conn_id):
    vendor, login, password = CONNECTIONS[conn_id]
    conn = json.loads(ENV_EXAMPLE[f"AIRFLOW_CONN_{conn_id.upper()}"])
    ports = dict(a.removeprefix("--port=").split("=") for a in SERVICES["sandboxes"]["command"] if "--port=" in a)
    assert (conn["host"], str(conn["port"]), conn["login"], conn["password"]) == (
        "sandboxes",
        ports[vendor],
        login,
        password,
    )
    assert CONNECTION_EXTRAS.get(conn_id, {}).items() <= conn["extra"].items()
    hook_for(conn_id).settings_model(**conn["extra"])  # unknown extras would fail the hook


def test_every_name_the_code_reads_is_provided_and_documented():
    init_env = SERVICES["airflow-init"]["environment"]
    provided = set(ENV_EXAMPLE) | set(init_env)
    for conn_id in READS["connections"]:
        assert f"AIRFLOW_CONN_{conn_id.upper()}" in provided, f"connection {conn_id} is not in .env.example"
        assert f"`{conn_id}`" in README, f"connection {conn_id} is not documented in README.md"
    for variable in READS["variables"]:
        assert f"AIRFLOW_VAR_{variable.upper()}" in provided, f"Variable {variable} is not in .env.example"
        assert f"`{variable}`" in README, f"Variable {variable} is not documented in README.md"
    for name in READS["environment"]:
        assert f"`{name}`" in README, f"{name} is not documented in README.md"
    for name in ("EXPENSE_SYNC_GX_RESULTS_DIR", "EXPENSE_SYNC_DEADLINE_ALERTS", "EXPENSE_SYNC_ADMIN_PASSWORD"):
        assert name in provided, f"{name} is not set for the deployment"


def test_no_name_in_the_deployment_is_unknown_to_the_code():
    names = set(re.findall(r"\b(EXPENSE_SYNC_[A-Z_]+)\b", COMPOSE_TEXT)) | {
        k for k in ENV_EXAMPLE if "EXPENSE_SYNC_" in k
    }
    names -= {"EXPENSE_SYNC_IMAGE"}  # the image tag, read by compose itself
    for name in names:
        if name.startswith("AIRFLOW_CONN_"):
            assert name.removeprefix("AIRFLOW_CONN_").lower() in READS["connections"], name
        elif name.startswith("AIRFLOW_VAR_"):
            assert name.removeprefix("AIRFLOW_VAR_").lower() in READS["variables"], name
        else:
            assert name in READS["environment"], f"{name} is set but never read"
    for key in ENV_EXAMPLE:
        if key.startswith("AIRFLOW_CONN_"):
            assert key.removeprefix("AIRFLOW_CONN_").lower() in READS["connections"], key


def test_every_compose_variable_has_a_line_in_env_example_and_secrets_are_blank():
    used = set(re.findall(r"(?<!\$)\$\{([A-Z_][A-Z0-9_]*)(:?[-?][^}]*)?\}", COMPOSE_TEXT))  # $${X}: the shell's
    for name, default in used:
        if name in ("AIRFLOW_PROJ_DIR", "EXPENSE_SYNC_IMAGE"):
            continue
        assert name in ENV_EXAMPLE, f"${{{name}}} has no line in .env.example"
        if default.startswith(":?"):
            assert ENV_EXAMPLE[name] == "", f"{name} is a secret: .env.example must leave it blank"
    for key in ("AIRFLOW_CONN_ALERTS_DINGTALK", "AIRFLOW_CONN_ALERTS_SMTP", "AIRFLOW_VAR_EXPENSE_SYNC_ALERT_EMAILS"):
        assert ENV_EXAMPLE[key] == "", f"{key}: alerts are off until the deployment configures them"
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert ".env" in ignored and "/config/" in ignored and "/gx-results/" in ignored


def test_the_dockerfile_installs_the_same_pins_on_the_official_image():
    dockerfile = (ROOT / "Dockerfile").read_text()
    args = dict(re.findall(r"^ARG (\w+)=(\S+)$", dockerfile, re.MULTILINE))
    pins = dict(line.split("==") for line in (ROOT / "requirements.txt").read_text().splitlines() if "==" in line)
    assert args["AIRFLOW_VERSION"] == pins["apache-airflow"] == pins["apache-airflow-core"]
    requires = re.search(r'requires-python = ">=(\d+\.\d+)', (ROOT / "pyproject.toml").read_text()).group(1)
    assert args["PYTHON_VERSION"] == requires
    assert "FROM apache/airflow:${AIRFLOW_VERSION}-python${PYTHON_VERSION}" in dockerfile
    assert re.search(r"^COPY .*requirements\.txt /requirements\.txt$", dockerfile, re.MULTILINE)
    assert 'pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" -r /requirements.txt' in dockerfile
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert not {"requirements.txt", *MOUNTED} & set(ignored)


def test_the_celery_executor_imports_on_the_pinned_celery():
    """The scheduler's CeleryExecutor and every worker import this module first: with celery 5.7.0
    (which dropped ``celery.backends.database.retry``) the pinned provider cannot, and nothing runs."""
    import importlib
    import importlib.metadata

    pins = dict(line.split("==") for line in (ROOT / "requirements.txt").read_text().splitlines() if "==" in line)
    assert importlib.metadata.version("apache-airflow-providers-celery") == pins["apache-airflow-providers-celery"]
    module = importlib.import_module("airflow.providers.celery.executors.celery_executor_utils")
    assert module.app.conf.task_acks_late  # Airflow's Celery configuration loaded
