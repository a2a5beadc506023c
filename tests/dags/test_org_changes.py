"""org_sync_daily between full reads: the OA sandbox pushes its contact-change events (DingTalk
通讯录事件, WeCom change_contact), sealed, to the real webhook receiver; the next run reads only the
people and departments they name, and ends where a full read of the OA would have ended."""

from __future__ import annotations

import pytest

from expense_sync_sandboxes.cluster import CONNECTIONS
from inboundkit import webhook_fixtures
from testkit import canonical_state, run_dag, step_api_calls, step_counts

webhook_env = webhook_fixtures().webhook_env
start_receiver = webhook_fixtures().start_receiver
DAG = "org_sync_daily"
TOKEN = "oa-sandbox-callback-token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


@pytest.fixture(params=["dingtalk", "wecom"])
def oa(request, sandboxes, webhook_env, start_receiver, monkeypatch):
    """The OA configured, its connection holding the callback secrets, read whole every 7 days; returns
    a function that points the sandbox's pushes at a running receiver (or nowhere: ``None``)."""
    vendor = request.param
    conn_id = f"oa_{vendor}"
    monkeypatch.setenv("AIRFLOW_VAR_EXPENSE_SYNC_OA_VENDOR", vendor)
    monkeypatch.setenv("AIRFLOW_VAR_EXPENSE_SYNC_ORG_FULL_READ_DAYS", "7")
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{conn_id.upper()}",
        sandboxes.connection(conn_id, callback_token=TOKEN, callback_aes_key=AES_KEY),
    )
    # webhook_env points 合思's connection at no server (its deliveries' secrets): back to the sandbox
    monkeypatch.setenv("AIRFLOW_CONN_EXPENSE_EKUAIBAO", sandboxes.connection("expense_ekuaibao"))
    receiver = start_receiver()
    control = sandboxes.control(vendor)

    def push(on: bool = True) -> None:
        url = f"{receiver.url}/expense-sync/webhooks/{vendor}" if on else None
        receive_id = CONNECTIONS[conn_id][1]  # the AppKey / CorpID the receiver expects
        control.mutate("configure_callback", url=url, token=TOKEN, aes_key=AES_KEY, receive_id=receive_id)

    push.vendor, push.control = vendor, control
    return push


def managers(mdm) -> dict[str, str | None]:
    rows = mdm.execute("SELECT code, manager_employee_no FROM mdm.org_unit WHERE active").fetchall()
    return dict(rows)


def read_of_last_run(mdm) -> dict:
    return step_counts(mdm, "extract")["read"]


def test_a_day_of_changes_is_read_by_its_events_and_ends_as_a_full_read_would(dagbag, mdm, oa, monkeypatch):
    state, tasks = run_dag(dagbag, DAG)
    assert state == "success", tasks
    assert read_of_last_run(mdm)["mode"] == "full"  # nothing to build on yet
    full_calls = step_api_calls(mdm, "extract")[oa.vendor]["calls"]

    oa()
    directory = oa.control
    people = {p["userid"]: p for p in directory.state()["people"]}
    new_unit = directory.mutate("new_department", parent_id=2, name="审计二部")
    directory.mutate("hire", dept_id=new_unit)
    directory.mutate("hire", dept_id=3)
    directory.mutate("leave", userid="u0000005")
    directory.mutate("transfer", userid="u0000007", dept_id=new_unit)
    directory.mutate("rename_person", userid="u0000008", name="改名后")
    directory.mutate("rename_department", dept_id=4, name="新名字部")
    # the manager of a department leaves: the department is read again and its next manager named
    before = managers(mdm)
    sizes = dict(
        mdm.execute("SELECT u.code, count(*) FROM mdm.employee e JOIN mdm.org_unit u USING (org_unit_id) GROUP BY 1")
    )
    named = {"E0000005", "E0000007", "E0000008"}
    led = next(c for c, m in sorted(before.items()) if m and m not in named and sizes.get(c, 0) > 1 and c not in "34")
    leader = next(u for u, p in people.items() if p["job_number"] == before[led])
    directory.mutate("leave", userid=leader)
    pushed = directory.state()["callbacks"]
    assert len(pushed) == 8 and all(p["status"] == 200 for p in pushed), pushed

    state, tasks = run_dag(dagbag, DAG)
    assert state == "success", tasks
    read = read_of_last_run(mdm)
    assert (read["mode"], read["events"], read["people"], read["departments"]) == ("changes", 8, 6, 2)
    merge = step_counts(mdm, "merge")
    assert (merge["org_unit"]["created"], merge["org_unit"]["deactivated"]) == (1, 0)
    assert (merge["employee"]["created"], merge["employee"]["deactivated"]) == (2, 2)
    calls = step_api_calls(mdm, "extract")[oa.vendor]["calls"]
    # a token, one read per person and department named, and the department and its members for each
    # department whose manager left or moved out (the leader's; u0000005's and u0000007's: the seed makes
    # each department's first member its manager)
    assert calls == 1 + 6 + 2 + 2 * 3, (calls, full_calls)
    assert mdm.execute("SELECT count(*) FROM sync.event_inbox WHERE status <> 'processed'").fetchone()[0] == 0
    after_events = canonical_state(mdm), managers(mdm)
    assert after_events[1][led] not in (None, before[led])  # the next member listed leads it now
    employees = after_events[0]["employees"]
    assert not employees["E0000005"]["active"] and not employees[before[led]]["active"]
    assert employees["E0000008"]["name"] == "改名后"

    # the same day read whole finds nothing the events missed
    monkeypatch.setenv("AIRFLOW_VAR_EXPENSE_SYNC_ORG_FULL_READ_DAYS", "0")
    state, tasks = run_dag(dagbag, DAG)
    assert state == "success", tasks
    assert read_of_last_run(mdm)["mode"] == "full"
    merge = step_counts(mdm, "merge")
    assert all(merge[e][k] == 0 for e in merge for k in ("created", "updated", "deactivated", "quarantined"))
    assert (canonical_state(mdm), managers(mdm)) == after_events


