"""Operating events around the DAGs rather than inside one writer: credentials that must never leak,
a failing data health suite that must stop the push behind it, tasks that die (SIGKILL, SIGTERM, out
of memory) or a run that misses its deadline, which must each reach the alert channel, and retries
that must end before the DAG's deadline and its next run. Judged by what the sandboxes, the alert
channel, the logs and the files hold."""

from __future__ import annotations

import pytest
from opskit import (
    GATED_PUSHES,
    budgets,
    chart_with_an_orphan_cost_center,
    claim_lines_that_do_not_add_up,
    deployed_retry_config,
    org_with_two_roots,
    parse_with_deadlines,
)

pytestmark = pytest.mark.reliability


def test_retries_end_before_the_deadline_and_the_next_run(figures, monkeypatch):
    base, cap = deployed_retry_config()
    dags = parse_with_deadlines(monkeypatch)
    rows = budgets(dags, base, cap)
    late = sorted({row.dag_id for row in rows if not row.fits})
    row = figures(
        "retry cap vs each DAG's deadline and next run",
        tried=len(dags),
        accepted=len(dags) - len(late),
        refused=0,
        lost=len(late),
        duplicated=0,
    )
    assert row["verdict"] == "ok", [str(r) for r in rows if not r.fits]


@pytest.mark.parametrize("dag_id", sorted(GATED_PUSHES))
def test_a_failing_health_suite_stops_the_push(figures, dag_id, dagbag, mdm, sandboxes, monkeypatch, tmp_path):
    if dag_id == "org_sync_daily":
        gate = org_with_two_roots(dagbag, sandboxes, monkeypatch)
    elif dag_id == "expense_category_sync_weekly":
        gate = chart_with_an_orphan_cost_center(dagbag, mdm, sandboxes, monkeypatch, tmp_path)
    else:
        gate = claim_lines_that_do_not_add_up(dagbag, mdm, sandboxes, monkeypatch)
    assert gate.check_failed, gate.tasks  # the injected bad data did fail the suite
    row = figures(
        f"failing GX suite before the push ({dag_id})",
        tried=1,
        accepted=int(not gate.pushed),
        refused=0,
        lost=int(gate.pushed),
        duplicated=0,
    )
    assert row["verdict"] == "ok", (gate.tasks, gate.vendor_writes)
