"""Failure alerts: org_sync_daily fails for real (its OA answers 500) and the alert reaches a local
DingTalk robot and a local SMTP server, naming the DAG, the run and the failed task, with no secret.

Off by default: without the alert connections a failed run sends nothing. A robot that refuses the
alert does not stop the e-mail. (A missed deadline is tested against a running Airflow in
tests/ops/test_deadline_alerts.py: only the scheduler evaluates deadlines.)
"""

import json
import logging

import pytest

from catchers import RobotCatcher, SmtpCatcher
from expense_sync.alerts import Alert, _first_line, deadline_missed
from expense_sync_sandboxes import dingtalk
from testkit import FAST

DAG = "org_sync_daily"
ROBOT_TOKEN = "robot-token-4f7a9c"  # noqa: S105 - test values the alert must never show
ROBOT_SECRET = "SECrobot-secret-1b2d"  # noqa: S105
SMTP_PASSWORD = "smtp-password-8e3c"  # noqa: S105
SECRETS = (ROBOT_TOKEN, ROBOT_SECRET, SMTP_PASSWORD, dingtalk.APP_SECRET)


@pytest.fixture
def oa_down(sandboxes, monkeypatch):
    """The OA answers every call with HTTP 500, so extract_directory fails after all its retries."""
    monkeypatch.setenv("AIRFLOW_VAR_EXPENSE_SYNC_OA_VENDOR", "dingtalk")
    monkeypatch.setenv("AIRFLOW_CONN_OA_DINGTALK", sandboxes.connection("oa_dingtalk", **{**FAST, "max_attempts": 1}))
    sandboxes.control("dingtalk").faults({"kind": "5xx", "every": 1})
    return sandboxes


@pytest.fixture
def channels(monkeypatch):
    """Both alert channels configured against local catchers."""
    with RobotCatcher(ROBOT_TOKEN, ROBOT_SECRET) as robot, SmtpCatcher() as smtp:
        monkeypatch.setenv(
            "AIRFLOW_CONN_ALERTS_DINGTALK",
            json.dumps(
                {"conn_type": "dingding", "host": robot.url, "password": ROBOT_TOKEN, "extra": {"secret": ROBOT_SECRET}}
            ),
        )
        monkeypatch.setenv(
            "AIRFLOW_CONN_ALERTS_SMTP",
            json.dumps(
                {
                    "conn_type": "smtp",
                    "host": "127.0.0.1",
                    "port": smtp.port,
                    "login": "alerts",
                    "password": SMTP_PASSWORD,
                    "extra": {"disable_ssl": True, "disable_tls": True, "from_email": "airflow@example.com"},
                }
            ),
        )
        monkeypatch.setenv("AIRFLOW_VAR_EXPENSE_SYNC_ALERT_EMAILS", "ops@example.com, finance-it@example.com")
        yield robot, smtp


def run_failing(dagbag):
    run = dagbag.dags[DAG].test()
    tasks = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    assert str(run.state) == "failed" and tasks["extract_directory"] == "failed", tasks
    return run


def test_a_failed_run_alerts_both_channels_with_dag_run_and_task_and_no_secret(dagbag, mdm, oa_down, channels):
    robot, smtp = channels
    run = run_failing(dagbag)

    assert len(robot.messages) == 1, robot.requests
    message = robot.messages[0]
    assert message["msgtype"] == "markdown"
    text = message["markdown"]["text"]
    assert message["markdown"]["title"] == f"expense-sync: {DAG} failed at extract_directory"
    facts = (
        run.run_id,
        "extract_directory (try 4)",
        "TransientVendorError: dingtalk GET /gettoken",
        "/dags/org_sync_daily/runs/",
    )
    for fact in (*facts, f"Runbook: README.md → For operators → {DAG}"):
        assert fact in text, text

    assert len(smtp.messages) == 1 and smtp.logins == ["alerts"]
    mail = smtp.messages[0]
    assert mail["Subject"] == f"expense-sync: {DAG} failed at extract_directory"
    assert set(mail["To"].addresses[i].addr_spec for i in range(2)) == {"ops@example.com", "finance-it@example.com"}
    body = mail.get_body(("html",)).get_content()
    assert DAG in body and run.run_id in body and "extract_directory" in body

    wire = "\n".join(robot.requests[0].split("\n", 1)[1:]) + mail.as_string()  # bodies, not the robot's URL
    for secret in SECRETS:
        assert secret not in wire


