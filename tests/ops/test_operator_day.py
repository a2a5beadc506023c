"""The operator's day, walked in headless Chromium against the running ``make airflow`` deployment, the
way a person does it: every step clicks the UI, then the test checks the outcome where it lands
(Airflow's REST API, the middle platform). Screenshots land in test-artifacts/browser/operator-day/."""

from __future__ import annotations

import csv
import hashlib
import time
import urllib.parse
from decimal import Decimal
from pathlib import Path

import psycopg

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


def _ti_state(local, dag_id: str, run_id: str, task_id: str, map_index: int, want: str, within: float) -> str | None:
    """The state of one (mapped) task instance once it is ``want`` or ``within`` s have passed; None
    while the mapped instance does not exist yet (its upstream has not expanded it)."""
    path = f"/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id, safe='')}/taskInstances"
    deadline = time.monotonic() + within
    while True:
        found = [
            ti["state"]
            for ti in local.api("GET", path, params={"limit": 100})["task_instances"]
            if (ti["task_id"], ti["map_index"]) == (task_id, map_index)
        ]
        state = found[0] if found else None
        if state == want or time.monotonic() > deadline:
            return state
        time.sleep(1)


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


LEAVERS = [f"u{n:07d}" for n in range(5, 17)]  # 12 of 200 people: above the 5 % a run may deactivate alone
REASON = "HR leavers list of December checked, ticket HR-311"


def test_a_conflict_is_decided_in_the_ui_by_a_named_user_with_a_reason(local_airflow, green_run):
    """12 people leave in DingTalk at once: the daily run holds them and asks; hr (the role the
    deciders Variable names for the org guard) logs in, reads the question, gives a reason and
    chooses; the decision, the person and the reason land in the middle platform's audit trail."""
    for userid in LEAVERS:
        local_airflow.sandboxes.control("dingtalk").mutate("leave", userid=userid)
    run_id = local_airflow.trigger("org_sync_daily")
    asked = _ti_state(local_airflow, "org_sync_daily", run_id, "ask_about_deactivations", 0, "awaiting_input", 240)
    assert asked == "awaiting_input"
    page = (
        _task_page(local_airflow.url, "org_sync_daily", run_id, "ask_about_deactivations")
        + "/mapped/0/required_actions"
    )

    with Browser() as browser:
        assert not login(browser, local_airflow.url, "hr", local_airflow.passwords["hr"], OUT).errors
        question = capture(browser, "13-conflict-question", page, ("Reason (required)", "Deactivate them"), OUT)
        assert question.errors == []
        assert "E0000005" in question.text and "E0000016" in question.text
        browser.type_into("#element_reason", REASON)
        browser.screenshot(OUT / "14-reason-given.png")
        browser.click("Deactivate them")
        answered = browser.wait_for(("Response received", "from hr"))
        browser.screenshot(OUT / "15-decided-by-hr.png")
    assert "from hr" in answered
    assert local_airflow.wait_for_run("org_sync_daily", run_id, timeout=240) == "success"

    with psycopg.connect(local_airflow.env["AIRFLOW_CONN_MDM_POSTGRES"], autocommit=True) as conn:
        item = conn.execute(
            "SELECT item_id, status, decision, decided_by FROM sync.exception_item"
            " WHERE reason_code = 'mass_deactivation' ORDER BY item_id DESC LIMIT 1"
        ).fetchone()
        decided = conn.execute(
            "SELECT actor, detail->>'reason', detail->>'note' FROM sync.exception_event"
            " WHERE item_id = %s AND action = 'decided'",
            (item[0],),
        ).fetchall()
        still_active = conn.execute(
            "SELECT count(*) FROM mdm.employee WHERE active AND employee_no = ANY(%s)",
            ([f"E{u[1:]}" for u in LEAVERS],),
        ).fetchone()[0]
    assert item[1:] == ("resolved", "deactivate", "hr")
    assert decided == [("hr", REASON, REASON)]
    assert still_active == 0


def _table(browser: Browser, section: str) -> list[dict[str, str]]:
    """The numbers table of one section of the sync-health page, as the browser shows it."""
    return browser.evaluate(f"""(() => {{
        const rows = [...document.querySelectorAll('section#{section} table tr')];
        if (!rows.length) return [];
        const head = [...rows[0].querySelectorAll('th')].map(c => c.innerText.trim());
        return rows.slice(1).map(r => Object.fromEntries(
            [...r.querySelectorAll('td')].map((c, i) => [head[i], c.innerText.trim()])));
    }})()""")


def _framed_text(browser: Browser, want: str, within: float = 30) -> str:
    """The text of the page in the UI's iframe (an external view) once it shows ``want``."""
    script = (
        "(() => { const f = document.querySelector('iframe'); return f ? (f.contentDocument && "
        "f.contentDocument.body ? f.contentDocument.body.innerText : 'src=' + f.src) : 'no frame' })()"
    )
    deadline = time.monotonic() + within
    while want not in (text := browser.evaluate(script) or "") and time.monotonic() < deadline:
        time.sleep(0.5)
    return text


