"""
### approval_events — 合思 documents → OA approvals with the matrix's nodes → the decision back to 合思

**Master:** the approval flow is the main line: the OA (DingTalk or WeCom, Variable
`expense_sync_oa_vendor`) decides, with the nodes the approval matrix gives (`approval_matrix_sync`);
合思 holds the document and takes the decision at its E-Bot node (Variable `expense_sync_ebot_node`,
default `OA审批`). **Cadence:** whenever the webhook receiver stores events (asset
`expense-sync://claims`: 合思's outbound messages, the OA's approval callbacks), and every 5 minutes as
a catch-up. **Conflict rule:** 合思 and the OA disagree (the document left the node without the OA's
decision, the OA instance was withdrawn, the document changed while its approval ran, 合思 refused the
decision) → conflict queue; nothing is approved silently.

1. `migrate` applies pending SQL migrations to the middle platform (`mdm_postgres`).
2. `route_approvals`:
   - the OA's callbacks in `sync.event_inbox` name the instances to read again;
   - every document (申请单 or 报销单) waiting at the E-Bot node becomes one `fin.approval_flow` per
     version;
   - the ERP budget check (`fin.budget_check`; over budget: an application gets a 总监 node, a claim
     is held — Variable `expense_sync_over_budget`);
   - the nodes from the approval matrix (主管 → 财务 → 总监), every approver's OA account;
   - the OA instance, created exactly once (`sync.outbound`; a lost answer is found by its
     业务单号 and adopted);
   - the OA's decision, applied to 合思 by the E-Bot callback exactly once;
   - pending tasks whose approver left or lost the role are handed to the new holder
     (`fin.approval_reassignment`).
3. `summarize` records the run; documents held or conflicts leave a note and an alert.

**When it fails:** a vendor error → read the task log and clear the task; every step is idempotent.
A document held (`sync.exception_item`, entity `approval`: `approval_chain_missing`,
`approver_inactive`, `approver_not_in_oa`, `over_budget`, `oa_refused_instance` …) is never sent to the
OA: fix the matrix, the org or the budget and the next run requests it. A conflict needs a person in
both systems. Trigger with `{"catch_up": false}` to act on the OA's callbacks only.
"""

from __future__ import annotations

import datetime as dt

import pendulum
from airflow.sdk import DAG, Asset, AssetOrTimeSchedule, Param
from airflow.timetables.trigger import CronTriggerTimetable

from expense_sync.dag_defaults import DEADLINES, args_within, run_deadline
from expense_sync.settings import CLAIMS_ASSET_NAME, CLAIMS_ASSET_URI
from expense_sync.tasks.approvals import route_approvals, summarize_approvals
from expense_sync.tasks.common import migrate_mdm

with DAG(
    dag_id="approval_events",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("*/5 * * * *", timezone="Asia/Shanghai"),
        assets=[Asset(name=CLAIMS_ASSET_NAME, uri=CLAIMS_ASSET_URI)],
    ),
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    default_args=args_within(dt.timedelta(minutes=5), retries=2),
    deadline=run_deadline(DEADLINES["approval_events"]),
    tags=["expense-sync", "approvals", "ekuaibao", "oa", "budget"],
    doc_md=__doc__,
    params={"catch_up": Param(True, type="boolean", description="also list every document waiting at the node")},
):
    (
        migrate_mdm.override(task_id="migrate")()
        >> route_approvals()
        >> summarize_approvals.override(task_id="summarize")()
    )
