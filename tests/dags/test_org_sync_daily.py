"""org_sync_daily end to end, with dag.test(): the OA and 合思 sandboxes over HTTP, a real PostgreSQL.

A first full sync; a day of hires, leavers, transfers and renames that moves only the delta; a quiet
day that writes and pushes nothing; bad records quarantined while the rest syncs; a failing health
check that blocks the push; refusals from 合思; and a fault-ridden run that ends exactly like a
clean one.
"""

import json

import psycopg
import pytest

from chartkit import REASON, Responder, enable_ui_login
from expense_sync.org import APPROVE
from testkit import canonical_state, expense_state, run_dag, step_counts, write_calls

DAG = "org_sync_daily"


@pytest.fixture(params=["dingtalk", "wecom"])
def oa(request, sandboxes, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_EXPENSE_SYNC_OA_VENDOR", request.param)
    return request.param


def assert_expense_matches_canonical(mdm, sandboxes):
    canonical, expense = canonical_state(mdm), expense_state(sandboxes)
    active_units = {c: (u["name"], u["parent"]) for c, u in canonical["org_units"].items() if u["active"]}
    assert {c: (u["name"], u["parent"]) for c, u in expense["departments"].items() if u["active"]} == active_units
    people = {
        no: (e["name"], e["mobile"], e["email"], e["unit"], e["active"]) for no, e in canonical["employees"].items()
    }
    assert {
        code: (s["name"], s["cellphone"], s["email"], s["unit"], s["active"]) for code, s in expense["staff"].items()
    } == people


def test_full_sync_then_the_delta_then_nothing(dagbag, mdm, sandboxes, oa):
    state, tasks = run_dag(dagbag, DAG)
    assert state == "success", tasks
    merge = step_counts(mdm, "merge")
    assert (merge["org_unit"]["created"], merge["employee"]["created"]) == (12, 60)
    assert step_counts(mdm, "push")["employee"]["created"] == 60
    assert_expense_matches_canonical(mdm, sandboxes)
    # both OAs name each department's manager in the daily listing (DingTalk by its members' leader flag):
    # the 11 departments with members have one, and nearly everyone has a manager who is not themselves
    led = mdm.execute("SELECT count(*) FROM mdm.org_unit WHERE manager_employee_no IS NOT NULL").fetchone()[0]
    assert led == 11
    managed = mdm.execute(
        "SELECT count(*) FILTER (WHERE manager_employee_no IS NOT NULL),"
        " count(*) FILTER (WHERE manager_employee_no = employee_no) FROM mdm.employee"
    ).fetchone()
    assert managed[0] >= 50 and managed[1] == 0

    directory = sandboxes.control(oa)
    new_unit = directory.mutate("new_department", parent_id=2, name="审计二部")
    directory.mutate("hire", dept_id=new_unit)
    directory.mutate("hire", dept_id=3)
    directory.mutate("leave", userid="u0000005")
    directory.mutate("leave", userid="u0000006")
    directory.mutate("transfer", userid="u0000007", dept_id=new_unit)
    directory.mutate("rename_person", userid="u0000008", name="改名后")
    directory.mutate("rename_department", dept_id=4, name="新名字部")
    before = write_calls(sandboxes)

    state, tasks = run_dag(dagbag, DAG)
    assert state == "success", tasks
    merge, push = step_counts(mdm, "merge"), step_counts(mdm, "push")
    assert merge["org_unit"] == {**merge["org_unit"], "created": 1, "updated": 1, "deactivated": 0}
    assert merge["employee"] == {**merge["employee"], "created": 2, "updated": 2, "deactivated": 2}
    assert push["org_unit"] == {"created": 1, "updated": 1}
    assert push["employee"] == {"created": 2, "updated": 2, "disabled": 2}
    # one call each: department batch create, department update, staff batch create, staff batch update, disable
    assert write_calls(sandboxes) - before == 5
    assert_expense_matches_canonical(mdm, sandboxes)
    leavers = canonical_state(mdm)["employees"]
    assert not leavers["E0000005"]["active"] and not leavers["E0000006"]["active"]  # kept, deactivated

    last_change = mdm.execute("SELECT max(updated_at) FROM mdm.employee").fetchone()
    before = write_calls(sandboxes)
    state, tasks = run_dag(dagbag, DAG)
    assert state == "success", tasks
    merge = step_counts(mdm, "merge")
    assert all(merge[e][k] == 0 for e in merge for k in ("created", "updated", "deactivated", "quarantined"))
    assert step_counts(mdm, "push")["employee"] == {} and step_counts(mdm, "push")["org_unit"] == {}
    assert write_calls(sandboxes) == before
    assert mdm.execute("SELECT max(updated_at) FROM mdm.employee").fetchone() == last_change


def test_bad_records_are_quarantined_while_the_rest_syncs(dagbag, mdm, sandboxes, oa):
    directory = sandboxes.control(oa)
    directory.mutate("set_person", userid="u0000001", email="not-an-email")
    directory.mutate("set_person", userid="u0000002", mobile="12345")
    directory.mutate("set_person", userid="u0000003", job_number="E0000004")  # now two people share E0000004
    directory.mutate("set_person", userid="u0000009", dept_ids=[9999, 2])  # main department out of scope
    state, tasks = run_dag(dagbag, DAG)
    assert state == "success", tasks

    items = mdm.execute(
        "SELECT record_key, reason_code, status FROM sync.exception_item WHERE kind = 'quarantine' ORDER BY 2, 1"
    ).fetchall()
    reasons = {reason for _, reason, _ in items}
    # Two people share an employee number (DingTalk's job_number, WeCom's extattr 工号): both are quarantined.
    assert reasons == {"malformed_email", "malformed_phone", "unknown_department", "duplicate_employee_no"}
    assert {status for *_, status in items} == {"open"} and len(items) == 5
    assert step_counts(mdm, "merge")["employee"]["created"] == 60 - 5
    assert len(expense_state(sandboxes)["staff"]) == 60 - 5  # the rest synced and was pushed
    events = mdm.execute("SELECT count(*) FROM sync.exception_event WHERE action = 'queued'").fetchone()[0]
    assert events == len(items)

    directory.mutate("set_person", userid="u0000001", email="fixed@example.com")
    directory.mutate("set_person", userid="u0000002", mobile="13900000002")
    directory.mutate("set_person", userid="u0000003", job_number="E0000003")
    directory.mutate("set_person", userid="u0000009", dept_ids=[2])
    state, tasks = run_dag(dagbag, DAG)
    assert state == "success", tasks
    still_open = mdm.execute("SELECT count(*) FROM sync.exception_item WHERE status <> 'resolved'").fetchone()[0]
    assert still_open == 0
    cleared = mdm.execute(
        "SELECT count(*) FROM sync.exception_event WHERE action = 'auto_resolved' AND actor = 'system'"
    ).fetchone()[0]
    assert cleared == len(items)
    assert len(expense_state(sandboxes)["staff"]) == 60
    assert_expense_matches_canonical(mdm, sandboxes)


def test_a_failing_health_check_blocks_the_push(dagbag, mdm, sandboxes, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_EXPENSE_SYNC_OA_VENDOR", "wecom")  # WeCom lists every top-level department
    assert run_dag(dagbag, DAG)[0] == "success"
    sandboxes.control("wecom").mutate("add_root", name="另一家公司")
    sandboxes.control("wecom").mutate("hire", dept_id=2)
    before = write_calls(sandboxes)

    state, tasks = run_dag(dagbag, DAG)
    assert state == "failed"
    assert tasks["check_org_health"] == "failed"
    assert tasks["push_to_expense_system"] == "upstream_failed"
    assert write_calls(sandboxes) == before
    check = step_counts(mdm, "check:org_sync")
    assert check["success"] is False
    assert "Exactly one root" in json.dumps(check["failures"], ensure_ascii=False)


def test_refusals_from_the_expense_system_are_queued_and_retried(dagbag, mdm, sandboxes, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_EXPENSE_SYNC_OA_VENDOR", "dingtalk")
    assert run_dag(dagbag, DAG)[0] == "success"
    sandboxes.control("ekuaibao").mutate("set_pending", code="E0000010")
    sandboxes.control("dingtalk").mutate("leave", userid="u0000010")
    sandboxes.control("dingtalk").mutate("leave", userid="u0000011")  # same batch, nothing pending

    assert run_dag(dagbag, DAG)[0] == "success"  # a refusal does not fail the run
    assert step_counts(mdm, "push")["employee"] == {"blocked": 1, "disabled": 1}
    assert expense_state(sandboxes)["staff"]["E0000011"]["active"] is False
    item = mdm.execute(
        "SELECT reason_code, status, reason FROM sync.exception_item WHERE record_key = 'E0000010'"
    ).fetchone()
    assert item[:2] == ("pending_documents", "open") and "抱歉无法移除" in item[2]
    assert expense_state(sandboxes)["staff"]["E0000010"]["active"] is True

    sandboxes.control("ekuaibao").mutate("set_pending", code="E0000010", pending=False)
    assert run_dag(dagbag, DAG)[0] == "success"
    assert step_counts(mdm, "push")["employee"] == {"disabled": 1}
    assert expense_state(sandboxes)["staff"]["E0000010"]["active"] is False
    assert mdm.execute("SELECT status FROM sync.exception_item WHERE record_key = 'E0000010'").fetchone() == (
        "resolved",
    )


FAULTS = {
    "dingtalk": [
        {"kind": "5xx", "every": 7},
        {"kind": "throttle", "every": 5},
        {"kind": "token_expired", "every": 11},
        {"kind": "timeout", "every": 13, "delay": 2.5},
    ],
    "ekuaibao": [
        {"kind": "5xx", "every": 4, "methods": ["GET"]},
        {"kind": "throttle", "every": 3},
        {"kind": "html_throttle", "every": 9},
        {"kind": "token_expired", "every": 6},
        {
            "kind": "slow_commit",
            "every": 1,
            "limit": 1,
            "delay": 2.5,
            "paths": ["/api/openapi/v1.1/staffs/batch/create"],
        },
        {
            "kind": "slow_commit",
            "every": 1,
            "limit": 1,
            "delay": 2.5,
            "paths": ["/api/openapi/v1/departments/batch/create"],
        },
    ],
}


def test_faults_mid_run_end_exactly_like_a_clean_run(dagbag, mdm, sandboxes, pg_server, mdm_template, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_EXPENSE_SYNC_OA_VENDOR", "dingtalk")
    size = {"seed": 1, "departments": 12, "employees": 250}  # three staff batches, pushed concurrently
    for vendor in ("dingtalk", "ekuaibao"):
        sandboxes.control(vendor).reset(**size)
    churn = [
        ("new_department", {"parent_id": 3, "name": "新设部门"}),
        ("leave", {"userid": "u0000011"}),
        ("transfer", {"userid": "u0000012", "dept_id": 5}),
        ("hire", {"dept_id": 6}),
    ]

    def two_days():
        for kind in ("first", "second"):
            if kind == "second":
                for op, args in churn:
                    sandboxes.control("dingtalk").mutate(op, **args)
            state, tasks = run_dag(dagbag, DAG)
            assert state == "success", tasks

    two_days()
    clean = (canonical_state(mdm), expense_state(sandboxes))

    for vendor in ("dingtalk", "ekuaibao"):  # Retry-After: 0 keeps this test short (honouring it is tested apart)
        sandboxes.control(vendor).reset(**size, retry_after=0)
    faulty_db = pg_server.create_database("expense_sync_faults", template=mdm_template)
    monkeypatch.setenv("AIRFLOW_CONN_MDM_POSTGRES", pg_server.url(faulty_db))
    for vendor, rules in FAULTS.items():
        sandboxes.control(vendor).faults(*rules, seed=7)
    try:
        two_days()
        fired = {v: sandboxes.control(v).stats()["faults_fired"] for v in FAULTS}
        with psycopg.connect(pg_server.url(faulty_db), autocommit=True) as faulty:
            assert (canonical_state(faulty), expense_state(sandboxes)) == clean
    finally:
        pg_server.drop_database(faulty_db)
    assert all(fired["dingtalk"].get(k) for k in ("5xx", "throttle", "token_expired", "timeout")), fired
    assert all(
        fired["ekuaibao"].get(k) for k in ("5xx", "throttle", "html_throttle", "token_expired", "slow_commit")
    ), fired
    # a staff batch and a department batch committed and lost their answers: only a look-up before any
    # resend keeps them single (the counts of an attempt that adopted them may be lost with its failure)
    assert fired["ekuaibao"]["slow_commit"] == 2, fired
    codes = [s["code"] for s in sandboxes.control("ekuaibao").state()["staffs"]]
    assert len(codes) == len(set(codes)), "a staff was created twice"


def test_an_orphan_and_a_cycle_are_quarantined_and_their_people_stay_active(dagbag, mdm, sandboxes, oa):
    assert run_dag(dagbag, DAG)[0] == "success"
    directory = sandboxes.control(oa)
    directory.mutate("set_parent", dept_id=10, parent_id=999)  # its parent does not exist
    directory.mutate("set_parent", dept_id=3, parent_id=8)  # 3 -> 8 -> 3, and 12 under 8
    directory.mutate("rename_person", userid="u0000001", name="改名后")  # the rest still syncs
    damaged = {"10": "unknown_parent", "3": "orphaned", "8": "orphaned", "12": "orphaned"}

    state, tasks = run_dag(dagbag, DAG)
    assert state == "success", tasks
    items = mdm.execute(
        "SELECT record_key, reason_code FROM sync.exception_item WHERE kind = 'quarantine' AND status = 'open'"
    ).fetchall()
    assert dict(items) == damaged
    merge = step_counts(mdm, "merge")
    assert merge["org_unit"]["deactivated"] == 0 and merge["employee"]["deactivated"] == 0
    assert merge["employee"]["updated"] == 1
    canonical, expense = canonical_state(mdm), expense_state(sandboxes)
    assert all(u["active"] for u in canonical["org_units"].values())
    assert all(e["active"] for e in canonical["employees"].values()) and len(canonical["employees"]) == 60
    assert all(s["active"] for s in expense["staff"].values()) and len(expense["staff"]) == 60
    assert all(d["active"] for d in expense["departments"].values())
    assert_expense_matches_canonical(mdm, sandboxes)

    directory.mutate("set_parent", dept_id=10, parent_id=1)
    directory.mutate("set_parent", dept_id=3, parent_id=2)
    assert run_dag(dagbag, DAG)[0] == "success"
    open_items = mdm.execute("SELECT count(*) FROM sync.exception_item WHERE status <> 'resolved'").fetchone()[0]
    assert open_items == 0


def test_too_many_leavers_are_held_until_a_person_approves_in_the_airflow_ui(
    dagbag, mdm, sandboxes, monkeypatch, tmp_path
):
    monkeypatch.setenv("AIRFLOW_VAR_EXPENSE_SYNC_OA_VENDOR", "dingtalk")
    enable_ui_login(monkeypatch, tmp_path)
    assert run_dag(dagbag, DAG)[0] == "success"
    leavers = ["E0000005", "E0000006", "E0000007", "E0000008"]  # 4 of 60: more than 5 %
    for no in leavers:
        sandboxes.control("dingtalk").mutate("leave", userid="u" + no[1:])
    question = {"dag": DAG, "task": "ask_about_deactivations"}

    def still_active():
        canonical, expense = canonical_state(mdm)["employees"], expense_state(sandboxes)["staff"]
        return {canonical[no]["active"] for no in leavers} | {expense[no]["active"] for no in leavers}

    bodies = []  # the decider approves through the REST API, leaving the form's reason out
    with Responder(lambda subject, body: bodies.append(body) or APPROVE, expected=1, reason=None, **question) as li:
        state, tasks = run_dag(dagbag, DAG)
    assert li.errors == [] and state == "success", (li.errors, tasks)
    assert li.refused_others == [403]  # an admin Variable expense_sync_deciders does not name for "org"
    assert all(no in bodies[0] for no in leavers)
    assert step_counts(mdm, "merge")["employee"]["deactivated"] == 0
    assert step_counts(mdm, "decisions")["answers"] == {"without_reason": 1}
    assert still_active() == {True}  # a decision without a reason is not applied: nobody deactivated
    held = "SELECT status, decision, decided_by FROM sync.exception_item WHERE reason_code = 'mass_deactivation'"
    assert mdm.execute(held).fetchall() == [("open", None, None)]
    events = "SELECT actor, action, detail->>'note' FROM sync.exception_event WHERE actor = 'li.na' ORDER BY event_id"
    assert mdm.execute(events).fetchall() == [("li.na", "answer_without_reason", None)]

    with Responder(lambda subject, body: APPROVE, expected=1, **question) as li:
        state, tasks = run_dag(dagbag, DAG)  # still held; asked again; approved with a reason
    assert li.errors == [] and state == "success", (li.errors, tasks)
    assert step_counts(mdm, "merge")["employee"]["deactivated"] == 0
    assert step_counts(mdm, "decisions")["answers"]["employee_deactivated"] == 4
    assert still_active() == {False}
    assert mdm.execute(held).fetchall() == [("resolved", "deactivate", "li.na")]
    assert mdm.execute(events).fetchall()[-1] == ("li.na", "decided", REASON)  # the reason, for the auditors
    assert_expense_matches_canonical(mdm, sandboxes)
