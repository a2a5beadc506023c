"""
### approval_matrix_sync — the approval matrix (审批矩阵) from the ERP budget center and the OA

**Master:** the ERP's budget center for who holds a cost center (owner = 总监, budget controller =
财务; the ERP of Airflow Variable `expense_sync_erp_vendor`), the OA for a person's manager (主管,
kept by `org_sync_daily`), and `include/dictionaries/approval_bands.yaml` for which roles approve
which amounts. **Cadence:** daily at 02:30 Asia/Shanghai, after the org sync. **Conflict rule:** the
ERP wins for holders; the matrix is never edited by hand — a new version is derived only when its
content changed, and every version is kept for the auditors with the approvers that changed.

1. `migrate` applies pending SQL migrations to the middle platform (`mdm_postgres`).
2. `read_cost_center_holders` reads every cost center's owner and budget controller from the ERP
   into `mdm.cost_center_holder` (a cost center the ERP no longer names has none).
3. `derive_approval_matrix` derives, per active cost center, category override and amount band, the
   chain 主管 → 财务 → 总监 into `mdm.approval_matrix`; a new version in
   `mdm.approval_matrix_version` only when the content changed, the changed approvers in
   `mdm.approval_matrix_change`. The approval engine resolves each document's nodes from the
   version in force (`expense_sync.matrix.resolve`).
4. `check_approval_matrix` runs the GX checkpoint `approval_matrix`: every active cost center has a
   complete chain for every band, no approver unknown or inactive, no chain held by one person.
5. `summarize` records the run's counts in `sync.run` / `sync.run_step`.

**When it fails:** an ERP error → read the task log (it names the vendor, endpoint and errcode) and
clear the task once the ERP answers; deriving again changes nothing when nothing changed, so retries
and re-runs are safe. A failed check → open the Data Docs: a vacant role or an inactive approver is
fixed at its master (the cost center's holder in the ERP budget center, the person in the OA) and
the next run derives a sound version; until then documents of that cost center are queued with
`approval_chain_missing` / `approver_inactive`, never approved.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG
from airflow.timetables.trigger import CronTriggerTimetable

from expense_sync.dag_defaults import DEADLINES, DEFAULT_ARGS, run_deadline
from expense_sync.operators.quality import DataHealthCheckOperator
from expense_sync.tasks.common import migrate_mdm
from expense_sync.tasks.matrix import derive_approval_matrix, read_cost_center_holders, summarize_matrix_sync

with DAG(
    dag_id="approval_matrix_sync",
    schedule=CronTriggerTimetable("30 2 * * *", timezone="Asia/Shanghai"),
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    deadline=run_deadline(DEADLINES["approval_matrix_sync"]),
    tags=["expense-sync", "approvals", "erp", "oa"],
    doc_md=__doc__,
):
    check = DataHealthCheckOperator(task_id="check_approval_matrix", checkpoint="approval_matrix")
    (
        migrate_mdm.override(task_id="migrate")()
        >> read_cost_center_holders()
        >> derive_approval_matrix()
        >> check
        >> summarize_matrix_sync.override(task_id="summarize")()
    )