def test_changes_whose_events_never_came_are_caught_by_the_periodic_full_read(dagbag, mdm, oa, monkeypatch):
    assert run_dag(dagbag, DAG)[0] == "success"
    oa(on=False)  # the OA's pushes are lost (the receiver was down beyond the OA's retries)
    oa.control.mutate("leave", userid="u0000009")
    oa.control.mutate("rename_person", userid="u0000010", name="无事件")

    state, tasks = run_dag(dagbag, DAG)
    assert state == "success", tasks
    assert read_of_last_run(mdm) == {**read_of_last_run(mdm), "mode": "changes", "events": 0}
    assert canonical_state(mdm)["employees"]["E0000009"]["active"]  # unseen until the full read
    assert step_api_calls(mdm, "extract").get(oa.vendor, {}).get("calls", 0) <= 1  # a token at most

    monkeypatch.setenv("AIRFLOW_VAR_EXPENSE_SYNC_ORG_FULL_READ_DAYS", "0.000001")  # the week has passed
    state, tasks = run_dag(dagbag, DAG)
    assert state == "success", tasks
    assert read_of_last_run(mdm)["mode"] == "full"
    employees = canonical_state(mdm)["employees"]
    assert not employees["E0000009"]["active"] and employees["E0000010"]["name"] == "无事件"


def test_an_event_naming_someone_the_oa_no_longer_has_deactivates_only_them(dagbag, mdm, oa):
    """A person hired and gone between two runs, and a leaver whose event came twice: read by id, the
    OA answers "no such user" for both; only the one we knew is deactivated, nobody else is touched."""
    assert run_dag(dagbag, DAG)[0] == "success"
    oa()
    brief = oa.control.mutate("hire", dept_id=3)
    oa.control.mutate("leave", userid=brief)
    oa.control.mutate("leave", userid="u0000011")
    state, tasks = run_dag(dagbag, DAG)
    assert state == "success", tasks
    assert read_of_last_run(mdm)["mode"] == "changes"
    merge = step_counts(mdm, "merge")["employee"]
    assert (merge["created"], merge["updated"], merge["deactivated"]) == (0, 0, 1)
    active = {no for no, e in canonical_state(mdm)["employees"].items() if e["active"]}
    assert len(active) == 59 and "E0000011" not in active


def test_a_read_builds_on_a_load_landed_but_not_merged(dagbag, mdm, oa):
    """A run whose merge never came (its task failed, or a zombie read beside its retry) consumed its
    events: the next read builds on that landed load, so the hire it read is not lost."""
    import datetime as dt

    from expense_sync.hooks.registry import oa_hook
    from expense_sync.org.changes import read_directory

    assert run_dag(dagbag, DAG)[0] == "success"
    oa()
    first = oa.control.mutate("hire", dept_id=3)
    landed = read_directory(mdm, oa_hook(oa.vendor), "test/unmerged", full_every=dt.timedelta(days=7))
    assert (landed["read"]["mode"], landed["read"]["events"]) == ("changes", 1)  # landed, never merged
    second = oa.control.mutate("hire", dept_id=4)

    state, tasks = run_dag(dagbag, DAG)
    assert state == "success", tasks
    assert (read_of_last_run(mdm)["mode"], read_of_last_run(mdm)["events"]) == ("changes", 1)
    assert step_counts(mdm, "merge")["employee"]["created"] == 2
    hired = {p["userid"]: p["job_number"] for p in oa.control.state()["people"] if p["userid"] in (first, second)}
    employees = canonical_state(mdm)["employees"]
    assert all(employees[number]["active"] for number in hired.values()) and len(hired) == 2
