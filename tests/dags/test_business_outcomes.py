"""Business outcomes mark the run and notify (expense_sync.outcomes): a voucher the ERP refuses makes
the claim_events run red, with its note written through Airflow's own REST API (served here by
Airflow's api-server app over real HTTP) and one alert delivered to a local DingTalk robot; the
refused voucher is posted once; the README's runbook for ``voucher_refused``, run as written,
releases the claim and the next run posts it exactly once."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from catchers import RobotCatcher
from claimkit import CLAIMS, erp_vouchers, file_claim, open_claim_items, prepare_world, run_ok
from testkit import run_dag, serve, step_counts

ROOT = Path(__file__).resolve().parents[2]
ROBOT_TOKEN = "robot-token-outcomes-91c2"  # noqa: S105 - a test value the alert must never show
API_USER, API_PASSWORD = "expense-sync", "api-password-3d8e"  # noqa: S105
CLEARING = "2241.09"  # Kingdee's clearing account (the claim voucher's debit lines)


@pytest.fixture
def robot(monkeypatch):
    with RobotCatcher(ROBOT_TOKEN) as catcher:
        conn = {"conn_type": "dingding", "host": catcher.url, "password": ROBOT_TOKEN}
        monkeypatch.setenv("AIRFLOW_CONN_ALERTS_DINGTALK", json.dumps(conn))
        yield catcher


@pytest.fixture
def airflow_api(monkeypatch, tmp_path):
    """Airflow's api-server (the public REST API and its /auth/token) over real HTTP, on this test
    session's metadata database, with one user allowed to edit DAG runs; ``airflow_api`` points at it."""
    passwords = tmp_path / "passwords.json"
    passwords.write_text(json.dumps({API_USER: API_PASSWORD}))
    manager = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
    monkeypatch.setenv("AIRFLOW__CORE__AUTH_MANAGER", manager)
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", f"{API_USER}:user")
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE", str(passwords))
    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "outcomes-test-jwt-secret-5b1f9e")
    from airflow.api_fastapi.app import create_app

    url, server, thread = serve(create_app(apps="core"))
    host, port = url.removeprefix("http://").split(":")
    conn = {"conn_type": "http", "host": host, "port": int(port), "login": API_USER, "password": API_PASSWORD}
    monkeypatch.setenv("AIRFLOW_CONN_AIRFLOW_API", json.dumps(conn))
    yield url
    server.should_exit = True
    thread.join(15)


def saves(sandboxes) -> int:
    """Vouchers sent to Kingdee (its Save service), counted by the sandbox."""
    calls = sandboxes.control("kingdee").stats()["calls"]
    return sum(n for key, n in calls.items() if "DynamicFormService.Save" in key)


