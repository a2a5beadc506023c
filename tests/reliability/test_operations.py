"""Operating events around the DAGs rather than inside one writer: credentials that must never leak,
a failing data health suite that must stop the push behind it, tasks that die (SIGKILL, SIGTERM, out
of memory) or a run that misses its deadline, which must each reach the alert channel, and retries
that must end before the DAG's deadline and its next run. Judged by what the sandboxes, the alert
channel, the logs and the files hold."""

from __future__ import annotations

import base64
import datetime as dt
import logging
import secrets

import pendulum
import pytest

from claimkit import CLAIMS, PULL, audit_in_erp, file_claim, prepare_world, run_ok, voucher_row
from monthkit import make_claims
from opskit import (
    GATED_PUSHES,
    ROBOT_SECRET,
    ROBOT_TOKEN,
    IssuedTokens,
    budgets,
    chart_with_an_orphan_cost_center,
    claim_lines_that_do_not_add_up,
    credential_canaries,
    deployed_retry_config,
    fault,
    leaks,
    local_airflow,  # noqa: F401 - the session fixture
    missed_deadline,
    org_with_two_roots,
    parse_with_deadlines,
    results_dir,
    robot_alerts,
    robot_alerts_in_env,
    runs_since,
    searched_places,
)
from testkit import FAST, run_dag

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


def test_a_killed_task_or_a_missed_deadline_alerts(figures, local_airflow):  # noqa: F811 - the fixture
    """A real Airflow (LocalExecutor, scheduler, triggerer): a task killed by SIGKILL, by SIGTERM (then
    SIGKILL at the end of the grace period), out of memory, and a run past its deadline. Each fault
    must put one alert on the DingTalk robot."""
    outcomes = {}
    with robot_alerts(local_airflow) as robot:
        for how in ("sigkill", "sigterm", "oom"):
            state, alerts = fault(local_airflow, robot, how)
            assert state == "failed", (how, state)  # the fault happened
            outcomes[how] = len(alerts)
        _, alerts = missed_deadline(local_airflow, robot)
        outcomes["deadline"] = len(alerts)
    row = figures(
        "killed task (SIGKILL, SIGTERM, OOM) or missed deadline → alert",
        tried=len(outcomes),
        accepted=sum(n >= 1 for n in outcomes.values()),
        refused=0,
        lost=sum(n == 0 for n in outcomes.values()),
        duplicated=sum(n > 1 for n in outcomes.values()),
    )
    assert row["verdict"] == "ok", outcomes


def test_no_secret_reaches_logs_xcom_rendered_fields_data_docs_or_the_pack(
    figures, dagbag, mdm, sandboxes, monkeypatch, caplog, capfd, tmp_path
):
    """Canaries in every credential (each vendor connection's secret, the 合思 signing key, the
    webhook signing secret, the alert robot's token and signing secret) and every token the sandboxes
    issue; the DAGs run end to end (org, chart, a claim to its voucher and back, month end, data
    health, and a failing run that alerts); then every place a person or a tool reads is searched."""
    caplog.set_level(logging.INFO)  # the deployment's logging level
    started = dt.datetime.now(dt.UTC)
    tokens = IssuedTokens().install(monkeypatch)
    webhook_secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    monkeypatch.setenv("AIRFLOW_VAR_EXPENSE_SYNC_WEBHOOK_SECRETS", webhook_secret)
    monkeypatch.setenv("AIRFLOW_VAR_EXPENSE_SYNC_FIRST_PERIOD", "2025-01")
    with robot_alerts_in_env(monkeypatch) as robot:
        prepare_world(dagbag, mdm, sandboxes, monkeypatch, "kingdee")  # org sync, chart sync
        code = file_claim(sandboxes, mdm)["form"]["code"]
        run_ok(dagbag, CLAIMS)
        audit_in_erp(sandboxes, "kingdee", code, voucher_row(mdm, code)["remote_id"])
        run_ok(dagbag, PULL)  # the voucher number written back to 合思
        assert voucher_row(mdm, code)["number"], voucher_row(mdm, code)
        make_claims(mdm, sandboxes, "kingdee", "2026-02", count=3)
        run = dagbag.dags["expense_rollup_monthly"].test(
            logical_date=pendulum.datetime(2026, 3, 1, 3, tz="Asia/Shanghai"), run_conf={"period": None}
        )
        assert str(run.state) == "success", [(ti.task_id, ti.state) for ti in run.get_task_instances()]
        run_dag(dagbag, "data_health_daily")  # its org_units suite fails on the cost-center owners seeded: alerts
        monkeypatch.setenv(  # the OA down: org_sync_daily fails and alerts the robot
            "AIRFLOW_CONN_OA_DINGTALK", sandboxes.connection("oa_dingtalk", **{**FAST, "max_attempts": 1})
        )
        sandboxes.control("dingtalk").faults({"kind": "5xx", "every": 1})
        assert run_dag(dagbag, "org_sync_daily")[0] == "failed"
    assert robot.messages and ROBOT_TOKEN in robot.requests[-1]  # the robot canary was in use
    assert tokens.values, "no issued token seen"  # the token canaries were in use

    canaries = {
        **credential_canaries(),
        "webhook secret": webhook_secret,
        "robot token": ROBOT_TOKEN,
        "robot secret": ROBOT_SECRET,
        **{f"issued token {n}": value for n, value in enumerate(sorted(tokens.values))},
    }
    places = searched_places(caplog, capfd, runs_since(started), results_dir())
    assert all(places.values()), {place: len(found) for place, found in places.items()}
    found = leaks(places, canaries)
    artefacts = sum(len(found) for found in places.values())
    dirty = {(place, n) for place, n, _ in found}
    row = figures(
        f"secrets: {len(canaries)} canaries searched in logs, XCom, rendered fields, Data Docs, auditors' pack",
        tried=artefacts,
        accepted=artefacts - len(dirty),
        refused=0,
        lost=len({name for *_, name in found}),
        duplicated=0,
    )
    assert row["verdict"] == "ok", sorted({(place, name) for place, _, name in found})
