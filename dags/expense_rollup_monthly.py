"""
### expense_rollup_monthly — month end: the claims rolled up to the ERP ledger, reconciled, audited

**Period:** the run's data interval, one calendar month (Asia/Shanghai); the run on the 1st at 03:00
closes the month before (a manual trigger without a logical date closes the month before its run).
No catch-up: unpausing queues no past months. Any past month can be re-run (clear the run) or
backfilled (`airflow backfill create --dag-id expense_rollup_monthly --from-date … --to-date …`); the
`period` param (`YYYY-MM`) closes another month on a manual trigger. **First period:** the Variable
`expense_sync_first_period` (`YYYY-MM`); unset, the month before the first run (recorded then). No
run posts a month before it: `period_open` skips the rest of the run. **ERP:** the Variable
`expense_sync_erp_vendor` (a hook package of role `erp`); posting accounts: `expense_sync_posting_accounts`.
**Master:** 合思 for the claims (their lines as validated into `fin.claim_line`), the ERP for its
ledger. **Conflict rule:** the claims win for what we post (a changed claim reverses and re-posts
the rollup); anything in the ERP ledger we did not post is never touched — it becomes an item of
the conflict queue with its cause for a person to acknowledge.
**Which claims:** the period's *closed claims* — states voucher_created / voucher_audited / closed
whose claim voucher is in the ERP (view `fin.closed_claim`, see V0300).

1. `migrate` applies pending SQL migrations to the middle platform (`mdm_postgres`); `period_open`
   skips the run for a month before the first period.
2. `rollup_month` sums the closed claims per company, GL account, cost center and project in
   PostgreSQL and posts one balanced voucher per company (Dr expense / Cr clearing;
   `RU-<period>-<company>-<n>`, split when the ERP limits lines). Idempotent: a re-run that finds
   the same sums sends nothing; when claims changed it reverses the vouchers in force (`…-R1`) and
   posts the next version (`…-V2`). Every voucher goes through the outbound ledger (exactly once).
3. `reconcile_month` reads the ERP's balances of the period and compares them with our vouchers and
   the claims per account / cost center / project, and claim by claim (claim → voucher number →
   ledger line). Each difference goes to the conflict queue (`sync.exception_item`) with its cause:
   `erp_manual_entry` (explained), `missing_in_erp`, `rollup_out_of_date`, `clearing_not_zero`,
   `claim_voucher_mismatch` (unexplained).
4. `check_month_end` runs the GX checkpoint `monthend` (suites `vouchers`, `rollup`,
   `reconciliation`). It fails unless the period is **reconciled** (zero unexplained difference).
5. `build_auditors_pack` writes the auditors' pack (HTML, CSV, charts, a PDF and `MANIFEST.sha256`;
   linked from the Data Docs index), also when the check failed; `summarize` logs the steps and the
   differences still open. A month without claims closes green (reconcile status `no claims`).

**When it fails:** a vendor error in `rollup_month` → read the task log (vendor, endpoint, status,
code) and clear the task: vouchers in doubt are looked up in the ERP by external ref before anything
is sent again. A failed `check_month_end` → open the pack (`auditors_pack/<period>/index.html`) or
the open items in `sync.exception_item`: a `rollup_out_of_date` clears by re-running the month; an
`erp_manual_entry` is an accountant's entry in the ERP to be acknowledged in the queue; a
`missing_in_erp` means a voucher we posted was deleted or voided in the ERP — restore it there, then
clear the run. A rollup voucher the ERP refused is queued as `voucher_refused` (`<period>/<ref>`)
and held, not retried: fix the data in the ERP, resolve the item, clear the run (README → For
operators → Business outcomes → voucher_refused). The run's note and its alert give the counts.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param
from airflow.timetables.interval import CronDataIntervalTimetable

from expense_sync.dag_defaults import DEADLINES, DEFAULT_ARGS, run_deadline
from expense_sync.operators.quality import DataHealthCheckOperator
from expense_sync.tasks.common import migrate_mdm
from expense_sync.tasks.monthend import (
    build_auditors_pack,
    period_open,
    reconcile_month,
    rollup_month,
    summarize_month,
)

with DAG(
    dag_id="expense_rollup_monthly",
    schedule=CronDataIntervalTimetable("0 3 1 * *", timezone="Asia/Shanghai"),
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    deadline=run_deadline(DEADLINES["expense_rollup_monthly"]),
    tags=["expense-sync", "erp", "month-end", "audit"],
    doc_md=__doc__,
    params={
        "period": Param(
            None,
            type=["null", "string"],
            pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$",
            description="close this month (YYYY-MM) instead of the run's data interval",
        ),
    },
):
    rolled = rollup_month()
    migrate_mdm.override(task_id="migrate")() >> period_open() >> rolled
    check = DataHealthCheckOperator(task_id="check_month_end", checkpoint="monthend")
    reconcile_month(rolled) >> check >> build_auditors_pack() >> summarize_month.override(task_id="summarize")()
