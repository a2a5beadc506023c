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
