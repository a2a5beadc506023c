"""Clearing a failed task — the README's recovery step — works on a DAG with a run deadline: through
the REST API the clear answers 200 and the task runs again, to success. Airflow 3.3's clear
recalculated every pending ``DAGRUN_QUEUED_AT`` deadline and failed on it with a 500
(apache/airflow#70368); expense_sync.dag_defaults.run_deadline declares the deadline another way."""

import requests


def pending_deadlines(local, dag_id: str, run_id: str) -> list[dict]:
    """The run's deadlines not yet missed, from the UI's API (the REST API has no deadline endpoint)."""
    response = requests.get(
        f"{local.url}/ui/dags/{dag_id}/dagRuns/{run_id}/deadlines",
        headers={"Authorization": f"Bearer {local.token()}"},
        timeout=30,
    )
    response.raise_for_status()
    return [d for d in response.json()["deadlines"] if not d["missed"]]


def task_state(local, dag_id: str, run_id: str, task_id: str) -> tuple[str | None, int]:
    ti = local.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}")
    return ti["state"], ti["try_number"]


def test_a_cleared_failed_task_runs_again_to_success(local_airflow):
    run_id = local_airflow.trigger("clear_probe")
    assert local_airflow.wait_for_run("clear_probe", run_id, timeout=120) == "failed"
    assert task_state(local_airflow, "clear_probe", run_id, "fail_first") == ("failed", 1)
    assert len(pending_deadlines(local_airflow, "clear_probe", run_id)) == 1  # what Airflow 3.3 recalculated

    cleared = local_airflow.api(
        "POST",
        "/dags/clear_probe/clearTaskInstances",
        json={"dry_run": False, "only_failed": True, "dag_run_id": run_id, "task_ids": ["fail_first"]},
    )

    assert [(ti["task_id"], ti["dag_run_id"]) for ti in cleared["task_instances"]] == [("fail_first", run_id)]
    assert local_airflow.wait_for_run("clear_probe", run_id, timeout=120) == "success"
    assert task_state(local_airflow, "clear_probe", run_id, "fail_first") == ("success", 2)
