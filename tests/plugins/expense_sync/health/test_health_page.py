"""The sync-health page inside Airflow's own api-server app: the org and chart syncs and a claim's
voucher run for real (dag.test(), the vendor sandboxes over HTTP, a real PostgreSQL), then the page
and ``/numbers`` are fetched with a login JWT and their numbers checked against the run ledger,
the exception queue and the health-check history, read here with SQL of the test's own."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest
from fastapi.testclient import TestClient

from chartkit import PASSWORD, USER, ErpWorld, NobodyAnswers, enable_ui_login
from claimkit import CLAIMS, file_claim, prepare_world, run_ok, start_receiver, voucher_row
from expense_sync.dag_defaults import DEADLINES
from testkit import run_dag, step_api_calls, step_counts

PREFIX = "/expense-sync-health"
ERP = "kingdee"
MEASURES = ("created", "updated", "deactivated", "quarantined")


@pytest.fixture
def airflow(monkeypatch, tmp_path):
    """Airflow's api-server app (plugins included) and a login JWT of ``li.na`` from its /auth/token."""
    from airflow.api_fastapi.app import create_app

    enable_ui_login(monkeypatch, tmp_path)
    client = TestClient(create_app())
    answer = client.post("/auth/token", json={"username": USER, "password": PASSWORD})
    assert answer.status_code == 201, answer.text
    return client, answer.json()["access_token"]


@pytest.fixture
def world(airflow, dagbag, mdm, sandboxes, monkeypatch):
    """The org sync and the chart sync; a new ERP expense category no fee type carries, asked about and
    left unanswered (a deferred conflict); a claim from its 合思 webhook to one posted voucher."""
    receiver = start_receiver()
    sandboxes.control("ekuaibao").mutate("configure_outbound", url=receiver.ekuaibao_url)
    try:
        prepare_world(dagbag, mdm, sandboxes, monkeypatch, ERP)
        gl_account = mdm.execute(
            "SELECT c.gl_account_code FROM mdm.expense_category c JOIN mdm.category_fee_type m "
            "USING (expense_category_id) WHERE m.state = 'mapped' ORDER BY c.code LIMIT 1"
        ).fetchone()[0]
        erp = ErpWorld(ERP, sandboxes)
        erp.add_expense_category(erp.new_code("expense_category"), "新增费用项目", gl_account)
        with NobodyAnswers(expected=1) as clock:
            state, tasks = run_dag(dagbag, "expense_category_sync_weekly")
        assert clock.errors == [] and state == "success", (clock.errors, tasks)
        claim_no = file_claim(sandboxes, mdm)["form"]["code"]
        run_ok(dagbag, CLAIMS, catch_up=False)
        assert voucher_row(mdm, claim_no)["remote_id"]
    finally:
        sandboxes.control("ekuaibao").mutate("configure_outbound", url=None)
        receiver.stop()


def ledger(mdm, step: str | None = None) -> list[tuple[str, str, dict]]:
    """(dag id, run key, counts) of every recorded step (or of ``step``)."""
    return mdm.execute(
        "SELECT r.dag_id, r.run_key, s.counts FROM sync.run r JOIN sync.run_step s USING (run_key) "
        "WHERE %(step)s::text IS NULL OR s.step = %(step)s",
        {"step": step},
    ).fetchall()


