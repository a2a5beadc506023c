"""
### clear_probe — a test probe: a task that fails on its first try and succeeds once cleared

No retries, so the first failure is final and the run fails; cleared (a new try), the task succeeds.
Wired like every DAG of the package (DEFAULT_ARGS, ``run_deadline``), the deadline far enough away
that it is still pending when the task is cleared. Tests only.
"""

from __future__ import annotations

import datetime as dt

import pendulum
from airflow.sdk import DAG, task

from expense_sync.dag_defaults import DEFAULT_ARGS, run_deadline

with DAG(
    dag_id="clear_probe",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    default_args={**DEFAULT_ARGS, "retries": 0},
    deadline=run_deadline(dt.timedelta(hours=1)),
    tags=["test"],
    doc_md=__doc__,
):

    @task
    def fail_first(**context) -> None:
        if context["ti"].try_number == 1:
            raise RuntimeError("clear_probe fails on its first try")

    fail_first()
