"""Helpers of the operations tests: how long a task can take with all its retries, measured against
its DAG's deadline and schedule (tests/dags/test_dag_integrity.py and the reliability suite)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from testkit import ROOT

# The deployment's retry configuration (docker-compose.yaml): the first delay and the global cap.
COMPOSE = ROOT / "docker-compose.yaml"


def deployed_retry_config(path: Path = COMPOSE) -> tuple[dt.timedelta, dt.timedelta]:
    """``[core] default_task_retry_delay`` and ``max_task_retry_delay`` as docker-compose sets them."""
    text = path.read_text(encoding="utf-8")

    def seconds(name: str) -> dt.timedelta:
        match = re.search(rf"AIRFLOW__CORE__{name}:\s*'?(\d+)'?", text)
        assert match, f"docker-compose.yaml sets no AIRFLOW__CORE__{name}"
        return dt.timedelta(seconds=int(match.group(1)))

    return seconds("DEFAULT_TASK_RETRY_DELAY"), seconds("MAX_TASK_RETRY_DELAY")


def worst_retry_delay(task, retry: int, base: dt.timedelta, global_cap: dt.timedelta) -> dt.timedelta:
    """The longest wait before retry number ``retry`` (1-based), as Airflow's
    ``TaskInstance.next_retry_datetime`` computes it: with a backoff multiplier m the delay is
    ``min_backoff + hash % min_backoff`` where ``min_backoff = ceil(base · m^(retry-1))`` (so at most
    ``2·min_backoff − 1``), then capped by ``[core] max_task_retry_delay`` and the task's ``max_retry_delay``."""
    from airflow.sdk.definitions._internal.abstractoperator import DEFAULT_RETRY_DELAY

    # a task that sets no retry_delay of its own took this process's [core] default_task_retry_delay
    delay = base if task.retry_delay in (None, DEFAULT_RETRY_DELAY) else task.retry_delay
    multiplier = task.retry_exponential_backoff or 1.0
    if multiplier != 1.0 and multiplier > 0:
        min_backoff = max(1, math.ceil(delay.total_seconds() * multiplier ** (retry - 1)))
        delay = dt.timedelta(seconds=min(2 * min_backoff - 1, global_cap.total_seconds()))
        if task.max_retry_delay:
            delay = min(delay, task.max_retry_delay)
    return delay


def waits_for_a_person(task) -> bool:
    """A human-in-the-loop question: its time is a person's answer (``response_timeout``), not retries."""
    cls = getattr(task, "operator_class", None) or type(task)  # a mapped task names its operator
    cls = cls if isinstance(cls, type) else type(task)
    return any(c.__name__ == "HITLOperator" for c in cls.__mro__)


def worst_case(task, base: dt.timedelta, global_cap: dt.timedelta) -> dt.timedelta | None:
    """Every try running to its ``execution_timeout`` and every retry waiting its longest delay;
    None when the task has no time limit (it can run for ever)."""
    if task.execution_timeout is None:
        return None
    tries = task.retries + 1
    delays = sum((worst_retry_delay(task, n, base, global_cap) for n in range(1, tries)), dt.timedelta())
    return tries * task.execution_timeout + delays


def shortest_gap(dag, year: int = 2026) -> dt.timedelta | None:
    """The shortest time between two scheduled runs of the DAG over a year (None: not on a clock)."""
    import pendulum
    from croniter import croniter

    timetable = getattr(dag.timetable, "timetable", dag.timetable)  # an asset-or-time schedule's cron
    expression = getattr(timetable, "_expression", None)
    if not expression:
        return None
    zone = pendulum.timezone(str(timetable._timezone))
    start = pendulum.datetime(year, 1, 1, tz=zone)
    fires = croniter(expression, start)
    previous, gap = fires.get_next(dt.datetime), None
    while previous.year == year:
        current = fires.get_next(dt.datetime)
        gap = current - previous if gap is None else min(gap, current - previous)
        previous = current
    return gap


@dataclass
class Budget:
    """One task of one DAG against the run's deadline and the next scheduled run."""

    dag_id: str
    task_id: str
    worst: dt.timedelta | None
    deadline: dt.timedelta | None
    gap: dt.timedelta | None

    @property
    def limit(self) -> dt.timedelta | None:
        limits = [x for x in (self.deadline, self.gap) if x is not None]
        return min(limits) if limits else None

    @property
    def fits(self) -> bool:
        return self.worst is not None and self.limit is not None and self.worst < self.limit

    def __str__(self) -> str:
        return f"{self.dag_id}.{self.task_id}: worst {self.worst} vs deadline {self.deadline}, next run {self.gap}"


