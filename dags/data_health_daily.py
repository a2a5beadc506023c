"""
### data_health_daily — 数据体检: every data health suite, every day, with a history

**What:** the GX checkpoint `data_health` runs every committed suite against the middle platform:
the canonical tables (org units, employees, GL accounts, expense categories, cost centers), the
month-to-date claims (`claims_month_to_date`: totals equal their lines), the vouchers sent to the ERP
(`vouchers`: balanced), the rollups (`rollup`: equal to the closed claims) and the latest
reconciliations (`reconciliation`: zero unexplained difference). **Master:** none — it reads the
middle platform only; each table keeps its own master (ERP for the chart, OA for the org, 合思 for
claims). **Conflict rule:** none to apply — a failed expectation is reported (task log, Data Docs,
history), never corrected here; bad rows are quarantined by the syncs that own them. **Cadence:** daily, 06:00
Asia/Shanghai. **History:** every suite's outcome of every run is kept in `quality.check_result`
(and the validation results feed the Data Docs).

1. `migrate` applies pending SQL migrations to the middle platform (`mdm_postgres`).
2. `check_data_health` runs the checkpoint and records each suite's result; it fails when a suite
   fails, naming the failed expectations.
3. `summarize` logs today's results next to the history (runs also when the check failed).

**When it fails:** open the Data Docs (linked in the task log) and the failed expectation's
examples. Canonical tables are fixed at their master (the ERP for the chart, the OA for the org) and
corrected by the next sync; a failed `rollup` or `reconciliation` suite is cleared by re-running the
month in `expense_rollup_monthly`; a claim whose total disagrees with its lines goes back to the claim
flow. Nothing is written to a vendor by this DAG, so clearing it is always safe.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG
from airflow.timetables.trigger import CronTriggerTimetable

from expense_sync.dag_defaults import DEADLINES, DEFAULT_ARGS, run_deadline
from expense_sync.operators.quality import DataHealthCheckOperator
from expense_sync.tasks.common import migrate_mdm
from expense_sync.tasks.monthend import summarize_health

with DAG(
    dag_id="data_health_daily",
    schedule=CronTriggerTimetable("0 6 * * *", timezone="Asia/Shanghai"),
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    deadline=run_deadline(DEADLINES["data_health_daily"]),
    tags=["expense-sync", "quality"],
    doc_md=__doc__,
):
    check = DataHealthCheckOperator(task_id="check_data_health", checkpoint="data_health")
    migrate_mdm.override(task_id="migrate")() >> check >> summarize_health.override(task_id="summarize")()
