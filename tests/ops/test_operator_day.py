"""The operator's day, walked in headless Chromium against the running ``make airflow`` deployment, the
way a person does it: every step clicks the UI, then the test checks the outcome where it lands
(Airflow's REST API, the middle platform). Screenshots land in test-artifacts/browser/operator-day/."""

from __future__ import annotations

import time
import urllib.parse

from browser_check import Browser, capture, login
from testkit import ROOT

OUT = ROOT / "test-artifacts" / "browser" / "operator-day"


def _task_page(base_url: str, dag_id: str, run_id: str, task_id: str) -> str:
    return f"{base_url}/dags/{dag_id}/runs/{urllib.parse.quote(run_id, safe='')}/tasks/{task_id}"


def _try_number_becomes(local, dag_id: str, run_id: str, task_id: str, n: int, within: float) -> bool:
    """Whether the task gets its ``n``-th try within ``within`` s: the clear has landed (the run's
    state alone says nothing until then: it is still the old 'failed')."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if local.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}")["try_number"] >= n:
            return True
        time.sleep(0.5)
    return False


def test_a_failed_task_is_cleared_in_the_ui_and_runs_green(local_airflow):
    run_id = local_airflow.trigger("clear_probe")
    assert local_airflow.wait_for_run("clear_probe", run_id, timeout=120) == "failed"
    page = _task_page(local_airflow.url, "clear_probe", run_id, "fail_first")

    with Browser() as browser:
        assert not login(browser, local_airflow.url, "admin", local_airflow.password, OUT).errors
        failed = capture(browser, "10-failed-task", page, ("fail_first", "Failed"), OUT)
        assert failed.errors == []
        browser.click("Clear Task Instance", "Press shift+c to clear")
        browser.wait_for(("Confirm",))
        browser.screenshot(OUT / "11-clear-dialog.png")
        browser.click("Confirm")
        assert _try_number_becomes(local_airflow, "clear_probe", run_id, "fail_first", 2, within=60)
        assert local_airflow.wait_for_run("clear_probe", run_id, timeout=120) == "success"
        green = capture(browser, "12-cleared-task-green", page, ("fail_first", "Success"), OUT)

    assert green.errors == []
    ti = local_airflow.api("GET", f"/dags/clear_probe/dagRuns/{run_id}/taskInstances/fail_first")
    assert (ti["state"], ti["try_number"]) == ("success", 2)
