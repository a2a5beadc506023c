"""Tasks of ``claim_events`` (claims in, validated, posted as vouchers) and ``voucher_status_pull``
(voucher state and number back from the ERP, written back to 合思)."""

from __future__ import annotations

import json
import logging
from typing import Any

from airflow.sdk import get_current_context, task

from expense_sync.pools import POOL_ERP, POOL_EXPENSE
from expense_sync.tasks.common import record_counts, run_key, run_step

log = logging.getLogger(__name__)


@task(pool=POOL_EXPENSE)
def collect_claims() -> dict[str, Any]:
    """Consume the webhook inbox, then catch up on documents changed since the watermark; a malformed
    document is queued, an event failing again and again ends ``failed``, an outage fails the task."""
    from expense_sync.claims.company import claim_company
    from expense_sync.claims.intake import collect
    from expense_sync.hooks import usage
    from expense_sync.hooks.ekuaibao import EkuaibaoHook
    from expense_sync.settings import erp_vendor, inbox_max_attempts
    from expense_sync.store.db import connect

    context = get_current_context()
    # the run's own conf: dag.test() leaves one run's conf in the shared DAG's params for the next
    poll = bool((context["dag_run"].conf or {}).get("catch_up", True))
    with usage.metered() as used, connect() as conn:
        counts = collect(
            conn,
            EkuaibaoHook(),
            company=claim_company(erp_vendor()),
            run_key=run_key(context),
            poll=poll,
            max_attempts=inbox_max_attempts(),
        )
    record_counts("collect", counts, used)
    log.info("claims collected: %s", json.dumps(counts, ensure_ascii=False))
    return counts


@task(pool=POOL_EXPENSE)
def validate_claims() -> dict[str, Any]:
    """Check waiting claims (amounts, employee, mapping, invoices and tax, budget, OA approval); invalid
    ones are queued."""
    from expense_sync.claims.validate import validate_claims as validate
    from expense_sync.hooks.ekuaibao import EkuaibaoHook
    from expense_sync.hooks.registry import oa_hook
    from expense_sync.invoices.rules import tax_rules
    from expense_sync.settings import erp_vendor, oa_vendor

    rules = tax_rules(erp_vendor())
    return run_step(
        "validate", lambda conn: validate(conn, EkuaibaoHook(), oa_hook(oa_vendor()), run_key=run_key(), rules=rules)
    )


@task(pool=POOL_ERP)
def post_vouchers() -> dict[str, Any]:
    """Create the ERP voucher of each valid claim, exactly once (outbound ledger, look-up before resend)."""
    from expense_sync.approvals.budget import BudgetCheck, BudgetGate, over_budget_rule
    from expense_sync.claims.post import post_vouchers as post
    from expense_sync.erp.accounts import posting_accounts
    from expense_sync.hooks.registry import erp_hook
    from expense_sync.settings import budget_check_on, erp_vendor

    vendor = erp_vendor()
    hook, rule, check_on = erp_hook(vendor), over_budget_rule(), budget_check_on()

    def work(conn) -> dict[str, Any]:
        gate = None
        if check_on:  # the ERP budget check right before each voucher (expense_sync.approvals.budget)
            gate = BudgetGate(BudgetCheck(conn, hook), rule, bool(getattr(hook, "budget_counts_drafts", False)))  # type: ignore[arg-type]
        return post(conn, hook, posting_accounts(vendor), run_key(), gate)

    return run_step("post", work)


@task
def summarize_claims() -> dict[str, Any]:
    """Close the run in the ledger with the claims by state and the open claim exceptions; then its
    business outcome (expense_sync.outcomes): a voucher the ERP refused fails the run (red, one
    alert); claims quarantined or conflicts waiting for a person leave a note and an alert."""
    from expense_sync.outcomes import close, outcome_of
    from expense_sync.store import sqlfile
    from expense_sync.store.db import connect
    from expense_sync.store.runs import finish_run

    key = run_key()
    with connect() as conn:
        outcome = outcome_of(conn, key, ["claim", "voucher", "booking"])
        steps = finish_run(conn, key, "failed" if outcome.red else "success")
        states: dict[str, int] = dict(conn.execute(sqlfile.step("tasks/claims", "claims_by_state")).fetchall())
        open_items = conn.execute(sqlfile.step("tasks/claims", "open_exceptions")).fetchall()
    summary = {"steps": steps, "claims": states, "open_exceptions": [list(r) for r in open_items]}
    log.info("claim events summary: %s", json.dumps(summary, ensure_ascii=False))
    summary["outcome"] = close(outcome)
    return summary


@task(pool=POOL_ERP)
def pull_voucher_status() -> dict[str, Any]:
    """Read open claim vouchers from the ERP, then write audited numbers back to 合思.

    One SELECT and nothing else when no voucher is open."""
    import psycopg

    from expense_sync.claims.status import open_vouchers, pull_status, write_back
    from expense_sync.hooks import usage
    from expense_sync.store.db import connect

    with usage.metered() as used, connect() as conn:
        try:
            rows = open_vouchers(conn)
        except psycopg.errors.UndefinedTable:
            log.info("the middle platform is not migrated yet (claim_events migrates it): nothing to pull")
            return {"open": 0}
        if not rows:
            return {"open": 0}
        from expense_sync.hooks.ekuaibao import EkuaibaoHook
        from expense_sync.hooks.registry import erp_hook

        vendors = {row[1] for row in rows}
        counts: dict[str, Any] = {"open": len(rows)}
        for vendor in sorted(vendors):
            counts[vendor] = pull_status(conn, erp_hook(vendor), rows)
        counts["write_back"] = write_back(conn, EkuaibaoHook(), run_key())
    record_counts("pull", counts, used)
    log.info("voucher status: %s", json.dumps(counts))
    return counts
