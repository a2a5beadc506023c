"""A run that misses its deadline alerts the DingTalk robot and the e-mail recipients, configured at
run time through the REST API (configuration only, no restart): the scheduler notices the missed
deadline, the triggerer runs the notifier. The alert names the DAG and the run and carries no secret."""

import json
import time

import pytest

from catchers import RobotCatcher, SmtpCatcher
from opskit import ROBOT_TOKEN, configure_robot, fault, robot_alerts

TOKEN, SECRET, SMTP_PASSWORD = "probe-robot-token-77aa", "SECprobe-secret-99bb", "probe-smtp-pw-55cc"


def configure_alerts(local, robot, smtp):
    configure_robot(local, robot, TOKEN, SECRET)
    local.api(
        "POST",
        "/connections",
        json={
            "connection_id": "alerts_smtp",
            "conn_type": "smtp",
            "host": "127.0.0.1",
            "port": smtp.port,
            "login": "alerts",
            "password": SMTP_PASSWORD,
            "extra": json.dumps({"disable_ssl": True, "disable_tls": True, "from_email": "airflow@example.com"}),
        },
    )
    local.api("POST", "/variables", json={"key": "expense_sync_alert_emails", "value": "ops@example.com"})


def remove_alerts(local):
    for conn_id in ("alerts_dingtalk", "alerts_smtp"):
        local.api("DELETE", f"/connections/{conn_id}")
    local.api("DELETE", "/variables/expense_sync_alert_emails")


def test_a_run_past_its_deadline_alerts_both_channels(local_airflow):
    with RobotCatcher(TOKEN, SECRET) as robot, SmtpCatcher() as smtp:
        configure_alerts(local_airflow, robot, smtp)
        try:
            run_id = local_airflow.trigger("deadline_probe")
            deadline = time.monotonic() + 120
            while not (robot.messages and smtp.messages) and time.monotonic() < deadline:
                time.sleep(1)
        finally:
            remove_alerts(local_airflow)

    assert len(robot.messages) == 1, robot.requests
    markdown = robot.messages[0]["markdown"]
    assert markdown["title"] == "expense-sync: deadline_probe missed its deadline"
    assert run_id in markdown["text"] and "**State:** running" in markdown["text"]
    assert len(smtp.messages) == 1 and smtp.messages[0]["Subject"] == markdown["title"]
    assert run_id in smtp.messages[0].get_body(("html",)).get_content()
    wire = robot.requests[0].split("\n", 1)[1] + smtp.messages[0].as_string()
    assert not [s for s in (TOKEN, SECRET, SMTP_PASSWORD) if s in wire]


def test_a_task_out_of_memory_alerts_once(local_airflow):
    """The task process runs out of memory (RLIMIT_AS): the task fails and its failure alert says so."""
    with robot_alerts(local_airflow) as robot:
        state, alerts = fault(local_airflow, robot, "oom")
    assert state == "failed"
    assert len(alerts) == 1, robot.messages
    assert alerts[0]["title"] == "expense-sync: fault_probe failed at die"
    assert "MemoryError" in alerts[0]["text"]


# Airflow 3.3.2 runs no task callback when the task process is killed and its supervisor survives
# (apache/airflow#60858); SIGTERM only calls the operator's on_kill, and the task is killed at the
# end of the grace period. The watcher of expense_sync.alerts alerts instead.
@pytest.mark.parametrize("how", ["sigkill", "sigterm"])
def test_a_killed_task_alerts_once(local_airflow, how):
    with robot_alerts(local_airflow) as robot:
        state, alerts = fault(local_airflow, robot, how)
    assert state == "failed"
    assert len(alerts) == 1, robot.messages
    assert alerts[0]["title"] == "expense-sync: fault_probe failed at die"
    assert "was killed" in alerts[0]["text"] and "(try 1)" in alerts[0]["text"]
    assert ROBOT_TOKEN not in alerts[0]["text"]