def test_the_numbers_are_the_ledgers_and_the_page_shows_each_with_its_chart(airflow, world, mdm):
    client, token = airflow
    answer = client.get(f"{PREFIX}/numbers", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    numbers = answer.json()

    rows: dict[str, Counter] = defaultdict(Counter)
    for _, run_key, counts in ledger(mdm, "merge"):
        for entity in counts.values():
            if isinstance(entity, dict) and "created" in entity:
                rows[run_key].update({m: entity.get(m, 0) for m in MEASURES})
    assert {r["run_key"]: {m: r[m] for m in MEASURES} for r in numbers["rows"]} == {k: dict(c) for k, c in rows.items()}
    assert {r["dag_id"] for r in numbers["rows"]} == {"org_sync_daily", "expense_category_sync_weekly"}
    assert sum(r["created"] for r in numbers["rows"] if r["dag_id"] == "org_sync_daily") == 12 + 60

    calls: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for _, run_key, counts in ledger(mdm):
        for vendor, used in counts.get("vendor_api", {}).items():
            calls[run_key, vendor].update(used)
    assert {(r["run_key"], r["vendor"]): (r["calls"], r["throttled"], r["retries"]) for r in numbers["api_calls"]} == {
        key: (c["calls"], c["throttled"], c["retries"]) for key, c in calls.items()
    }
    assert {r["vendor"] for r in numbers["api_calls"]} == {"dingtalk", "ekuaibao", ERP}
    # the meter agrees with the hook's own count, which the chart's extraction keeps in its counts
    assert step_api_calls(mdm, "extract")[ERP]["calls"] == step_counts(mdm, "extract")["api"]["calls"] > 0

    [posted] = numbers["vouchers"]
    assert (posted["dag_id"], posted["posted"], posted["refused"]) == (CLAIMS, 1, 0)
    assert mdm.execute(
        "SELECT count(*) FROM fin.voucher WHERE kind = 'claim' AND remote_id IS NOT NULL"
    ).fetchone() == (1,)

    open_conflicts = mdm.execute(
        "SELECT entity, count(*) FROM sync.exception_item WHERE kind = 'conflict' AND status <> 'resolved' "
        "GROUP BY entity"
    ).fetchall()
    assert open_conflicts == [("expense_category", 1)]
    assert [(r["dag_id"], r["entity"], r["age"], r["open"]) for r in numbers["conflicts"]] == [
        ("expense_category_sync_weekly", "expense_category", "< 1 day", 1)
    ]

    checks = mdm.execute(
        "SELECT split_part(run_key, '/', 1), count(*), count(*) FILTER (WHERE success) FROM quality.check_result "
        "GROUP BY 1"
    ).fetchall()
    per_dag: dict[str, Counter] = defaultdict(Counter)
    for r in numbers["quality"]:  # per DAG and day: add the days up
        per_dag[r["dag_id"]].update({"checks": r["checks"], "passed": r["passed"]})
    assert checks and {dag: (c["checks"], c["passed"]) for dag, c in per_dag.items()} == {
        dag: (n, passed) for dag, n, passed in checks
    }
    assert all(r["pass_rate"] == round(r["passed"] / r["checks"], 4) for r in numbers["quality"])

    runs = mdm.execute(
        "SELECT r.run_key, r.dag_id, extract(epoch FROM COALESCE(r.finished_at, max(s.finished_at)) - r.started_at) "
        "FROM sync.run r JOIN sync.run_step s USING (run_key) GROUP BY r.run_key"
    ).fetchall()
    assert {r["run_key"]: r["seconds"] for r in numbers["durations"]} == pytest.approx(
        {key: float(seconds) for key, _, seconds in runs}
    )
    for r in numbers["durations"]:
        deadline = DEADLINES[r["dag_id"]].total_seconds()
        assert (r["deadline_seconds"], r["late"]) == (deadline, r["seconds"] > deadline)
    assert len(numbers["durations"]) == 4  # org, chart ×2, claims

    page = client.get(f"{PREFIX}/", headers={"Cookie": f"_token={token}"})  # the UI's own login cookie
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert html.count("<svg") == 6, "one chart per section, none empty"
    for key in ("rows", "api_calls", "vouchers", "conflicts", "quality", "durations"):
        assert f'<section id="{key}">' in html
    assert all(r["run_key"] in html for r in numbers["durations"])
    assert client.get(f"{PREFIX}/numbers", params={"days": 0}, headers={"Cookie": f"_token={token}"}).status_code == 422


def test_an_empty_window_says_so_instead_of_drawing(airflow, mdm):
    client, token = airflow
    numbers = client.get(f"{PREFIX}/numbers", headers={"Authorization": f"Bearer {token}"}).json()
    assert [numbers[k] for k in ("rows", "api_calls", "vouchers", "conflicts", "quality", "durations")] == [[]] * 6
    assert numbers["deadlines"] == {dag: d.total_seconds() for dag, d in DEADLINES.items()}
    html = client.get(f"{PREFIX}/", headers={"Authorization": f"Bearer {token}"}).text
    assert "<svg" not in html and html.count("Nothing recorded in this window.") == 6


def test_no_token_is_401_a_forged_or_expired_one_or_a_user_without_dags_is_refused(airflow):
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    client, token = airflow
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}.{signature[::-1]}"
    expired = get_auth_manager().generate_jwt(
        SimpleAuthManagerUser(username=USER, role="admin"), expiration_time_in_seconds=-60
    )
    no_role = get_auth_manager().generate_jwt(SimpleAuthManagerUser(username="guest", role=None))
    for path in (f"{PREFIX}/", f"{PREFIX}/numbers"):
        assert client.get(path).status_code == 401
        assert client.get(path, headers={"Authorization": f"Bearer {no_role}"}).status_code == 403  # may read no DAG
        assert client.get(path, headers={"Authorization": f"Bearer {forged}"}).status_code == 403
        assert client.get(path, headers={"Cookie": f"_token={forged}"}).status_code == 403
        assert client.get(path, headers={"Authorization": f"Bearer {expired}"}).status_code == 401


def test_the_plugin_mounts_the_app_and_adds_the_page_to_the_ui_navigation():
    from airflow import plugins_manager

    apps, _ = plugins_manager.get_fastapi_plugins()
    assert [a["name"] for a in apps if a["url_prefix"] == PREFIX] == ["expense-sync sync health"]
    plugin = next(p for p in plugins_manager._get_plugins()[0] if p.name == "expense_sync")
    assert [(v["href"], v["destination"], v["url_route"]) for v in plugin.external_views] == [
        (f"{PREFIX}/", "nav", "sync-health")
    ]


def test_the_meter_counts_the_calls_throttles_and_retries_of_every_hook_while_open(sandboxes):
    from expense_sync.hooks import usage
    from expense_sync.hooks.dingtalk import DingTalkHook
    from expense_sync.hooks.ekuaibao import EkuaibaoHook

    sandboxes.control("ekuaibao").faults({"kind": "throttle", "every": 2})
    dingtalk, ekuaibao = DingTalkHook(), EkuaibaoHook()
    with usage.metered() as used:
        list(dingtalk.departments())
        for _ in ekuaibao.iter_departments():
            pass
        inside = dingtalk.stats["calls"]
    list(dingtalk.departments())  # after the meter closed: not counted
    assert dingtalk.stats["calls"] > inside

    assert used["ekuaibao"]["throttled"] >= 1
    assert used == {
        "dingtalk": {"calls": inside, "throttled": 0, "retries": 0},
        "ekuaibao": {k: ekuaibao.stats[k] for k in ("calls", "throttled", "retries")},
    }
