"""
### org_sync_daily — org units, employees and positions from the OA to the expense system

**Master:** the OA (DingTalk or WeCom, Airflow Variable `expense_sync_oa_vendor`). **Cadence:**
daily at 02:00 Asia/Shanghai. **Conflict rule:** OA wins; leavers are deactivated, never deleted.

1. `migrate` applies pending SQL migrations to the middle platform (`mdm_postgres`).
2. `extract_directory` lands the OA's whole directory in `staging.*` as one load. The OA has no
   "changed since" query, but it pushes contact-change events (DingTalk 通讯录事件, WeCom
   `change_contact`) that the webhook receiver stores: between full reads the task reads only the
   people and departments those events name and lands them with the rest of the previous load. It
   reads everything every `expense_sync_org_full_read_days` (Variable, default 7; 0 = every run),
   the safety net for events the OA never delivered, when there is no previous load, when the events
   name more records than a full read costs calls, or when triggered with `{"full_read": true}`.
   The task log and `sync.run_step` say which read it made and why.
3. `merge_directory` merges the load into `mdm.org_unit` / `mdm.employee` in one transaction:
   creates and updates what changed, deactivates who left, and **quarantines** bad records
   (missing or unknown department, duplicate employee number, malformed phone or e-mail, a
   department whose parent is gone or in a cycle — its people stay active) into
   `sync.exception_item` with a reason. The rest syncs. If the run would deactivate more than a
   share of the active people or departments (Variable `expense_sync_org_max_deactivation`,
   default 0.05), it **deactivates nobody** and holds them in a `mass_deactivation` conflict;
   later runs hold them too until a person decides.
4. `check_org_health` runs the Great Expectations checkpoint `org_sync` (one root, no cycles,
   unique codes and employee numbers, active people in active units…) and updates the Data Docs.
   **If it fails, nothing is pushed.**
5. `push_to_expense_system` sends the delta to 合思 (staff and departments) through the
   outbound ledger, so a re-run pushes nothing twice. A record 合思 already holds but the ledger
   has not confirmed (the first sync, an adopted record) is compared with 合思 and corrected in the
   same run, or linked without a write where it already matches. Staff only 合思 holds (leavers
   from before the first sync) are disabled after a complete OA read, within the same share as
   above (beyond it they are held as `mass_deactivation`, key `ekuaibao_only`).
6. `ask_about_deactivations` asks about held deactivations (**Required Actions** in the UI):
   *Deactivate them*, *Keep them active* or *Defer* (the default after 12 hours), with a required
   reason; only the users Variable `expense_sync_deciders` names for `org` may answer; skipped when
   nothing is held. `apply_deactivation_decisions` applies the answer, records who, when and why (an
   answer without a reason is not applied: asked again next run), and pushes the disables to 合思.
7. `summarize` records the run's counts in `sync.run` / `sync.run_step`.

**When it fails:** a vendor error → read the task log (errors name the vendor, endpoint, HTTP
status and vendor errcode) and clear the task once the vendor answers; retries are safe. A failed
health check → open the Data Docs, fix the data at the OA, re-run. Records refused by 合思 (e.g.
staff with pending documents) do not fail the run: see the open items in `sync.exception_item`.
Trigger with `{"full_push": true}` to compare every record with 合思 instead of the delta: it
reverts hand edits made in 合思 (a daily run reads 合思 only for records it has not confirmed).
A run still unfinished an hour after it was queued raises a deadline alert: look for a task stuck
in `up_for_retry` (a vendor down), waiting for its pool (another run holding the vendor's slots),
or a held mass deactivation waiting for an answer under Required Actions.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param
from airflow.timetables.trigger import CronTriggerTimetable

from expense_sync.dag_defaults import DEADLINES, DEFAULT_ARGS, run_deadline
from expense_sync.operators.quality import DataHealthCheckOperator
from expense_sync.operators.questions import ask_people
from expense_sync.org import OPTIONS
from expense_sync.tasks.common import migrate_mdm
from expense_sync.tasks.org import (
    RESPONSE_TIMEOUT,
    apply_deactivation_decisions,
    deactivation_questions,
    extract_directory,
    merge_directory,
    push_to_expense_system,
    summarize_org_sync,
)

with DAG(
    dag_id="org_sync_daily",
    schedule=CronTriggerTimetable("0 2 * * *", timezone="Asia/Shanghai"),
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    deadline=run_deadline(DEADLINES["org_sync_daily"]),
    tags=["expense-sync", "org", "oa", "ekuaibao", "hitl"],
    doc_md=__doc__,
    params={
        "full_push": Param(False, type="boolean", description="compare every record with 合思"),
        "full_read": Param(False, type="boolean", description="read the OA's whole directory, not only what changed"),
    },
):
    extracted = extract_directory()
    migrate_mdm.override(task_id="migrate")() >> extracted
    check = DataHealthCheckOperator(task_id="check_org_health", checkpoint="org_sync")
    asked = deactivation_questions()
    merge_directory(extracted) >> check >> push_to_expense_system() >> asked
    answers = ask_people("ask_about_deactivations", OPTIONS, RESPONSE_TIMEOUT).expand_kwargs(asked)
    apply_deactivation_decisions(asked["items"], answers.output) >> summarize_org_sync.override(task_id="summarize")()
