"""Tasks of ``expense_rollup_monthly`` and ``data_health_daily``: the month end and the daily health check."""

from __future__ import annotations

import json
import logging
from typing import Any

from airflow.sdk import get_current_context, task

from expense_sync.pools import POOL_ERP
from expense_sync.tasks.common import record_counts, run_key

log = logging.getLogger(__name__)


def current_period() -> str:
    """The period the run closes (see :func:`expense_sync.monthend.periods.period_of`)."""
    from expense_sync.monthend.periods import period_of

    return period_of(get_current_context())


@task.short_circuit
def period_open() -> bool:
    """Go on only for a period at or after the first period (never post months before go-live)."""
    from expense_sync.monthend.periods import first_period
    from expense_sync.store.db import connect

    period = current_period()
    with connect() as conn:
        first = first_period(conn, run_key())
    if period < first:
        log.warning("period %s is before the first period %s (Variable expense_sync_first_period): nothing posted",
                    period, first)  # fmt: skip
        return False
    return True


def _erp():
    from expense_sync.erp.accounts import posting_accounts
    from expense_sync.hooks.registry import erp_hook
    from expense_sync.settings import erp_vendor

    vendor = erp_vendor()
    return vendor, erp_hook(vendor), posting_accounts(vendor)


@task(pool=POOL_ERP)
def rollup_month() -> dict[str, Any]:
    """Sum the period's closed claims in PostgreSQL and post (or confirm, or correct) the rollup vouchers."""
    from expense_sync.hooks import usage
    from expense_sync.monthend.rollup import rollup_period
    from expense_sync.store.db import connect

    period = current_period()
    vendor, hook, accounts = _erp()
    with usage.metered() as used, connect() as conn:
        results = rollup_period(conn, hook, period, accounts, run_key())
    record_counts("rollup", {"period": period, "vendor": vendor, "companies": results}, used)
    return {"period": period, "vendor": vendor, "companies": results}


@task(pool=POOL_ERP)
def reconcile_month(rolled: dict[str, Any]) -> dict[str, Any]:
    """Compare claims, our vouchers and the ERP ledger; queue every difference with its cause."""
    from expense_sync.hooks import usage
    from expense_sync.monthend.reconcile import NO_CLAIMS, reconcile_period
    from expense_sync.monthend.rollup import refresh_approvals
    from expense_sync.store.db import connect

    _, hook, accounts = _erp()
    with usage.metered() as used, connect() as conn:
        approvals = refresh_approvals(conn, hook, rolled["period"])  # the accountant may have audited since
        results = reconcile_period(conn, hook, rolled["period"], accounts, run_key())
    if not results:
        status = NO_CLAIMS  # nothing to reconcile: not "reconciled" by default (all([]) is True)
    else:
        status = "reconciled" if all(r["status"] == "reconciled" for r in results) else "differences"
    counts = {"period": rolled["period"], "status": status, "companies": results, "erp_approvals": approvals}
    record_counts("reconcile", counts, used)
    log.info("period %s: %s", rolled["period"], status)
    return {"period": rolled["period"], "status": status, "companies": results}


@task(trigger_rule="all_done")
def build_auditors_pack() -> str:
    """Write the period's auditors' pack (HTML, CSV, charts, PDF, checksum manifest); link it from the Data Docs."""
    from expense_sync.monthend.pack import build_pack
    from expense_sync.quality.checkpoint import docs_index, results_dir
    from expense_sync.quality.docs import link_packs
    from expense_sync.store import sqlfile
    from expense_sync.store.db import connect

    period = current_period()
    vendor, _, accounts = _erp()
    with connect() as conn:
        runs = [
            r[0].split("/", 1)[1] for r in conn.execute(sqlfile.step("tasks/monthend", "rollup_runs"), (period, vendor))
        ]
        page = build_pack(
            conn,
            period,
            vendor,
            accounts,
            results_dir() / "auditors_pack",
            docs_site=docs_index().parent,
            run_names=runs,
        )
    link_packs(docs_index())
    record_counts("pack", {"period": period, "page": str(page)})
    return page.as_uri()


@task(trigger_rule="all_done")
def summarize_month() -> dict[str, Any]:
    """Close the run in the ledger: the rollup, the reconciliation and the differences still open.
    Runs after a failed step too, and then fails itself, so the run is failed unless the period is
    reconciled (or had no claims) and its checks passed; the run's note and its one alert say why
    (expense_sync.outcomes)."""
    from expense_sync.monthend.reconcile import NO_CLAIMS
    from expense_sync.outcomes import close, outcome_of
    from expense_sync.store import sqlfile
    from expense_sync.store.db import connect
    from expense_sync.store.runs import finish_run, steps

    key, period = run_key(), current_period()
    with connect() as conn:
        done = steps(conn, key)
        closed = done.get("reconcile", {}).get("status") in ("reconciled", NO_CLAIMS)
        ok = closed and done.get("check:monthend", {}).get("success")
        steps_ = finish_run(conn, key, "success" if ok else "failed")
        still_open = conn.execute(sqlfile.step("tasks/monthend", "open_differences"), (f"{period}/%",)).fetchall()
        differences = sum(int(n) for *_, n in still_open)
        failures = [] if ok else [f"period {period} not reconciled ({differences} difference(s) open)"]
        outcome = outcome_of(conn, key, ["ledger_line", "claim", "voucher"], failures)
    summary = {"steps": steps_, "open_differences": [list(r) for r in still_open]}
    log.info("month end summary: %s", json.dumps(summary, ensure_ascii=False, default=str))
    summary["outcome"] = close(outcome)  # not closed → BusinessFailure: the run is red, one alert
    return summary


@task(trigger_rule="all_done")
def summarize_health() -> dict[str, Any]:
    """Log today's results next to the history (``quality.check_result``); fail the run when a suite failed."""
    from airflow.sdk.exceptions import AirflowFailException

    from expense_sync.store import sqlfile
    from expense_sync.store.db import connect
    from expense_sync.store.runs import finish_run

    key = run_key()
    with connect() as conn:
        today = conn.execute(sqlfile.step("tasks/monthend", "checks_of_run"), (key,)).fetchall()
        ok = bool(today) and all(success for _, success, _ in today)
        finish_run(conn, key, "success" if ok else "failed")
        runs = sqlfile.one(conn.execute(sqlfile.step("tasks/monthend", "checked_runs")))[0]
    summary = {"suites": [list(r) for r in today], "runs_in_history": runs, "context": get_current_context()["run_id"]}
    log.info("data health: %s", json.dumps(summary, ensure_ascii=False, default=str))
    if not ok:
        raise AirflowFailException("data health check failed: " + ", ".join(s for s, good, _ in today if not good))
    return summary
