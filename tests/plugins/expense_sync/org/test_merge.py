"""Extract and merge of the OA directory against the DingTalk sandbox and a real PostgreSQL: a task
re-run after its commit, and a damaged tree (orphan, cycle) quarantined without deactivating anyone;
the OA's records changing shape (schema drift) are refused or quarantined, never written blank."""

import json

import pytest

from expense_sync.hooks.ekuaibao import EkuaibaoHook
from expense_sync.hooks.registry import oa_hook
from expense_sync.org import guard
from expense_sync.org.extract import extract_directory
from expense_sync.org.merge import merge_directory
from expense_sync.org.push import push_directory
from expense_sync.store.loads import SchemaDrift
from expense_sync_sandboxes import wecom as wecom_sandbox
from testkit import FAST, canonical_state


def sync(conn, run, vendor="dingtalk"):
    extracted = extract_directory(conn, oa_hook(vendor), f"test/{run}")
    return extracted, merge_directory(conn, extracted["loads"], f"test/{run}")


def test_a_merged_load_merged_again_changes_nothing(mdm, sandboxes):
    extracted, merged = sync(mdm, 1)
    assert merged["employee"]["created"] == 60
    last_change = mdm.execute("SELECT max(updated_at) FROM mdm.employee").fetchone()
    again = merge_directory(mdm, extracted["loads"], "test/1")
    assert again == {"org_unit": {"already_merged": True}, "employee": {"already_merged": True}}
    assert mdm.execute("SELECT max(updated_at) FROM mdm.employee").fetchone() == last_change


def active(conn, *employee_nos):
    rows = conn.execute("SELECT active FROM mdm.employee WHERE employee_no = ANY(%s)", (list(employee_nos),))
    return {a for (a,) in rows.fetchall()}


def held_items(conn):
    return conn.execute(
        "SELECT item_id, status, occurrences, record FROM sync.exception_item WHERE reason_code = 'mass_deactivation'"
    ).fetchall()


def test_leavers_within_the_share_are_deactivated(mdm, sandboxes):
    sync(mdm, 1)
    for userid in ("u0000005", "u0000006", "u0000007"):  # 3 of 60: 5 %, not more
        sandboxes.control("dingtalk").mutate("leave", userid=userid)
    _, merged = sync(mdm, 2)
    assert (merged["employee"]["deactivated"], merged["employee"]["deactivation_held"]) == (3, 0)
    assert active(mdm, "E0000005", "E0000006", "E0000007") == {False}
    assert held_items(mdm) == []


def staff_active(sandboxes):
    return {s["code"]: s["active"] for s in sandboxes.control("ekuaibao").state()["staffs"]}


def test_too_many_leavers_deactivate_nobody_until_a_person_approves(mdm, sandboxes):
    sync(mdm, 1)
    push_directory(mdm, EkuaibaoHook(), "test/1")
    leavers = ["E0000005", "E0000006", "E0000007", "E0000008"]  # 4 of 60: more than 5 %
    for no in leavers:
        sandboxes.control("dingtalk").mutate("leave", userid="u" + no[1:])
    sandboxes.control("dingtalk").mutate("rename_person", userid="u0000001", name="改名后")

    _, merged = sync(mdm, 2)
    assert (merged["employee"]["deactivated"], merged["employee"]["deactivation_held"]) == (0, 4)
    assert merged["employee"]["updated"] == 1  # the rest still syncs
    assert active(mdm, *leavers) == {True}
    [(item_id, status, occurrences, record)] = held_items(mdm)
    assert (status, occurrences, record["employee"]["keys"]) == ("open", 1, leavers)

    push_directory(mdm, EkuaibaoHook(), "test/2")
    assert {staff_active(sandboxes)[no] for no in leavers} == {True}

    _, merged = sync(mdm, 3)  # a re-run holds them too, on the same item
    assert merged["employee"]["deactivated"] == 0 and active(mdm, *leavers) == {True}
    assert [row[:3] for row in held_items(mdm)] == [(item_id, "open", 2)]
    asked = guard.questions(mdm)
    assert asked["items"] == [item_id] and "E0000005" in asked["questions"][0]["body"]

    answer = {
        "chosen_options": [guard.APPROVE],
        "responded_by_user": {"id": "li.na", "name": "li.na"},
        "responded_at": "2026-12-03T08:00:00+00:00",
        "params_input": {"reason": "HR list of leavers checked, ticket HR-204"},
    }
    result = guard.apply_answers(mdm, EkuaibaoHook(), "test/3", [item_id], [answer])
    assert result["answers"] == {"deactivate": 1, "employee_deactivated": 4, "org_unit_deactivated": 0}
    assert active(mdm, *leavers) == {False}
    staff = staff_active(sandboxes)
    assert [staff[no] for no in leavers] == [False] * 4 and staff["E0000009"] is True
    assert mdm.execute(
        "SELECT status, decision, decided_by FROM sync.exception_item WHERE item_id = %s", (item_id,)
    ).fetchone() == ("resolved", "deactivate", "li.na")
    assert mdm.execute(
        "SELECT detail->>'note' FROM sync.exception_event WHERE item_id = %s ORDER BY event_id DESC LIMIT 1", (item_id,)
    ).fetchone() == ("HR list of leavers checked, ticket HR-204",)

    _, merged = sync(mdm, 4)
    assert merged["employee"]["deactivated"] == 0 and len(held_items(mdm)) == 1


