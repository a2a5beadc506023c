"""Every DAG file imports cleanly, carries the public id and schedule of the strategy table, and is
documented, owned, tagged and retried. Parsing must touch no connection, variable or network."""

import datetime as dt
import itertools
import re
import socket

import pytest
from airflow.sdk import BaseHook, Variable
from airflow.serialization.serialized_objects import DagSerialization

from testkit import ROOT

# The strategy table's public DAG ids and their schedules (README): operators and alerts use them.
EXPECTED = {
    "org_sync_daily": "0 2 * * *",
    "approval_matrix_sync": "30 2 * * *",
    "expense_category_sync_weekly": "0 3 * * 1",
    "expense_rollup_monthly": "0 3 1 * *",
    "data_health_daily": "0 6 * * *",
    "claim_events": "*/15 * * * *",  # and on the claims asset (webhook events)
    "voucher_status_pull": "*/5 * * * *",
    "approval_events": "*/5 * * * *",  # and on the claims asset (合思 messages, OA approval callbacks)
    "exception_review": "30 9 * * *",  # the queue decided in the UI (not in the strategy table: operations)
}


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}


def test_the_strategy_table_dags_exist_with_their_schedules(dagbag):
    for dag_id, cron in EXPECTED.items():
        assert dag_id in dagbag.dags, f"{dag_id} is missing"
        timetable = dagbag.dags[dag_id].timetable
        timetable = getattr(timetable, "timetable", timetable)  # an asset-or-time schedule's cron
        assert getattr(timetable, "_expression", None) == cron, f"{dag_id}: {timetable.summary}"
        assert str(getattr(timetable, "_timezone", "")) == "Asia/Shanghai"


def test_the_dag_folder_holds_exactly_the_strategy_table(dagbag):
    """The per-DAG tests below are parametrized by ``EXPECTED``: no DAG may escape them."""
    assert sorted(dagbag.dags) == sorted(EXPECTED)


