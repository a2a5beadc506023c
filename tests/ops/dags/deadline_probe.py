"""
### deadline_probe — a test probe: one run that outlives its deadline

Takes 20 seconds against a deadline of 3, so the scheduler hands the deadline alert to the
triggerer. Wired like every DAG of the package (DEFAULT_ARGS, ``run_deadline``). Tests only.
"""

from __future__ import annotations

import datetime as dt

import pendulum
from airflow.sdk import DAG, task

from expense_sync.dag_defaults import DEFAULT_ARGS, run_deadline

with DAG(
    dag_id="deadline_probe",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    default_args=DEFAULT_ARGS,
    deadline=run_deadline(dt.timedelta(seconds=3)),
    tags=["test"],
    doc_md=__doc__,
):

    @task
    def take_your_time() -> None:
        import time

        time.sleep(20)

    take_your_time()