def test_the_sync_health_page_shows_what_the_run_ledger_holds(local_airflow, green_run):
    """The auditor (a viewer) opens the sync-health page from the UI's Browse menu: each org sync's
    merge counts and its duration against the deadline, as the run ledger holds them."""
    with Browser() as browser:
        assert not login(browser, local_airflow.url, "auditor", local_airflow.passwords["auditor"], OUT).errors
        in_ui = capture(
            browser, "20-sync-health-in-the-ui", f"{local_airflow.url}/plugin/sync-health", ("Browse",), OUT
        )
        framed = _framed_text(browser, "Rows created")  # the page inside the UI's frame, same origin
        browser.screenshot(OUT / "20-sync-health-in-the-ui.png")
        page = capture(
            browser, "21-sync-health", f"{local_airflow.url}/expense-sync-health/", ("Sync health", "Rows created"), OUT
        )
        rows, durations = _table(browser, "rows"), _table(browser, "durations")
    assert in_ui.errors == [] and page.errors == []
    assert "Sync health" in framed and "Rows created" in framed, framed[:500]

    with psycopg.connect(local_airflow.env["AIRFLOW_CONN_MDM_POSTGRES"], autocommit=True) as conn:
        merges = conn.execute(
            "SELECT r.run_key, s.counts FROM sync.run r JOIN sync.run_step s USING (run_key)"
            " WHERE r.dag_id = 'org_sync_daily' AND s.step = 'merge'"
        ).fetchall()
        finished = dict(
            conn.execute(
                "SELECT run_key, status FROM sync.run WHERE dag_id = 'org_sync_daily' AND finished_at IS NOT NULL"
            ).fetchall()
        )
    expected = {
        key: {
            what: sum(c.get(what, 0) for c in counts.values() if isinstance(c, dict) and "created" in c)
            for what in ("created", "updated", "deactivated", "quarantined")
        }
        for key, counts in merges
    }
    shown = {
        r["run_key"]: {what: int(r[what]) for what in ("created", "updated", "deactivated", "quarantined")}
        for r in rows
        if r["dag_id"] == "org_sync_daily"
    }
    assert shown == expected and f"org_sync_daily/{green_run}" in shown
    timed = {r["run_key"]: r for r in durations if r["dag_id"] == "org_sync_daily"}
    assert set(finished) <= set(timed)
    assert {timed[k]["deadline_seconds"] for k in finished} == {"3600.0"}  # DEADLINES["org_sync_daily"]: 1 hour


def test_the_auditors_pack_of_a_month_with_an_exception_opens_complete(local_airflow, monkeypatch):
    """Last month's claims, and an accountant's hand entry the claims do not explain: the month end
    runs in the deployment, and the auditor opens its pack — every claim, the exception, the ERP's
    approval still pending — with a PDF and a checksum manifest that hold."""
    import pendulum

    from expense_sync.monthend.periods import previous_month
    from monthkit import make_claims, manual_entry

    monkeypatch.setenv("AIRFLOW_CONN_ERP_KINGDEE", local_airflow.env["AIRFLOW_CONN_ERP_KINGDEE"])
    period = previous_month(pendulum.now("UTC"))  # the deployment's first period, recorded by this run
    with psycopg.connect(local_airflow.env["AIRFLOW_CONN_MDM_POSTGRES"], autocommit=True) as conn:
        claims = make_claims(conn, local_airflow.sandboxes, "kingdee", period, count=4)
    manual_entry(local_airflow.sandboxes, "kingdee", period, "77.70")
    run_id = local_airflow.trigger("expense_rollup_monthly", conf={"period": period})
    assert local_airflow.wait_for_run("expense_rollup_monthly", run_id, timeout=300) == "success"

    pack = Path(local_airflow.settings.environment["EXPENSE_SYNC_GX_RESULTS_DIR"]) / "auditors_pack" / period
    with Browser() as browser:
        assert not login(browser, local_airflow.url, "auditor", local_airflow.passwords["auditor"], OUT).errors
        shot = capture(browser, "30-auditors-pack", (pack / "index.html").as_uri(), ("erp_manual_entry",), OUT)
    assert shot.errors == []
    assert all(c["claim_no"] in shot.text for c in claims)
    assert "awaiting the ERP's approval" in shot.text  # Kingdee keeps the rollup draft until its accountant audits

    with psycopg.connect(local_airflow.env["AIRFLOW_CONN_MDM_POSTGRES"], autocommit=True) as conn:
        total = conn.execute("SELECT sum(total_amount) FROM fin.claim WHERE period = %s", (period,)).fetchone()[0]
    with (pack / "chain.csv").open(encoding="utf-8") as f:
        assert sum(Decimal(r["amount"]) for r in csv.DictReader(f)) == total == sum(c["total"] for c in claims)
    listed = dict(
        reversed(line.split("  ", 1)) for line in (pack / "MANIFEST.sha256").read_text(encoding="utf-8").splitlines()
    )
    assert "pack.pdf" in listed and "index.html" in listed
    assert {name: hashlib.sha256((pack / name).read_bytes()).hexdigest() for name in listed} == listed
    assert (pack / "pack.pdf").read_bytes()[:5] == b"%PDF-"
