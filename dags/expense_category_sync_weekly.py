"""
### expense_category_sync_weekly — the ERP chart into the middle platform, reconciled with 合思

**Master:** the ERP (any hook package of role `erp`, Variable `expense_sync_erp_vendor`) for GL
accounts, expense categories, cost centers and projects; 合思 for its fee types. **Cadence:** weekly,
Monday 03:00 Asia/Shanghai. **Conflict rule:** a record changed on both sides since the last sync goes
to the conflict queue and a person decides in the Airflow UI; nothing is overwritten silently.

1. `migrate` applies pending SQL migrations to the middle platform (`mdm_postgres`).
2. `extract_chart` reads the ERP's chart — only what changed since the last run where the ERP can
   filter by change time, else all of it — and lands it in `staging.*`.
3. `merge_chart` merges it into `mdm.gl_account`, `mdm.expense_category`, `mdm.cost_center`,
   `mdm.project` (writes only what changed; malformed records are quarantined).
4. `read_expense_side` reads 合思's fee types and the cost center / project items changed since.
5. `reconcile_categories` maps categories onto fee types by code; a category without a fee type, or a
   fee type on an inactive or non-postable GL account, becomes a conflict.
6. `check_chart_health` runs the Great Expectations checkpoint `erp_chart` (GL accounts, expense
   categories, cost centers). **If it fails, nothing is pushed.**
7. `push_dimensions` writes cost centers and projects to 合思 as dimension items through the outbound
   ledger: ERP changes are pushed, hand edits in 合思 are restored (and recorded), records changed
   on both sides become conflicts.
8. `ask_for_decisions` asks one question per open conflict (**Required Actions** in the UI): *Take ERP
   value*, *Keep expense value* or *Defer* (the default after 3 days), with a required reason; only
   the users Variable `expense_sync_deciders` names for `chart` may answer. Skipped when nothing is open.
9. `apply_decisions` applies each answer and records who, when, what and why (an answer without a
   reason is not applied: the conflict is asked again); `summarize` closes the run.

Beside the chart, `sync_erp_masters` reads the ERP's suppliers (供应商) and tax codes (税码/税率) and
merges them into `mdm.supplier` and `mdm.tax_code` (the ERP is master; a supplier gone from the ERP is
deactivated; one whose unified social credit code fails its check is loaded, flagged and queued as
`supplier_credit_code_invalid`, never stopping the rest).

**When it fails:** a vendor error → read the task log (vendor, endpoint, HTTP status, vendor code)
and clear the task once the vendor answers; every step is idempotent and an interrupted push is
settled by looking the items up in 合思. A failed health check → open the Data Docs, fix the chart
in the ERP, re-run. Conflicts do not fail the run: answer them under Required Actions, or see
`sync.exception_item`. Trigger with `{"full_sync": true}` to read and compare everything, and with
`{"review_deferred": true}` to be asked again about deferred conflicts.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param
from airflow.timetables.trigger import CronTriggerTimetable

from expense_sync.chart import OPTIONS
from expense_sync.dag_defaults import DEADLINES, DEFAULT_ARGS, run_deadline
from expense_sync.operators.quality import DataHealthCheckOperator
from expense_sync.operators.questions import ask_people
from expense_sync.tasks.chart import (
    RESPONSE_TIMEOUT,
    apply_decisions,
    conflict_questions,
    extract_chart,
    merge_chart,
    push_dimensions,
    read_expense_side,
    reconcile_categories,
    summarize_chart_sync,
)
from expense_sync.tasks.common import migrate_mdm
from expense_sync.tasks.masters import sync_erp_masters

with DAG(
    dag_id="expense_category_sync_weekly",
    schedule=CronTriggerTimetable("0 3 * * 1", timezone="Asia/Shanghai"),
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["expense-sync", "erp", "chart", "ekuaibao", "hitl"],
    doc_md=__doc__,
    deadline=run_deadline(DEADLINES["expense_category_sync_weekly"]),
    params={
        "full_sync": Param(False, type="boolean", description="read the whole chart and compare every record"),
        "review_deferred": Param(False, type="boolean", description="ask again about deferred conflicts"),
    },
):
    migrated = migrate_mdm.override(task_id="migrate")()
    extracted, expense = extract_chart(), read_expense_side()
    migrated >> [extracted, expense]
    categories = reconcile_categories()
    [merge_chart(extracted), expense] >> categories
    check = DataHealthCheckOperator(task_id="check_chart_health", checkpoint="erp_chart")
    pushed = push_dimensions(expense)
    categories >> check >> pushed
    asked = conflict_questions()
    pushed >> asked
    answers = ask_people("ask_for_decisions", OPTIONS, RESPONSE_TIMEOUT).expand_kwargs(asked)
    summarized = summarize_chart_sync.override(task_id="summarize")()
    apply_decisions(asked["items"], answers.output, expense) >> summarized
    migrated >> sync_erp_masters() >> summarized