def test_too_many_departments_gone_deactivate_nobody(mdm, sandboxes):
    sync(mdm, 1)
    dingtalk = sandboxes.control("dingtalk")
    staff = [p["userid"] for p in dingtalk.state()["people"] if p["dept_ids"] == [11]]
    for userid in staff:  # 3 of 60 people: within 5 %; 1 of 12 departments: more
        dingtalk.mutate("leave", userid=userid)
    dingtalk.mutate("remove_department", dept_id=11)
    _, merged = sync(mdm, 2)
    assert (merged["org_unit"]["deactivated"], merged["org_unit"]["deactivation_held"]) == (0, 1)
    assert (merged["employee"]["deactivated"], merged["employee"]["deactivation_held"]) == (0, len(staff))
    assert active(mdm, *("E" + u[1:] for u in staff)) == {True}
    assert mdm.execute("SELECT active FROM mdm.org_unit WHERE code = '11'").fetchone() == (True,)
    [(_, status, _, record)] = held_items(mdm)
    assert (status, record["org_unit"]["keys"]) == ("open", ["11"])


DRIFT = {  # the OA changes its user records' wire shape -> what must happen
    "mobile renamed": ({"rename": {"mobile": "mobile_phone"}}, "drift"),
    "email renamed": ({"rename": {"email": "mail"}}, "drift"),
    "title renamed": ({"rename": {"title": "position"}}, "drift"),
    "hired_date retyped": ({"set": {"hired_date": "2020-01-01"}}, "quarantined"),
    "a field added": ({"add": {"u_extension": {"badge": 7}}}, "unchanged"),
}


@pytest.mark.parametrize("case", list(DRIFT))
def test_a_user_record_drifting_is_refused_or_quarantined_never_blanked(mdm, sandboxes, case):
    sync(mdm, 1)
    before = canonical_state(mdm)
    drift, expected = DRIFT[case]
    sandboxes.control("dingtalk").mutate("drift_user_fields", **drift)

    if expected == "drift":
        with pytest.raises(SchemaDrift, match="no record carries"):
            sync(mdm, 2)
    else:
        _, merged = sync(mdm, 2)
        assert merged["employee"]["quarantined"] == (60 if expected == "quarantined" else 0)
    assert canonical_state(mdm) == before  # nothing blanked, nobody changed

    sandboxes.control("dingtalk").mutate("drift_user_fields")  # the mapping follows / the vendor reverts
    _, merged = sync(mdm, 3)
    assert merged["employee"]["quarantined"] == 0 and canonical_state(mdm) == before


def people(conn):
    rows = conn.execute("SELECT employee_no, name, email, mobile, active FROM mdm.employee ORDER BY 1").fetchall()
    return {no: rest for no, *rest in rows}


def test_wecom_under_its_2022_rules_syncs_whole_and_keeps_what_it_no_longer_says(mdm, sandboxes, monkeypatch):
    """A 通讯录同步 secret WeCom refuses the listings and details to, with a self-built app's secret for
    the details, and no mobile or e-mail sent: the sync completes, nobody is quarantined, deactivated
    or changed for the fields it does not get."""
    app = json.loads(sandboxes.connection("oa_wecom", **FAST))
    monkeypatch.setenv("AIRFLOW_CONN_OA_WECOM_APP", json.dumps({**app, "password": wecom_sandbox.APP_SECRET}))
    monkeypatch.setenv(
        "AIRFLOW_CONN_OA_WECOM", sandboxes.connection("oa_wecom", **FAST, details_conn_id="oa_wecom_app")
    )
    wecom = sandboxes.control("wecom")
    _, merged = sync(mdm, 1, "wecom")
    assert merged["employee"]["created"] == 60 and merged["employee"]["quarantined"] == 0
    before = people(mdm)
    assert all(email and mobile for _, email, mobile, _ in before.values())

    wecom.reset(seed=1, departments=12, employees=60, new_app=True)
    _, merged = sync(mdm, 2, "wecom")
    assert {k: merged["employee"][k] for k in ("received", "created", "updated", "deactivated", "quarantined")} == {
        "received": 60,
        "created": 0,
        "updated": 0,
        "deactivated": 0,
        "quarantined": 0,
    }
    assert people(mdm) == before

    wecom.mutate("rename_person", userid="u0000001", name="改名后")  # a real change still syncs
    wecom.mutate("hire", dept_id=2)  # a newcomer: mobile and e-mail unknown
    _, merged = sync(mdm, 3, "wecom")
    assert (merged["employee"]["updated"], merged["employee"]["created"]) == (1, 1)
    after = people(mdm)
    assert after["E0000001"] == ["改名后", *before["E0000001"][1:]]
    assert after["E0000061"][1:] == [None, None, True]


def test_wecom_people_without_the_employee_number_attribute_are_quarantined(mdm, sandboxes):
    sandboxes.control("wecom").reset(seed=1, departments=12, employees=60, unnumbered=3)
    _, merged = sync(mdm, 1, "wecom")
    assert (merged["employee"]["created"], merged["employee"]["quarantined"]) == (57, 3)
    items = mdm.execute(
        "SELECT reason_code, reason FROM sync.exception_item WHERE entity = 'employee' AND status = 'open'"
    ).fetchall()
    assert len(items) == 3 and {code for code, _ in items} == {"missing_employee_no"}
    assert all("no custom attribute '工号'" in reason for _, reason in items)
