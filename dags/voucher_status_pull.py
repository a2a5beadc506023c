"""
### voucher_status_pull — voucher state and number from the ERP, written back to 合思

**Master:** the ERP for a voucher's state and number. **Cadence:** every 5 minutes; a run with no open
voucher makes one SELECT and no vendor call. **Conflict rule:** the claim is tied to the ERP voucher
number; 合思 takes the number only once the claim is paid.

1. `pull_voucher_status` reads each open claim voucher (`fin.voucher` draft/submitted) from the ERP;
   keeps its state and number; an audited/posted voucher moves its claim to `voucher_audited`.
   It then writes each audited voucher's number back to the 合思 document (`erpVoucher`), through
   the outbound ledger (entity `voucher_writeback`), and closes the claim (`closed`). 合思 refuses
   numbers for documents not yet `paid`: those claims stay `voucher_audited` (ledger row `blocked`)
   and are tried again on the next pull — not an error.

**When it fails:** a vendor error → read the task log and let the retry run (the pull and the
write-back are idempotent: a write-back overwrites the same number). A claim stuck in
`voucher_audited` → look at `sync.outbound` (entity `voucher_writeback`, `last_error`): "不是已支付状态"
means the claim is not paid in 合思 yet; anything else opened an item in `sync.exception_item`.
A voucher that stays `draft` → the ERP accountant has not audited it yet.
"""

from __future__ import annotations

import datetime as dt

import pendulum
from airflow.sdk import DAG
from airflow.timetables.trigger import CronTriggerTimetable

from expense_sync.dag_defaults import DEADLINES, args_within, run_deadline
from expense_sync.tasks.claims import pull_voucher_status

with DAG(
    dag_id="voucher_status_pull",
    schedule=CronTriggerTimetable("*/5 * * * *", timezone="Asia/Shanghai"),
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    default_args=args_within(dt.timedelta(minutes=5), retries=2),  # every try and delay within one interval
    deadline=run_deadline(DEADLINES["voucher_status_pull"]),
    tags=["expense-sync", "vouchers", "erp", "ekuaibao"],
    doc_md=__doc__,
):
    pull_voucher_status()