def budgets(dags: dict, base: dt.timedelta, global_cap: dt.timedelta) -> list[Budget]:
    """Each task of each DAG (parsed with deadlines on) but the questions to a person."""
    rows = []
    for dag_id, dag in sorted(dags.items()):
        deadline = dag.deadline[0].interval if dag.deadline else None
        gap = shortest_gap(dag)
        for task in dag.tasks:
            if not waits_for_a_person(task):
                rows.append(Budget(dag_id, task.task_id, worst_case(task, base, global_cap), deadline, gap))
    return rows


def parse_with_deadlines(monkeypatch) -> dict:
    """The DAGs of dags/, parsed with ``EXPENSE_SYNC_DEADLINE_ALERTS`` on (as deployed)."""
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("EXPENSE_SYNC_DEADLINE_ALERTS", "true")
    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.import_errors == {}
    return bag.dags


# -- a failing data health suite in front of a push ---------------------------------------------
# (DAG, the checkpoint task, the push behind it): every DAG whose GX checkpoint gates a vendor write.
GATED_PUSHES = {
    "org_sync_daily": ("check_org_health", "push_to_expense_system"),
    "expense_category_sync_weekly": ("check_chart_health", "push_dimensions"),
    "claim_events": ("check_claims_health", "post_vouchers"),
}
UNTIL_THE_CHECK = r"^(check_claims_health|post_vouchers|summarize)$"  # mark_success_pattern: stop before


@dataclass
class Gate:
    """What one run with a failing suite did: the tasks' states and what the vendor received."""

    dag_id: str
    tasks: dict[str, str]
    vendor_writes: int  # writes the vendor sandbox received during the run (or vouchers it holds)

    @property
    def check_failed(self) -> bool:
        return self.tasks[GATED_PUSHES[self.dag_id][0]] == "failed"

    @property
    def pushed(self) -> bool:
        return self.tasks[GATED_PUSHES[self.dag_id][1]] not in ("upstream_failed", "skipped") or self.vendor_writes > 0


def org_with_two_roots(dagbag, sandboxes, monkeypatch) -> Gate:
    """A second company root in the OA (the org_sync suite wants exactly one root) and a hire to push."""
    from testkit import run_dag, write_calls

    monkeypatch.setenv("AIRFLOW_VAR_EXPENSE_SYNC_OA_VENDOR", "wecom")  # WeCom lists every top-level department
    assert run_dag(dagbag, "org_sync_daily")[0] == "success"
    sandboxes.control("wecom").mutate("add_root", name="另一家公司")
    sandboxes.control("wecom").mutate("hire", dept_id=2)
    before = write_calls(sandboxes)
    _, tasks = run_dag(dagbag, "org_sync_daily")
    return Gate("org_sync_daily", tasks, write_calls(sandboxes) - before)


def chart_with_an_orphan_cost_center(dagbag, mdm, sandboxes, monkeypatch, tmp_path) -> Gate:
    """A cost center whose owner unit the org master lacks (the erp_chart suite fails) and a rename to push."""
    from chartkit import ErpWorld, canonical_items, enable_ui_login, seed_org_units
    from testkit import run_dag, write_calls

    monkeypatch.setenv("AIRFLOW_VAR_EXPENSE_SYNC_ERP_VENDOR", "yonyou")
    enable_ui_login(monkeypatch, tmp_path)
    seed_org_units(mdm, "yonyou")
    erp = ErpWorld("yonyou", sandboxes)
    assert run_dag(dagbag, "expense_category_sync_weekly")[0] == "success"
    erp.add_cost_center(erp.new_code("cost_center"), "新成本中心", owner_unit="D999")
    erp.rename_cost_center(sorted(canonical_items(mdm, "cost_center"))[0], "改名待推送")
    before = write_calls(sandboxes)
    _, tasks = run_dag(dagbag, "expense_category_sync_weekly")
    return Gate("expense_category_sync_weekly", tasks, write_calls(sandboxes) - before)


