"""Default task arguments shared by every DAG: owner, retries with exponential backoff, time limits, alerts.

Retries: 3, each delay twice the one before (``retry_exponential_backoff`` is a *multiplier* in
Airflow 3: ``True`` would mean 1, a constant delay), capped at 30 minutes per delay. The first
delay and a global cap are deployment configuration: ``[core] default_task_retry_delay`` and
``[core] max_task_retry_delay`` (docker-compose sets 120 s and 1800 s, so a task retries after about
2–4, 4–8 and 8–16 minutes; the tests set 1 s). A DAG that needs other limits overrides them with
``default_args={**DEFAULT_ARGS, ...}``.

Alerts: every task reports its final failure through :class:`expense_sync.alerts.ExpenseSyncAlert`
(off until a channel is configured); each DAG adds ``deadline=run_deadline(...)`` for lateness.
"""

from __future__ import annotations

import datetime as dt

from expense_sync.alerts import ExpenseSyncAlert

DEFAULT_ARGS = {
    "owner": "expense-sync",
    "retries": 3,
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": dt.timedelta(minutes=30),
    "execution_timeout": dt.timedelta(hours=2),
    "on_failure_callback": [ExpenseSyncAlert()],
}