def test_alerts_are_off_until_configured(dagbag, mdm, oa_down):
    with RobotCatcher(ROBOT_TOKEN) as robot, SmtpCatcher() as smtp:
        run_failing(dagbag)
    assert robot.requests == [] and smtp.messages == []


def test_a_robot_that_refuses_does_not_stop_the_email(dagbag, mdm, oa_down, channels, monkeypatch):
    robot, smtp = channels
    robot.secret = "SECanother-secret"  # the robot now expects another signature: errcode 310000
    run_failing(dagbag)
    assert robot.messages == [] and len(robot.requests) == 1
    assert len(smtp.messages) == 1


def test_the_error_line_is_masked_and_cut():
    from airflow.sdk.log import mask_secret

    mask_secret("hunter2-very-secret")
    line = _first_line(RuntimeError("login failed with hunter2-very-secret\nTraceback (most recent call last): …"))
    assert line == "RuntimeError: login failed with ***"
    assert len(_first_line(ValueError("x" * 1000))) == 300


def test_a_deadline_alert_says_which_run_is_late():
    alert = deadline_missed(
        {
            "dag_run": {"dag_id": DAG, "dag_run_id": "scheduled__2026-03-02", "state": "running", "queued_at": "t0"},
            "deadline": {"id": "d1", "deadline_time": "t1"},
        }
    )
    assert alert.title == f"expense-sync: {DAG} missed its deadline"
    assert ("Run", "scheduled__2026-03-02") in alert.facts and ("State", "running") in alert.facts
    assert isinstance(alert, Alert) and "<h3>" in alert.html() and alert.markdown().startswith("### expense-sync")


def test_an_unreachable_robot_never_logs_its_token(monkeypatch, caplog, capsys):
    from expense_sync.alerts import send_dingtalk
    from expense_sync_sandboxes.cluster import free_port

    robot = f"http://127.0.0.1:{free_port()}"  # nothing listens: the connection is refused
    conn = {"conn_type": "dingding", "host": robot, "password": ROBOT_TOKEN, "extra": {"secret": ROBOT_SECRET}}
    monkeypatch.setenv("AIRFLOW_CONN_ALERTS_DINGTALK", json.dumps(conn))
    caplog.set_level(logging.DEBUG)

    assert send_dingtalk(Alert("expense-sync: org_sync_daily failed", DAG)) is False

    logged = "\n".join(r.getMessage() for r in caplog.records) + caplog.text + "".join(capsys.readouterr())
    assert "alert not delivered to DingTalk: ConnectionError" in logged
    for secret in (ROBOT_TOKEN, ROBOT_SECRET):
        assert secret not in logged


def test_the_watcher_of_a_killed_task_alerts_only_when_the_task_did_not_say_bye():
    """The watcher a task's last try starts (expense_sync.alerts.watch_for_death): its pipe closed
    without the word — the task process was killed — delivers the alert, once; after the word, nothing."""
    from expense_sync.alerts import BYE, Alert, start_watcher

    conn = {"conn_type": "dingding", "host": None, "password": ROBOT_TOKEN, "extra": {"secret": ROBOT_SECRET}}
    alert = Alert("expense-sync: d failed at t", "d", [("Error", "the task process was killed")])
    with RobotCatcher(ROBOT_TOKEN, ROBOT_SECRET) as robot:
        env = {"AIRFLOW_CONN_ALERTS_DINGTALK": json.dumps({**conn, "host": robot.url})}
        finished = start_watcher(env, alert)
        finished.stdin.write(BYE + "\n")
        finished.stdin.close()
        killed = start_watcher(env, alert)
        killed.stdin.close()  # what the death of the task process does to the pipe
        assert finished.wait(60) == 0 and killed.wait(60) == 0
    assert [m["markdown"]["title"] for m in robot.messages] == [alert.title]
    assert not [arg for arg in killed.args if ROBOT_TOKEN in arg]  # the token travels on stdin only
