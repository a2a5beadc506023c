"""
### exception_review — the exception queue decided in the Airflow UI, by name and with a reason

**What:** every open item of `sync.exception_item` that no sync asks about itself — quarantined
records, vouchers and voucher numbers a vendor refused, documents that cannot be read, claims that
disagree with the OA or the ERP — becomes a question under **Required Actions**, oldest first (at
most 100 a run). **Who:** the users the Variable `expense_sync_deciders` names: `org` for people and
departments, `claims` (else `chart`) for claims, vouchers and the chart; Airflow refuses anyone
else. **Cadence:** daily 09:30 Asia/Shanghai, or trigger it; questions unanswered after 8 hours
count as Defer. The org guard's held deactivations and the chart's conflicts are asked by their own
DAGs, which apply their effects. **Master:** the person who decides; the queue item stays as the
syncs left it until then. **Conflict rule:** nothing is closed without a named decider and a
reason; an item that holds a write back is released (tried again, exactly once) or deferred, never
closed "by hand".

1. `migrate` applies pending SQL migrations to the middle platform (`mdm_postgres`).
2. `review_items` asks one question per open item: what the record is, why it was queued, how
   often it was seen, and the options — **Fixed at the source** (corrected in the OA, 合思 or the
   ERP: the next sync takes it), **Handled by hand** (settled outside the sync), **Defer** — with a
   required reason. An item that holds a write back (`voucher_refused`, `document_malformed`)
   offers **Release: try it again** and **Defer** only: closed, it is posted or read again (a
   voucher looked up by its reference first, so never twice). Skipped when the queue is empty.
3. `apply_review_decisions` closes each decided item in `sync.exception_item` with the decision,
   the person and the reason in `sync.exception_event` (what the auditors' pack reads); an answer
   without a reason is not applied and the item is asked again. Closing changes no vendor: a sync
   that still meets the problem queues it again as a new item.
4. `summarize` records the counts in `sync.run_step` and logs one line: asked, decided, still open.

**When it fails:** read the task log of the failed task (the first line names the cause) and clear
it; re-runs are safe (an item already closed ignores a later answer). Trigger with
`{"review_deferred": true}` to ask again about the items deferred earlier. `make resolve` closes an
item from a shell the same way.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param
from airflow.timetables.trigger import CronTriggerTimetable

from expense_sync.dag_defaults import DEADLINES, DEFAULT_ARGS, run_deadline
from expense_sync.operators.questions import ask_people
from expense_sync.tasks.common import migrate_mdm
from expense_sync.tasks.review import RESPONSE_TIMEOUT, apply_review_decisions, review_questions, summarize_review

with DAG(
    dag_id="exception_review",
    schedule=CronTriggerTimetable("30 9 * * *", timezone="Asia/Shanghai"),
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    deadline=run_deadline(DEADLINES["exception_review"]),  # a working day to answer, then an hour
    tags=["expense-sync", "hitl", "operations"],
    doc_md=__doc__,
    params={"review_deferred": Param(False, type="boolean", description="ask again about deferred items")},
):
    asked = review_questions()
    migrate_mdm.override(task_id="migrate")() >> asked
    answers = ask_people("review_items", None, RESPONSE_TIMEOUT).expand_kwargs(asked)  # options per item
    apply_review_decisions(asked["items"], answers.output) >> summarize_review.override(task_id="summarize")()
