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
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from expense_sync.alerts import ExpenseSyncAlert, watch_for_death

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
