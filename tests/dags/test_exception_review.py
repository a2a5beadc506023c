"""exception_review end to end with dag.test(): records quarantined by a real org sync are asked
about in the Airflow UI (the HITL REST API, as the form sends it), decided by the named decider
with a reason, and closed with who, what and why; nobody else may answer."""

from chartkit import OTHER_USER, REASON, USER, Responder, enable_ui_login
from expense_sync.store.answers import DEFER
from expense_sync.store.review import BY_HAND, FIXED
from testkit import run_dag, step_counts

DAG = "exception_review"
QUESTION = {"dag": DAG, "task": "review_items"}


def test_quarantined_records_are_decided_by_a_named_person_with_a_reason(dagbag, mdm, sandboxes, monkeypatch, tmp_path):
    monkeypatch.setenv("AIRFLOW_VAR_EXPENSE_SYNC_OA_VENDOR", "dingtalk")
    enable_ui_login(monkeypatch, tmp_path)
    directory = sandboxes.control("dingtalk")
    directory.mutate("set_person", userid="u0000001", email="not-an-email")
    directory.mutate("set_person", userid="u0000002", mobile="12345")
    directory.mutate("set_person", userid="u0000003", job_number="E0000004")  # two people share E0000004
    assert run_dag(dagbag, "org_sync_daily")[0] == "success"
    queued = dict(
        mdm.execute("SELECT reason_code || '/' || record_key, item_id FROM sync.exception_item WHERE status = 'open'")
    )
    assert len(queued) == 4 and sorted(k.split("/")[0] for k in queued) == [
        "duplicate_employee_no",  # both people who share E0000004
        "duplicate_employee_no",
        "malformed_email",
        "malformed_phone",
    ], queued

    def choose(subject: str, body: str) -> str:
        assert "Give the reason" in body and subject.split(": ")[-1] in body
        return {"malformed_email": FIXED, "malformed_phone": BY_HAND}.get(subject.split(": ")[-1], DEFER)

    with Responder(choose, expected=len(queued), **QUESTION) as person:
        state, tasks = run_dag(dagbag, DAG)
    assert person.errors == [] and state == "success", (person.errors, tasks)
    assert person.refused_others == [403] * len(queued)  # OTHER_USER, an admin the Variable does not name
    assert sorted(a["subject"].split(": ")[-1] for a in person.answered) == sorted(k.split("/")[0] for k in queued)
    assert step_counts(mdm, "decisions") == {"fixed_at_source": 1, "handled_by_hand": 1, "deferred": 2}

    items = mdm.execute(
        "SELECT reason_code, status, decision, decided_by FROM sync.exception_item ORDER BY reason_code, item_id"
    ).fetchall()
    assert items == [
        ("duplicate_employee_no", "deferred", None, None),
        ("duplicate_employee_no", "deferred", None, None),
        ("malformed_email", "resolved", "fixed_at_source", USER),
        ("malformed_phone", "resolved", "handled_by_hand", USER),
    ]
    decided = mdm.execute(
        "SELECT actor, detail->>'note', detail->>'option' FROM sync.exception_event"
        " WHERE action = 'decided' ORDER BY detail->>'option'"
    ).fetchall()
    assert decided == [(USER, REASON, FIXED), (USER, REASON, BY_HAND)]
    assert OTHER_USER not in {r[0] for r in mdm.execute("SELECT actor FROM sync.exception_event")}

    state, tasks = run_dag(dagbag, DAG)  # the deferred items wait for {"review_deferred": true}
    assert (state, tasks["review_items"]) == ("success", "skipped"), tasks
    assert step_counts(mdm, "questions") == {"asked": []}