def claim_lines_that_do_not_add_up(dagbag, mdm, sandboxes, monkeypatch, vendor: str = "kingdee") -> Gate:
    """A validated claim whose lines are changed in the middle platform after validation, so that they
    no longer add up to its total (the claims suite fails): its voucher must not reach the ERP."""
    from claimkit import erp_vouchers, file_claim, prepare_world

    prepare_world(dagbag, mdm, sandboxes, monkeypatch, vendor)
    code = file_claim(sandboxes, mdm)["form"]["code"]
    dag = dagbag.dags["claim_events"]
    run = dag.test(mark_success_pattern=UNTIL_THE_CHECK)  # collected and validated, not checked nor posted
    assert str(run.state) == "success"
    (state,) = mdm.execute("SELECT state FROM fin.claim WHERE claim_no = %s", (code,)).fetchone()
    assert state == "voucher_pending", state
    mdm.execute(
        """UPDATE fin.claim_line SET amount = amount + 100
            WHERE line_no = 1 AND claim_id = (SELECT claim_id FROM fin.claim WHERE claim_no = %s)""",
        (code,),
    )
    run = dag.test()
    tasks = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    return Gate("claim_events", tasks, len(erp_vouchers(sandboxes, vendor, code)))


# -- a local Airflow and its alerts ---------------------------------------------------------------
PROBE_DAGS = ROOT / "tests" / "ops" / "dags"
ROBOT_TOKEN, ROBOT_SECRET = "probe-robot-token-77aa", "SECprobe-secret-99bb"


@pytest.fixture(scope="session")
def local_airflow(tmp_path_factory):
    """One local Airflow deployment, started as ``make airflow`` starts it: free ports, a temporary
    AIRFLOW_HOME and databases of its own; the probe DAGs of tests/ops/dags as a second bundle; fast
    retries. At the end it is stopped and nothing it started may still be running."""
    from expense_sync_sandboxes.postgres import LocalPostgres
    from local_airflow import LocalAirflow, Settings, free_port
    from testkit import FAST

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


def configure_robot(local, robot, token: str, secret: str) -> None:
    """Point the ``alerts_dingtalk`` connection at a robot catcher, through the REST API."""
    local.api(
        "POST",
        "/connections",
        json={
            "connection_id": "alerts_dingtalk",
            "conn_type": "dingding",
            "host": robot.url,
            "password": token,
            "extra": json.dumps({"secret": secret}),
        },
    )


@contextlib.contextmanager
def robot_alerts(local):
    """A DingTalk robot (signing its calls) configured as ``alerts_dingtalk`` through the REST API for
    the duration; yields the catcher, whose ``messages`` are the alerts it took."""
    from catchers import RobotCatcher

    with RobotCatcher(ROBOT_TOKEN, ROBOT_SECRET) as robot:
        configure_robot(local, robot, ROBOT_TOKEN, ROBOT_SECRET)
        try:
            yield robot
        finally:
            local.api("DELETE", "/connections/alerts_dingtalk")


def alerts_for(robot, run_id: str) -> list[dict]:
    """The alerts the robot took that name this run."""
    return [m["markdown"] for m in robot.messages if run_id in m["markdown"]["text"]]


def wait_for_alerts(robot, run_id: str, within: float) -> list[dict]:
    """The run's alerts, once one has come (and a moment more, for a second one) or ``within`` seconds passed."""
    deadline = time.monotonic() + within
    while not alerts_for(robot, run_id) and time.monotonic() < deadline:
        time.sleep(0.5)
    if alerts_for(robot, run_id):
        time.sleep(3)  # a duplicate would follow closely
    return alerts_for(robot, run_id)


def fault(local, robot, how: str, within: float = 30) -> tuple[str, list[dict]]:
    """Run fault_probe dying as ``how``; the run's final state and the alerts that named it."""
    run_id = local.trigger("fault_probe", {"how": how})
    state = local.wait_for_run("fault_probe", run_id, timeout=120)
    return state, wait_for_alerts(robot, run_id, within)


def missed_deadline(local, robot, within: float = 60) -> tuple[str, list[dict]]:
    """Run deadline_probe (20 s against a deadline of 3 s); the run's id and the alerts that named it."""
    run_id = local.trigger("deadline_probe")
    return run_id, wait_for_alerts(robot, run_id, within)


# -- secrets: canaries in every credential and every issued token ---------------------------------
TOKEN_KEYS = re.compile(r"token|session|ticket|secret", re.IGNORECASE)


def credential_canaries() -> dict[str, str]:
    """Every vendor connection's password / secret / app secret the sandboxes check, and the 合思
    webhook signing key: {what: value}. They are distinctive strings, so any copy of one is a leak."""
    from expense_sync_sandboxes.cluster import CONNECTIONS
    from expense_sync_sandboxes.ekuaibao.flows import OUTBOUND_SIGN_KEY

    found = {f"{conn_id}.password": password for conn_id, (_, _, password) in CONNECTIONS.items()}
    found["expense_ekuaibao.outbound_sign_keys"] = OUTBOUND_SIGN_KEY
    return found


