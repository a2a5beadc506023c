"""Tasks of ``approval_events``: 合思 documents at the E-Bot node → OA approvals → decisions back."""

from __future__ import annotations

import json
import logging
from typing import Any

from airflow.sdk import get_current_context, task

from expense_sync.pools import POOL_EXPENSE
from expense_sync.tasks.common import run_key, run_step

log = logging.getLogger(__name__)


@task(pool=POOL_EXPENSE)
def route_approvals() -> dict[str, Any]:
    """Request an OA approval for each document version waiting at the E-Bot node (nodes from the
    approval matrix, after the ERP budget check), follow the OA's decisions and hand them to 合思,
    reassign tasks whose approver changed; every call exactly once (see expense_sync.approvals.route)."""
    from expense_sync.approvals.budget import BudgetCheck, over_budget_rule
    from expense_sync.approvals.route import route
    from expense_sync.claims.company import claim_company
    from expense_sync.hooks.ekuaibao import EkuaibaoHook
    from expense_sync.hooks.registry import erp_hook, oa_hook
    from expense_sync.settings import budget_check_on, ebot_node, erp_vendor, oa_vendor

    poll = bool((get_current_context()["dag_run"].conf or {}).get("catch_up", True))
    erp = erp_vendor()
    budget_on, rule, node = budget_check_on(), over_budget_rule(), ebot_node()

    def work(conn) -> dict[str, Any]:
        check = BudgetCheck(conn, erp_hook(erp)) if budget_on else None  # type: ignore[arg-type]
        return route(conn, EkuaibaoHook(), oa_hook(oa_vendor()), check, node_name=node,  # type: ignore[arg-type]
                     company=claim_company(erp), rule=rule, run_key=run_key(), catch_up=poll)  # fmt: skip

    counts = run_step("route", work)
    log.info("approval flows: %s", json.dumps(counts, ensure_ascii=False, default=str))
    return counts


@task
def summarize_approvals() -> dict[str, Any]:
    """Close the run with the flows by state; queued documents and conflicts leave a note and an alert."""
    from expense_sync.outcomes import close, outcome_of
    from expense_sync.store import sqlfile
    from expense_sync.store.db import connect
    from expense_sync.store.runs import finish_run

    key = run_key()
    with connect() as conn:
        outcome = outcome_of(conn, key, ["approval"])
        steps = finish_run(conn, key, "failed" if outcome.red else "success")
        flows: dict[str, int] = dict(conn.execute(sqlfile.step("approvals/flows", "counts")).fetchall())
    summary: dict[str, Any] = {"steps": steps, "flows": flows}
    summary["outcome"] = close(outcome)
    return summary
