"""Operating events around the DAGs rather than inside one writer: credentials that must never leak,
a failing data health suite that must stop the push behind it, tasks that die (SIGKILL, SIGTERM, out
of memory) or a run that misses its deadline, which must each reach the alert channel, and retries
that must end before the DAG's deadline and its next run. Judged by what the sandboxes, the alert
channel, the logs and the files hold."""

from __future__ import annotations

import pytest
from opskit import budgets, deployed_retry_config, parse_with_deadlines

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
