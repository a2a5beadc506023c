"""data_health_daily end to end: every suite on the canonical tables and month-to-date claims, with a history."""

from __future__ import annotations

import pendulum

from monthkit import make_claims
from testkit import run_dag

DAG_ID = "data_health_daily"


def suites(mdm, run: int) -> dict[str, bool]:
    keys = [r[0] for r in mdm.execute("SELECT DISTINCT run_key FROM quality.check_result ORDER BY 1")]
    rows = mdm.execute("SELECT suite, success FROM quality.check_result WHERE run_key = %s", (sorted(keys)[run],))
    return dict(rows.fetchall())


def test_every_suite_runs_and_the_history_keeps_each_run(dagbag, mdm, sandboxes):
    period = pendulum.now("Asia/Shanghai").strftime("%Y-%m")
    make_claims(mdm, sandboxes, "kingdee", period, count=3)

    state, tasks = run_dag(dagbag, DAG_ID)
    assert state == "success", tasks
    first = suites(mdm, 0)
    assert {"claims_month_to_date", "vouchers", "rollup", "reconciliation", "gl_accounts", "employees"} <= set(first)
    assert all(first.values())

    # a claim whose total disagrees with its lines: the next day's check fails, and both days are kept
    mdm.execute(
        "UPDATE fin.claim SET total_amount = total_amount + 0.01 WHERE claim_id = (SELECT min(claim_id) FROM fin.claim)"
    )
    state, tasks = run_dag(dagbag, DAG_ID)
    assert state == "failed" and tasks["check_data_health"] == "failed" and tasks["summarize"] == "failed"
    second = suites(mdm, 1)
    assert second["claims_month_to_date"] is False and second["vouchers"] is True
    failures = mdm.execute(
        "SELECT failures FROM quality.check_result WHERE suite = 'claims_month_to_date' AND NOT success"
    ).fetchone()[0]
    assert failures and failures[0]["suite"] == "claims_month_to_date"