@pytest.mark.parametrize("dag_id", sorted(EXPECTED))
def test_each_dag_is_documented_owned_tagged_and_retried(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    assert dag.fileloc.endswith(f"/{dag_id}.py"), "a DAG lives in the file named after its id"
    assert dag.doc_md and "When it fails" in dag.doc_md
    assert "expense-sync" in dag.tags
    assert dag.catchup is False  # unpausing never queues past runs (a month end posts to the ERP)
    assert dag.max_active_runs == 1
    for task in dag.tasks:
        assert task.owner == "expense-sync", task.task_id
        assert task.retries >= 2, f"{task.task_id} retries {task.retries}"
        assert task.execution_timeout is not None, task.task_id
    DagSerialization.serialize_dag(dag)  # what the dag-processor would store


STEP = re.compile(r"^\s*\d+\. `([a-z_]+)`", re.MULTILINE)  # a numbered step of the doc names its task first


@pytest.mark.parametrize("dag_id", sorted(EXPECTED))
def test_the_docs_steps_are_the_dags_tasks_in_the_order_they_run(dagbag, dag_id):
    """The operator reads the numbered steps as the run: each names a task of the DAG, and no step
    names a task that runs after one of a later step."""
    dag = dagbag.dags[dag_id]
    steps = STEP.findall(dag.doc_md)
    assert steps and len(steps) == len(set(steps)), steps
    assert [s for s in steps if s not in dag.task_ids] == [], f"{dag_id}: the doc names tasks the DAG lacks"
    for earlier, later in itertools.combinations(steps, 2):
        runs_before = dag.get_task(earlier).get_flat_relative_ids(upstream=True)
        assert later not in runs_before, f"{dag_id}: step {later} runs before the earlier step {earlier}"


@pytest.mark.parametrize("dag_id", sorted(EXPECTED))
def test_every_task_is_in_the_doc_or_feeds_one_that_is(dagbag, dag_id):
    """A task the doc does not name (e.g. the one that words the questions) is part of a named step:
    a task right downstream of it is named."""
    dag = dagbag.dags[dag_id]
    named = set(re.findall(r"`([a-z_]+)`", dag.doc_md)) & set(dag.task_ids)
    unexplained = [t.task_id for t in dag.tasks if t.task_id not in named and not (t.downstream_task_ids & named)]
    assert unexplained == [], f"{dag_id}: tasks neither in the doc nor feeding a task in it"


@pytest.mark.parametrize("dag_id", sorted(EXPECTED))
def test_the_runbook_says_where_to_look_and_whether_to_clear_or_rerun(dagbag, dag_id):
    runbook = " ".join(dagbag.dags[dag_id].doc_md.split("**When it fails:**", 1)[1].split("\n\n", 1)[0].split())
    assert "task log" in runbook, f"{dag_id}: the runbook does not point at the task log"
    assert re.search(r"\b(clear|re-run|retr)", runbook), f"{dag_id}: the runbook does not say how to resume"


def test_parsing_touches_no_connection_variable_or_network(monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    def refuse(*args, **kwargs):
        raise AssertionError("work at DAG parse time")

    monkeypatch.setattr(BaseHook, "get_connection", classmethod(refuse))
    monkeypatch.setattr(Variable, "get", staticmethod(refuse))
    monkeypatch.setattr(socket.socket, "connect", refuse)
    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.import_errors == {} and set(EXPECTED) <= set(bag.dags)


@pytest.mark.parametrize("dag_id", sorted(EXPECTED))
def test_every_task_with_all_its_retries_ends_before_the_deadline_and_the_next_run(dag_id, deadline_dags):
    """Each try stopped by its execution_timeout, each retry delay at its longest (the deployment's
    first delay, doubled per retry, capped): the task still ends before its DAG's deadline and before
    the next scheduled run. A human's answer (HITL) is not a retry and is not counted."""
    from opskit import budgets, deployed_retry_config

    base, cap = deployed_retry_config()
    rows = budgets({dag_id: deadline_dags[dag_id]}, base, cap)
    assert rows and all(row.deadline is not None and row.gap is not None for row in rows), [str(r) for r in rows]
    assert [str(row) for row in rows if not row.fits] == []


@pytest.mark.parametrize("dag_id", sorted(EXPECTED))
def test_the_deadline_counts_from_the_queueing_and_survives_a_clear(dag_id, deadline_dags):
    """One deadline per DAG, from when the run was queued, through our own reference: Airflow 3.3's clear
    recalculates a pending deadline of the built-in ``DagRunQueuedAtDeadline`` and fails with a 500
    (apache/airflow#70368; tests/ops/test_clear.py). The scheduler finds the reference through the plugin."""
    from airflow.models.deadline import ReferenceModels
    from airflow.serialization.decoders import decode_deadline_reference
    from airflow.serialization.encoders import encode_deadline_alert

    from expense_sync.dag_defaults import RunQueuedAt

    (alert,) = deadline_dags[dag_id].deadline
    stored = encode_deadline_alert(alert)["reference"]  # as the dag-processor stores it
    assert stored["reference_type"] != ReferenceModels.DagRunQueuedAtDeadline.__name__
    assert isinstance(decode_deadline_reference(stored).inner_ref, RunQueuedAt)


def test_the_worst_case_follows_airflows_backoff():
    """The worst case counts Airflow's delays: d·m^(n−1) drawn up to twice that, then capped."""
    from types import SimpleNamespace

    from opskit import worst_case

    task = SimpleNamespace(
        retries=3,
        retry_delay=dt.timedelta(seconds=100),
        retry_exponential_backoff=2.0,
        max_retry_delay=dt.timedelta(seconds=500),
        execution_timeout=dt.timedelta(minutes=10),
    )
    base, cap = dt.timedelta(seconds=120), dt.timedelta(seconds=1800)
    assert worst_case(task, base, cap) == dt.timedelta(minutes=40, seconds=199 + 399 + 500)
    task.retry_exponential_backoff = 1.0  # a constant delay: Airflow draws no jitter then
    assert worst_case(task, base, cap) == dt.timedelta(minutes=40, seconds=300)
    task.execution_timeout = None
    assert worst_case(task, base, cap) is None