class IssuedTokens:
    """Every token the vendor sandboxes issue to our hooks, read off the wire as it arrives (each
    response's JSON fields named like a token, a session or a ticket, and its cookies)."""

    def __init__(self) -> None:
        self.values: set[str] = set()

    def _walk(self, node, key: str = "") -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                self._walk(v, str(k))
        elif isinstance(node, list):
            for v in node:
                self._walk(v, key)
        elif isinstance(node, str) and TOKEN_KEYS.search(key) and len(node) >= 12:
            self.values.add(node)

    def install(self, monkeypatch) -> IssuedTokens:
        import requests

        send = requests.Session.send
        spy = self

        def watched(session, request, **kwargs):
            response = send(session, request, **kwargs)
            spy.values.update(v for v in response.cookies.values() if len(v) >= 12)
            if "json" in response.headers.get("Content-Type", ""):
                with contextlib.suppress(ValueError):
                    spy._walk(response.json())
            return response

        monkeypatch.setattr(requests.Session, "send", watched)
        return self


def metadata_rows(table: str, column: str, run_ids: list[str]) -> list[str]:
    """One column of a metadata-database table for the given runs, as text (XCom, rendered fields)."""
    from airflow.utils.session import create_session
    from sqlalchemy import bindparam, text

    query = text(f"SELECT {column} FROM {table} WHERE run_id IN :runs").bindparams(  # noqa: S608 - our names
        bindparam("runs", expanding=True)
    )
    with create_session() as session:
        return [str(row[0]) for row in session.execute(query, {"runs": run_ids})]


def files_under(folder: Path) -> list[str]:
    return [p.read_text(encoding="utf-8", errors="replace") for p in sorted(folder.rglob("*")) if p.is_file()]


def leaks(places: dict[str, list[str]], canaries: dict[str, str]) -> list[tuple[str, int, str]]:
    """(place, artefact index, which canary) for every canary found in an artefact."""
    return [
        (place, n, name)
        for place, artefacts in places.items()
        for n, artefact in enumerate(artefacts)
        for name, value in canaries.items()
        if value and value in artefact
    ]


def runs_since(started: dt.datetime) -> list[str]:
    """The ids of the DAG runs created since ``started`` (the metadata database of dag.test())."""
    from airflow.utils.session import create_session
    from sqlalchemy import text

    with create_session() as session:
        rows = session.execute(text("SELECT run_id FROM dag_run WHERE run_after >= :t"), {"t": started})
        return [row[0] for row in rows]


def searched_places(caplog, capfd, run_ids: list[str], results: Path | None) -> dict[str, list[str]]:
    """What a person or a tool can read after the runs: task logs (every record logged, with its
    traceback, and what reached stdout/stderr), XCom values, rendered template fields, and, under the
    results folder, the GX Data Docs and the auditors' packs."""
    out, err = capfd.readouterr()
    logs = [record.getMessage() + "\n" + (record.exc_text or "") for record in caplog.records]
    places = {
        "task logs": [*logs, out, err],
        "XCom": metadata_rows("xcom", "value", run_ids),
        "rendered fields": metadata_rows("rendered_task_instance_fields", "rendered_fields", run_ids),
    }
    if results is not None:
        places["Data Docs"] = files_under(results / "data_docs")
        places["auditors' pack"] = files_under(results / "auditors_pack")
    return places


@contextlib.contextmanager
def robot_alerts_in_env(monkeypatch):
    """The alert robot as ``AIRFLOW_CONN_ALERTS_DINGTALK`` for dag.test() runs; yields the catcher."""
    from catchers import RobotCatcher

    with RobotCatcher(ROBOT_TOKEN, ROBOT_SECRET) as robot:
        conn = {"conn_type": "dingding", "host": robot.url, "password": ROBOT_TOKEN, "extra": {"secret": ROBOT_SECRET}}
        monkeypatch.setenv("AIRFLOW_CONN_ALERTS_DINGTALK", json.dumps(conn))
        yield robot


def results_dir() -> Path:
    """Where the GX results, the Data Docs and the auditors' packs go (``EXPENSE_SYNC_GX_RESULTS_DIR``)."""
    import os

    return Path(os.environ["EXPENSE_SYNC_GX_RESULTS_DIR"])
