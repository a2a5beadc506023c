"""Default task arguments shared by every DAG: owner, retries with exponential backoff, time limits, alerts.

Retries: 3, each delay twice the one before (``retry_exponential_backoff`` is a *multiplier* in
Airflow 3: ``True`` would mean 1, a constant delay). The first delay is deployment configuration,
``[core] default_task_retry_delay`` (docker-compose sets 120 s, the tests 1 s); Airflow draws each
delay between d and 2d − 1 s (d = the first delay × 2^(retry − 1)) and caps it at the task's
``max_retry_delay`` and at ``[core] max_task_retry_delay``.

Time limits: a task with all its tries and retry delays must end before its DAG's deadline and
before the DAG's next scheduled run, whatever the deployment's first delay. :func:`args_within`
sizes ``execution_timeout`` and ``max_retry_delay`` for such a budget: every try may take
``execution_timeout``, every delay at most ``max_retry_delay``, and together they fill 90 % of it.
:data:`DEFAULT_ARGS` fit one hour, the shortest deadline of the daily, weekly and monthly DAGs
(about 11 minutes per try, 3 minutes per delay: 54 minutes at worst). A DAG that runs more often
takes ``default_args=args_within(<its interval>)`` (claim_events every 15 minutes,
voucher_status_pull every 5); tests/dags/test_dag_integrity.py checks every DAG against its own
deadline and schedule.

Alerts: every task reports its final failure through :class:`expense_sync.alerts.ExpenseSyncAlert`
(off until a channel is configured), and on its last try :func:`expense_sync.alerts.watch_for_death`
alerts if the task process is killed outright; each DAG adds ``deadline=run_deadline(...)`` for lateness.

Deadlines: :func:`run_deadline` counts from when the run was queued, as Airflow's
``DeadlineReference.DAGRUN_QUEUED_AT`` does, but through our own reference :class:`RunQueuedAt`
(registered by the plugin, plugins/expense_sync_plugin.py). Airflow 3.3.0–3.3.2 cannot clear a task
of a run that has a pending ``DAGRUN_QUEUED_AT`` deadline: ``clear_task_instances`` recalculates that
deadline with ``timedelta(seconds=deadline_alert.interval)`` while 3.3 stores the interval as a serde
envelope (a dict), so the clear fails with a TypeError — HTTP 500 in the UI and the REST API
(apache/airflow#70368). It recalculates only deadlines whose reference type is literally
``DagRunQueuedAtDeadline``; ours is named differently and is left alone. The difference: a cleared run
keeps the deadline of its first queueing instead of a new one (a run cleared and finished late alerts).
Switch back to ``DeadlineReference.DAGRUN_QUEUED_AT`` on the first Airflow release that fixes #70368
(tests/ops/test_clear.py, run with it, tells), and keep :class:`RunQueuedAt` in the plugin until no
stored DAG version names it. Before any move to 3.4 check :class:`RunQueuedAt` again: 3.4 changes how
custom references are evaluated (apache/airflow#70714). tests/dags/test_dag_integrity.py pins the reference.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from airflow.sdk.definitions.callback import AsyncCallback
from airflow.sdk.definitions.deadline import BaseDeadlineReference, DeadlineAlert

from expense_sync.alerts import ExpenseSyncAlert, deadlines_enabled, watch_for_death

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

RETRIES = 3
FILL = 0.9  # of the budget: the rest is the scheduler's and the workers' own latency
DELAY_SHARE = 20  # each retry delay is at most 1/20 of the budget


def args_within(budget: dt.timedelta, *, retries: int = RETRIES, **overrides: Any) -> dict[str, Any]:
    """Default task arguments whose worst case — ``retries + 1`` tries each stopped by
    ``execution_timeout``, ``retries`` delays each capped by ``max_retry_delay`` — ends within ``budget``."""
    seconds = budget.total_seconds()
    max_delay = int(seconds // DELAY_SHARE)
    per_try = int((seconds * FILL - retries * max_delay) // (retries + 1))
    if max_delay < 1 or per_try < 1:
        raise ValueError(f"a budget of {budget} leaves no time for {retries} retries")
    return {
        "owner": "expense-sync",
        "retries": retries,
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": dt.timedelta(seconds=max_delay),
        "execution_timeout": dt.timedelta(seconds=per_try),
        "on_failure_callback": [ExpenseSyncAlert()],
        "on_execute_callback": [watch_for_death],
        **overrides,
    }


DEFAULT_ARGS = args_within(dt.timedelta(hours=1))

# How long after it was queued each DAG's run must have finished: its deadline alert (run_deadline) and
# the sync-health page's duration chart (expense_sync.health) both read it.
DEADLINES: dict[str, dt.timedelta] = {
    "org_sync_daily": dt.timedelta(hours=1),
    "approval_matrix_sync": dt.timedelta(hours=1),
    "expense_category_sync_weekly": dt.timedelta(hours=4),  # a human answering conflicts keeps the run open longer
    "claim_events": dt.timedelta(minutes=30),
    "approval_events": dt.timedelta(minutes=15),
    "voucher_status_pull": dt.timedelta(minutes=15),
    "expense_rollup_monthly": dt.timedelta(hours=3),
    "data_health_daily": dt.timedelta(hours=1),
    "exception_review": dt.timedelta(hours=9),  # its questions wait 8 hours (a working day) for a person
}


class RunQueuedAt(BaseDeadlineReference):
    """When the run was queued: ``DeadlineReference.DAGRUN_QUEUED_AT`` under a name Airflow 3.3's clear
    does not recalculate (apache/airflow#70368, see the module's docstring). Evaluated by the scheduler
    or the api-server when the run is created (Airflow 3.3's contract for custom references: the
    keyword arguments named in ``required_kwargs``); the plugin registers it, or no run can be created."""

    required_kwargs = frozenset({"dag_id", "run_id"})

    def _evaluate_with(self, *, session: Session, dag_id: str, run_id: str, **kwargs: Any) -> dt.datetime | None:
        from airflow.models import DagRun
        from sqlalchemy import select

        return session.scalar(select(DagRun.queued_at).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))


def run_deadline(interval: dt.timedelta) -> DeadlineAlert | None:
    """A DAG's deadline: alert when a run has not finished ``interval`` after it was queued.

    Read when the DAG is parsed; None (no deadline) unless ``$EXPENSE_SYNC_DEADLINE_ALERTS`` is true.
    """
    if not deadlines_enabled():
        return None
    return DeadlineAlert(
        reference=RunQueuedAt(),
        interval=interval,
        callback=AsyncCallback(ExpenseSyncAlert, kwargs={"event": "deadline_missed"}),
    )
