"""
### claim_events — approved 合思 claims into ERP vouchers, in real time, exactly once

**Master:** the expense system (合思) for claims and their approval; the approval flow is the main
line, and the OA (DingTalk or WeCom) approval it mirrors must agree. **Cadence:** whenever the webhook
receiver stores claim events (asset `expense-sync://claims`), and every 15 minutes as a catch-up for
missed webhooks. **Conflict rule:** 合思 and the OA disagree, or a claim changes after its voucher →
conflict queue; nothing is posted or re-posted silently.

1. `migrate` applies pending SQL migrations to the middle platform (`mdm_postgres`).
2. `collect_claims` consumes `sync.event_inbox` (webhook events, `FOR UPDATE SKIP LOCKED`), then
   polls 合思 documents changed since the watermark; fetches each flow's detail and upserts
   `fin.claim` (`version` + 1 when the content changes; rejected/withdrawn claims are cancelled).
3. `validate_claims` checks each new or changed claim: amounts (Decimal, > 0, adding up), currency,
   the claimant active on the claim date, fee type → expense category → active postable GL account,
   cost center / project known and active, the 合思 budget not exceeded, the OA approval agreeing.
   An invalid claim goes to `sync.exception_item` with its reason (state `invalid`).
4. `check_claims_health` runs the Great Expectations checkpoint `claims` on the claims waiting for a
   voucher. **If it fails, nothing is posted.**
5. `accrue_bookings` (beside `validate_claims`, after `collect_claims`) lands the travel bookings 合思
   announced (inbox events of the booking types, then the bookings changed since the watermark) in
   `fin.accrual` and posts each booking version's accrual voucher (预提: Dr travel expense / Cr accrued
   liabilities, ref `AC-<order id>`, `-V<n>` for a changed booking, whose earlier voucher is reversed);
   a cancelled booking is reversed; a bad one (unknown traveller / cost center, amount ≤ 0, no
   requisition) is queued (entity `booking`) and the rest go on.
6. `post_vouchers` creates each valid claim's voucher in the ERP (Variable `expense_sync_erp_vendor`):
   Dr clearing per line / Cr employee payable, external ref = claim number. The outbound ledger row is
   committed *before* the call; a row left `sending` (crash, timeout) is settled by looking the
   voucher up by claim number before anything is sent again.
7. `reverse_accruals` reverses (`<ref>-R1`), once, the accrual of every booking whose trip's claim
   (the claim naming the booking's 申请单, `fin.claim.requisition_codes`) now has its voucher: in the
   accrual's period while the month end has not closed it, else in the claim's period.
8. `summarize` records the run (claims by state, open claim exceptions) in `sync.run`, writes the
   run's note and alerts with the business counts: a voucher the ERP refused fails it (red run);
   claims quarantined or conflicts waiting for a person leave a note and an alert, the run green.

**When it fails:** `post_vouchers` (or `accrue_bookings` / `reverse_accruals`) failing with "unknown
outcome" is expected after an ERP timeout: the retry looks the vouchers up and adopts them (never a
duplicate). A vendor error → read the task log (vendor, endpoint, status, code) and clear the task;
every step is idempotent (an outage counts no inbox attempt). A 合思 document that cannot be read as a
claim (no total, no expense date, details of the wrong shape) is queued as `document_malformed`
naming the field, and the rest of the batch goes on; its inbox event counts attempts and, after
Variable `expense_sync_inbox_max_attempts` (default 5), becomes `failed` in `sync.event_inbox` (see
`last_error`; replay it after the fix).
A voucher the ERP refused (a business rejection, not retried) is queued as `voucher_refused` with
the ERP's text and the claim is held: fix the data in the ERP, then release it (README → For
operators → Business outcomes → voucher_refused); the next run looks it up and posts it once.
Invalid claims and conflicts do not fail the run: see `sync.exception_item` (entity `claim`), fix the
master data or the claim in 合思; the next run re-validates. A failed health check → open the Data Docs.
Trigger with `{"catch_up": false}` to consume the inbox only.
"""

from __future__ import annotations

import datetime as dt

import pendulum
from airflow.sdk import DAG, Asset, AssetOrTimeSchedule, Param
from airflow.timetables.trigger import CronTriggerTimetable

from expense_sync.dag_defaults import DEADLINES, args_within, run_deadline
from expense_sync.operators.quality import DataHealthCheckOperator
from expense_sync.settings import CLAIMS_ASSET_NAME, CLAIMS_ASSET_URI
from expense_sync.tasks.accruals import accrue_bookings, reverse_accruals
from expense_sync.tasks.claims import collect_claims, post_vouchers, summarize_claims, validate_claims
from expense_sync.tasks.common import migrate_mdm

with DAG(
    dag_id="claim_events",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("*/15 * * * *", timezone="Asia/Shanghai"),
        assets=[Asset(name=CLAIMS_ASSET_NAME, uri=CLAIMS_ASSET_URI)],
    ),
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    default_args=args_within(dt.timedelta(minutes=15), retries=2),  # every try and delay within one interval
    deadline=run_deadline(DEADLINES["claim_events"]),
    tags=["expense-sync", "claims", "ekuaibao", "erp", "vouchers"],
    doc_md=__doc__,
    params={"catch_up": Param(True, type="boolean", description="also poll 合思 for documents changed since")},
):
    migrated = migrate_mdm.override(task_id="migrate")()
    check = DataHealthCheckOperator(task_id="check_claims_health", checkpoint="claims")
    collected = migrated >> collect_claims()
    accrued = accrue_bookings()
    reversed_ = reverse_accruals()
    summary = summarize_claims.override(task_id="summarize")()
    collected >> validate_claims() >> check >> post_vouchers() >> reversed_ >> summary
    collected >> accrued >> reversed_
    accrued >> summary