def runbook_commands(item: int, claim_no: str) -> list[list[str]]:
    """The shell commands of the README's ``voucher_refused`` runbook, as an operator copies them
    (``python -m expense_sync …``), with the item and the operator filled in."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("#### voucher_refused", 1)[1].split("\n#### ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, "the runbook has a bash block"
    commands = []
    for line in block.group(1).splitlines():
        line = line.split("  #", 1)[0].strip()
        if not line.startswith("python -m expense_sync"):
            continue
        line = line.replace("<item>", str(item)).replace("<claim_no>", claim_no).replace("<you>", "li.na")
        commands.append([sys.executable, *shlex.split(line)[1:]])
    assert commands, section
    return commands


def run_cli(command: list[str]) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "plugins")}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_a_refused_voucher_fails_the_run_notes_it_alerts_once_and_the_runbook_reposts_it_once(
    dagbag, mdm, sandboxes, monkeypatch, robot, airflow_api
):
    prepare_world(dagbag, mdm, sandboxes, monkeypatch, "kingdee")
    kingdee = sandboxes.control("kingdee")
    kingdee.mutate("forbid", form="BD_Account", number=CLEARING)  # an accountant disabled the account
    claim_no = file_claim(sandboxes, mdm, amounts=("70.00",))["form"]["code"]

    run = dagbag.dags[CLAIMS].test()
    tasks = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    assert str(run.state) == "failed", tasks
    assert tasks["post_vouchers"] == "success" and tasks["summarize"] == "failed", tasks
    assert saves(sandboxes) == 1, "a refusal is not retried"
    assert open_claim_items(mdm) == {claim_no: ("quarantine", "voucher_refused")}
    (detail,) = mdm.execute(
        "SELECT reason FROM sync.exception_item WHERE reason_code = 'voucher_refused' AND record_key = %s", (claim_no,)
    ).fetchone()
    assert "已禁用" in detail, detail  # the ERP's own text

    assert len(robot.messages) == 1, robot.requests  # one alert: the business one, not also "failed at summarize"
    text = robot.messages[0]["markdown"]["text"]
    assert robot.messages[0]["markdown"]["title"] == f"expense-sync: {CLAIMS}: 1 voucher(s) refused by the ERP"
    for fact in (run.run_id, "Vouchers refused by the ERP:** 1: " + claim_no, "Records quarantined:** 0",
                 "Runbook: README.md → For operators → Business outcomes → voucher_refused"):  # fmt: skip
        assert fact in text, text
    assert ROBOT_TOKEN not in text

    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        note = session.query(DagRun).filter_by(dag_id=CLAIMS, run_id=run.run_id).one().note
    assert note.startswith("**FAILED: 1 voucher(s) refused by the ERP**"), note
    assert claim_no in note and "voucher_refused" in note

    state, tasks = run_dag(dagbag, CLAIMS)  # nothing new: green, silent, nothing sent
    assert state == "success", tasks
    assert saves(sandboxes) == 1 and len(robot.messages) == 1

    # the runbook: fix the data in the ERP, then release the claim with the README's commands
    kingdee.mutate("enable", form="BD_Account", number=CLEARING)
    (item,) = mdm.execute(
        "SELECT item_id FROM sync.exception_item WHERE reason_code = 'voucher_refused' AND status <> 'resolved'"
    ).fetchone()
    outputs = [run_cli(command) for command in runbook_commands(item, claim_no)]
    assert any(claim_no in out and "已禁用" in out for out in outputs), outputs  # the listing shows the refusal
    assert open_claim_items(mdm) == {}

    run_ok(dagbag, CLAIMS)  # released: validated, looked up by claim number, posted once
    assert saves(sandboxes) == 2
    assert len(erp_vouchers(sandboxes, "kingdee", claim_no)) == 1
    (state,) = mdm.execute("SELECT state FROM fin.claim WHERE claim_no = %s", (claim_no,)).fetchone()
    assert state == "voucher_created"
    run_ok(dagbag, CLAIMS)
    assert saves(sandboxes) == 2 and len(erp_vouchers(sandboxes, "kingdee", claim_no)) == 1
    assert len(robot.messages) == 1
    history = mdm.execute(
        "SELECT actor, action FROM sync.exception_event WHERE item_id = %s ORDER BY event_id", (item,)
    ).fetchall()
    assert history == [("system", "queued"), ("li.na", "decided")]


def test_a_refused_rollup_voucher_is_not_retried_is_held_and_posts_once_after_its_release(
    dagbag, mdm, sandboxes, monkeypatch, robot
):
    from monthkit import make_claims

    monkeypatch.setenv("AIRFLOW_VAR_EXPENSE_SYNC_ERP_VENDOR", "kingdee")
    monkeypatch.setenv("AIRFLOW_VAR_EXPENSE_SYNC_FIRST_PERIOD", "2025-01")
    kingdee = sandboxes.control("kingdee")
    make_claims(mdm, sandboxes, "kingdee", "2026-02", count=2)
    kingdee.mutate("forbid", form="BD_Account", number=CLEARING)  # the rollup credits the clearing account
    before = saves(sandboxes)

    state, tasks = run_dag(dagbag, "expense_rollup_monthly", period="2026-02")
    assert state == "failed" and tasks["rollup_month"] == "success" and tasks["summarize"] == "failed", tasks
    assert saves(sandboxes) == before + 1, "one post, no Airflow retry"
    key = "2026-02/RU-2026-02-001-1"
    rows = mdm.execute(
        "SELECT item_id, kind, entity, reason FROM sync.exception_item WHERE reason_code = 'voucher_refused'"
    ).fetchall()
    assert [(kind, entity) for _, kind, entity, _ in rows] == [("quarantine", "voucher")] and "已禁用" in rows[0][3]
    titles = [m["markdown"]["title"] for m in robot.messages]  # the month's check fails too, and says so
    assert titles == [
        "expense-sync: expense_rollup_monthly failed at check_month_end",
        "expense-sync: expense_rollup_monthly: 1 voucher(s) refused by the ERP",
    ], titles
    text = robot.messages[1]["markdown"]["text"]
    assert f"Vouchers refused by the ERP:** 1: {key}" in text and "Business outcomes → voucher_refused" in text, text

    state, tasks = run_dag(dagbag, "expense_rollup_monthly", period="2026-02")
    assert state == "failed" and saves(sandboxes) == before + 1, "held until a person releases it"
    business = robot.messages[-1]["markdown"]  # no new refusal: the month not reconciled is the news
    assert business["title"].startswith("expense-sync: expense_rollup_monthly: period 2026-02 not reconciled (")
    assert "Business outcomes → month_not_reconciled" in business["text"], business["text"]
    assert step_counts(mdm, "rollup")["companies"][0]["refused"] == ["RU-2026-02-001-1"]

    kingdee.mutate("enable", form="BD_Account", number=CLEARING)
    item = rows[0][0]
    run_cli([sys.executable, "-m", "expense_sync", "resolve", str(item), "--decision", "re-post", "--by", "li.na"])
    state, tasks = run_dag(dagbag, "expense_rollup_monthly", period="2026-02")
    assert state == "success", tasks
    assert saves(sandboxes) == before + 2
    refs = [v.get("F_ES_ExternalRef") for v in kingdee.state()["vouchers"]]
    assert refs.count("RU-2026-02-001-1") == 1
    assert step_counts(mdm, "reconcile")["status"] == "reconciled"


def test_a_conflict_waiting_for_a_person_notes_and_alerts_once_and_the_run_stays_green(
    dagbag, mdm, sandboxes, monkeypatch, robot, airflow_api
):
    prepare_world(dagbag, mdm, sandboxes, monkeypatch, "kingdee")
    sandboxes.control("dingtalk").mutate("start_approval", instance_id="PROC-REFUSED", state="refuse")
    claim_no = file_claim(sandboxes, mdm, amounts=("10.00",), oa_instance="PROC-REFUSED")["form"]["code"]

    run = dagbag.dags[CLAIMS].test()
    assert str(run.state) == "success"
    assert open_claim_items(mdm) == {claim_no: ("conflict", "oa_disagrees")}
    assert [m["markdown"]["title"] for m in robot.messages] == [
        f"expense-sync: {CLAIMS}: 1 conflict(s) waiting for a person"
    ]
    text = robot.messages[0]["markdown"]["text"]
    assert f"Conflicts waiting for a person:** 1: {claim_no} (oa_disagrees)" in text, text
    assert "Business outcomes → conflicts_waiting" in text

    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        note = session.query(DagRun).filter_by(dag_id=CLAIMS, run_id=run.run_id).one().note
    assert note.startswith("**Needs a person: 1 conflict(s) waiting for a person**") and claim_no in note, note

    run_ok(dagbag, CLAIMS)  # validated again, still disagreeing: the same item, no second alert
    assert len(robot.messages) == 1
