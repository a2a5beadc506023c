"""Helpers of the operations tests: how long a task can take with all its retries, measured against
its DAG's deadline and schedule (tests/dags/test_dag_integrity.py and the reliability suite)."""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from pathlib import Path

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
