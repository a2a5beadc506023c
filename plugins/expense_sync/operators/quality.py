"""``DataHealthCheckOperator``: run a Great Expectations checkpoint as an Airflow task.

A small operator of our own instead of ``airflow-provider-great-expectations``, whose pins force
Airflow back to 3.3.0. It fails the task (no retries) when a suite fails, naming the failed
expectations, so nothing downstream (a push to a vendor) runs on bad data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pendulum
from airflow.sdk import BaseOperator, Context

from expense_sync.settings import MDM_CONN_ID


def run_label(context: Context, checkpoint: str) -> dict[str, str]:
    """What heads the run's validation pages for an auditor: the period checked (a month-end run's
    month; else the run's data interval, in the schedules' zone), the DAG, the Airflow run."""
    from expense_sync.monthend.periods import TIMEZONE, period_of

    params = context.get("params") or {}
    start, end = context.get("data_interval_start"), context.get("data_interval_end")
    if "period" in params:
        period = period_of(context)
    elif start is not None and end is not None:
        period = " → ".join(f"{pendulum.instance(t).in_timezone(TIMEZONE):%Y-%m-%d %H:%M}" for t in (start, end))
        period += f" ({TIMEZONE})"
    else:
        period = "none: a manual run without a data interval checks the data as it stands"
    return {"Period": period, "DAG": context["dag"].dag_id, "Airflow run": context["run_id"], "Checkpoint": checkpoint}


class DataHealthCheckOperator(BaseOperator):
    """Run the checkpoint ``checkpoint`` of the project's GX context against ``mdm_postgres``.

    :param checkpoint: name of a checkpoint in ``great_expectations/checkpoints``
    :param conn_id: the PostgreSQL connection of the middle platform
    """

    template_fields: Sequence[str] = ("checkpoint",)
    ui_color = "#e8f4ea"

    def __init__(self, *, checkpoint: str, conn_id: str = MDM_CONN_ID, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.checkpoint = checkpoint
        self.conn_id = conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        from expense_sync.quality.checkpoint import run_checkpoint
        from expense_sync.quality.history import record_results
        from expense_sync.store.db import connect
        from expense_sync.store.runs import record_step
        from expense_sync.tasks.common import run_key

        key = run_key(context)
        try:
            summary = run_checkpoint(
                self.checkpoint,
                run_name=context["run_id"],
                conn_id=self.conn_id,
                label=run_label(context, self.checkpoint),
            )
        except Exception as err:
            failures = getattr(err, "failures", None)
            with connect(self.conn_id) as conn:
                record_step(
                    conn, key, f"check:{self.checkpoint}", {"success": False, "failures": failures or [str(err)]}
                )
                record_results(conn, key, self.checkpoint, getattr(err, "suites", []), failures or [str(err)])
            raise
        with connect(self.conn_id) as conn:
            record_step(conn, key, f"check:{self.checkpoint}", {"success": True, "suites": summary["suites"]})
            record_results(conn, key, self.checkpoint, summary["suites"], [])
        return summary
