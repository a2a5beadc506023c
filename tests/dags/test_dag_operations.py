"""Every DAG is operable: documented for the operator (what, master, conflict rule, what to do when it
fails), retried with a backoff that really grows, alerting on failure, with a deadline where deadlines
are on, and its vendor tasks in the vendor pools."""

import datetime as dt

import pytest
from airflow.serialization.serialized_objects import DagSerialization

from expense_sync.alerts import ExpenseSyncAlert
from expense_sync.pools import ROLES
from testkit import strategy_table

DAG_IDS = sorted(strategy_table())


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_each_dag_documents_its_master_conflict_rule_and_runbook(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    for heading in ("**Master:**", "**Conflict rule:**", "**When it fails:**"):
        assert heading in dag.doc_md, f"{dag_id}: doc_md lacks {heading}"


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_each_task_backs_off_exponentially_alerts_and_uses_a_known_pool(dagbag, dag_id):
    for task in dagbag.dags[dag_id].tasks:
        assert task.retry_exponential_backoff == 2.0, task.task_id  # True would mean a multiplier of 1
        assert task.max_retry_delay is not None and task.max_retry_delay <= dt.timedelta(minutes=30), task.task_id
        assert any(isinstance(cb, ExpenseSyncAlert) for cb in task.on_failure_callback), task.task_id
        assert task.pool in {"default_pool", *ROLES}, f"{task.task_id}: unknown pool {task.pool}"


def test_deadlines_are_off_by_default_and_on_where_configured(dagbag, deadline_dags):
    assert dagbag.import_errors == {}
    assert all(not dag.deadline for dag in dagbag.dags.values())
    assert sorted(deadline_dags) == DAG_IDS
    for dag_id, dag in sorted(deadline_dags.items()):
        assert dag.deadline, f"{dag_id} has no deadline"
        callback = dag.deadline[0].callback
        assert callback.path == "expense_sync.alerts.ExpenseSyncAlert" and callback.kwargs == {
            "event": "deadline_missed"
        }
        DagSerialization.serialize_dag(dag)


def test_a_failing_claims_suite_blocks_the_voucher(dagbag, mdm, sandboxes, monkeypatch):
    """A validated claim whose lines stop adding up before the claims checkpoint: the check fails and
    post_vouchers does not run, so the ERP receives no voucher (org and chart: their DAG tests)."""
    from opskit import claim_lines_that_do_not_add_up

    gate = claim_lines_that_do_not_add_up(dagbag, mdm, sandboxes, monkeypatch)
    assert gate.tasks["check_claims_health"] == "failed"
    assert gate.tasks["post_vouchers"] == "upstream_failed"
    assert gate.vendor_writes == 0
    (failures,) = mdm.execute(
        "SELECT counts -> 'failures' FROM sync.run_step WHERE step = 'check:claims' ORDER BY finished_at DESC LIMIT 1"
    ).fetchone()
    assert "add up" in str(failures), failures


def test_an_org_sync_leaves_no_credential_or_issued_token_in_logs_xcom_or_rendered_fields(
    dagbag, mdm, sandboxes, monkeypatch, caplog, capfd
):
    """The OA's and 合思's secrets and every token they issue during a run, searched where a person
    reads them afterwards (the full scenario, every DAG and the files: make reliability)."""
    import datetime as dt
    import logging

    from opskit import IssuedTokens, credential_canaries, leaks, runs_since, searched_places
    from testkit import run_dag

    caplog.set_level(logging.INFO)
    started = dt.datetime.now(dt.UTC)
    tokens = IssuedTokens().install(monkeypatch)
    monkeypatch.setenv("AIRFLOW_VAR_EXPENSE_SYNC_OA_VENDOR", "dingtalk")
    assert run_dag(dagbag, "org_sync_daily")[0] == "success"
    assert len(tokens.values) >= 2  # DingTalk's and 合思's access tokens were issued and seen
    canaries = {**credential_canaries(), **{f"token {n}": t for n, t in enumerate(sorted(tokens.values))}}
    places = searched_places(caplog, capfd, runs_since(started), None)
    assert all(places.values()), {place: len(found) for place, found in places.items()}
    assert leaks(places, canaries) == []
