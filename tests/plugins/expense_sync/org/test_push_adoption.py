"""The org push over a 合思 that already holds the company (the first sync of a tenant maintained by
hand), against the 合思 sandbox over HTTP and a real PostgreSQL: the records found by code are
compared and corrected in the same run, a second run writes nothing, ``full`` reverts a hand edit
in 合思, staff only 合思 holds are disabled (OA wins) only after a complete OA read and within the
deactivation guard, and what the OA did not disclose (a NULL mobile or e-mail) never blanks 合思's."""

from expense_sync.hooks.ekuaibao import EkuaibaoHook
from expense_sync.org import guard
from expense_sync.org.push import push_directory
from testkit import ROOT_MARK, canonical_state, write_calls
from writerkit import judge_org, org_world

CREATES = ("POST /api/openapi/v1/departments/batch/create", "POST /api/openapi/v1.1/staffs/batch/create")


def calls(sandboxes) -> dict[str, int]:
    return sandboxes.control("ekuaibao").stats()["calls"]


def staff_of(sandboxes) -> dict[str, dict]:
    return {s["code"]: s for s in sandboxes.control("ekuaibao").state()["staffs"]}


def units_of(sandboxes) -> dict[str, dict]:
    return {d["code"]: d for d in sandboxes.control("ekuaibao").state()["departments"] if d["code"]}


def positions(mdm) -> dict[str, str | None]:
    rows = mdm.execute("SELECT e.employee_no, p.title FROM mdm.employee e LEFT JOIN mdm.position p USING (position_id)")
    return dict(rows.fetchall())


def prepopulate(mdm, sandboxes, *, wrong: dict | None = None) -> None:
    """Enter the canonical company in 合思 by hand, as an administrator did before the first sync
    (parents first), with the deviations in ``wrong``: ``unit_name``/``unit_parent``/``staff_name``/
    ``staff_unit`` map a code to the wrong value (a parent or unit code, ``None`` = the root)."""
    wrong = wrong or {}
    ekb = sandboxes.control("ekuaibao")
    canonical = canonical_state(mdm)
    units, done = canonical["org_units"], set()
    order = dict(mdm.execute("SELECT code, sort_order FROM mdm.org_unit").fetchall())
    while len(done) < len(units):
        for code, unit in sorted(units.items()):
            if code in done or (unit["parent"] != ROOT_MARK and unit["parent"] not in done):
                continue
            parent = None if unit["parent"] == ROOT_MARK else unit["parent"]
            name = wrong.get("unit_name", {}).get(code, unit["name"])
            parent = wrong.get("unit_parent", {}).get(code, parent)
            ekb.mutate("add_department", code=code, name=name, parent_code=parent, order=order[code] or 0)
            done.add(code)
    titles = positions(mdm)
    for no, person in sorted(canonical["employees"].items()):
        unit = None if person["unit"] == ROOT_MARK else person["unit"]
        ekb.mutate(
            "add_staff",
            code=no,
            name=wrong.get("staff_name", {}).get(no, person["name"]),
            cellphone=person["mobile"],
            department_code=wrong.get("staff_unit", {}).get(no, unit),
            email=person["email"] or None,
            post_type=titles[no],
        )


def pick(mdm) -> dict:
    """Deviations for a pre-populated 合思: two departments, two people."""
    units = canonical_state(mdm)["org_units"]
    nested = sorted(code for code, u in units.items() if u["parent"] != ROOT_MARK)
    top = sorted(code for code, u in units.items() if u["parent"] == ROOT_MARK)
    people = canonical_state(mdm)["employees"]
    other_unit = next(code for code in top if code != people["E0000003"]["unit"])
    return {
        "unit_name": {top[0]: "旧名称部门"},
        "unit_parent": {nested[0]: None},  # a sub-department placed under the root
        "staff_name": {"E0000002": "错误姓名"},
        "staff_unit": {"E0000003": other_unit},
    }


def test_the_first_sync_corrects_what_it_adopts_in_the_same_run_and_the_second_writes_nothing(mdm, sandboxes):
    org_world(mdm)
    wrong = pick(mdm)
    prepopulate(mdm, sandboxes, wrong=wrong)
    verdict = judge_org(mdm, sandboxes)
    assert verdict["lost"] == 4, verdict  # the four deviations, before the push
    before = write_calls(sandboxes)

    counts = push_directory(mdm, EkuaibaoHook(), "first")

    verdict = judge_org(mdm, sandboxes)
    assert (verdict["lost"], verdict["duplicated"], verdict["refused"]) == (0, 0, 0), verdict
    made = calls(sandboxes)
    assert [made.get(c, 0) for c in CREATES] == [0, 0]  # adopted, never created again
    unit_updates = sum(n for call, n in made.items() if call.startswith("PUT /api/openapi/v1/departments/update/"))
    assert unit_updates == 2  # the two wrong departments
    assert made["PUT /api/openapi/v1.1/staffs/batch/update"] == 1  # the two wrong people, in one call
    assert write_calls(sandboxes) - before == 3
    assert counts["employee"]["confirmed"] == 58 and counts["employee"]["updated"] == 2
    assert counts["org_unit"]["updated"] == 2

    before = write_calls(sandboxes)
    again = push_directory(mdm, EkuaibaoHook(), "second")
    assert write_calls(sandboxes) == before, again
    assert again["employee"] == {} and again["org_unit"] == {}


def test_a_hand_edit_in_ekuaibao_survives_the_delta_and_full_push_reverts_it(mdm, sandboxes):
    org_world(mdm)
    push_directory(mdm, EkuaibaoHook(), "first")
    ekb = sandboxes.control("ekuaibao")
    unit_code = sorted(c for c, u in canonical_state(mdm)["org_units"].items() if u["parent"] != ROOT_MARK)[0]
    ekb.mutate("edit_staff", code="E0000004", name="手改姓名")
    ekb.mutate("edit_department", code=unit_code, name="手改部门")

    push_directory(mdm, EkuaibaoHook(), "delta")  # the ledger says nothing changed: not compared
    assert staff_of(sandboxes)["E0000004"]["name"] == "手改姓名"
    before = write_calls(sandboxes)

    counts = push_directory(mdm, EkuaibaoHook(), "full", full=True)

    verdict = judge_org(mdm, sandboxes)
    assert (verdict["lost"], verdict["duplicated"]) == (0, 0), verdict
    assert write_calls(sandboxes) - before == 2  # the edited person and the edited department only
    assert counts["employee"]["updated"] == 1 and counts["org_unit"]["updated"] == 1
    before = write_calls(sandboxes)
    push_directory(mdm, EkuaibaoHook(), "full again", full=True)
    assert write_calls(sandboxes) == before


def add_leavers(sandboxes, n: int) -> list[str]:
    """``n`` enabled people only 合思 holds (left before the first sync), and two it keeps: an
    external person and one without a 工号."""
    ekb = sandboxes.control("ekuaibao")
    codes = [f"X{i:04d}" for i in range(1, n + 1)]
    for i, code in enumerate(codes):
        ekb.mutate("add_staff", code=code, name=f"离职{i}", cellphone=f"1990000{i:04d}")
    ekb.mutate("add_staff", code="EXT001", name="外部顾问", cellphone="19911110000", external=True)
    ekb.mutate("add_staff", code="", name="管理员", cellphone="19922220000")
    return codes


def test_staff_only_in_ekuaibao_are_disabled_after_a_complete_oa_read(mdm, sandboxes):
    org_world(mdm)
    leavers = add_leavers(sandboxes, 3)  # 3 of 63 internal people (60 + 3): within 5 %

    counts = push_directory(mdm, EkuaibaoHook(), "first")

    staff = staff_of(sandboxes)
    assert [staff[code]["active"] for code in leavers] == [False] * 3
    assert staff["EXT001"]["active"] and staff[""]["active"]  # not ours to judge
    assert counts["employee"]["only_in_ekuaibao"] == 3 and counts["employee"]["disabled"] == 3
    verdict = judge_org(mdm, sandboxes)
    assert (verdict["lost"], verdict["duplicated"]) == (0, 0), verdict
    before = write_calls(sandboxes)
    push_directory(mdm, EkuaibaoHook(), "again", full=True)
    assert write_calls(sandboxes) == before


def test_staff_only_in_ekuaibao_stay_enabled_when_the_oa_read_looked_partial(mdm, sandboxes):
    org_world(mdm)
    leavers = add_leavers(sandboxes, 2)
    for no in ("E0000005", "E0000006", "E0000007", "E0000008"):  # 4 of 60 gone: the merge's guard holds
        sandboxes.control("dingtalk").mutate("leave", userid="u" + no[1:])
    org_world(mdm, run_key="w/org/2")
    assert mdm.execute("SELECT count(*) FROM sync.exception_item WHERE reason_code = 'mass_deactivation'").fetchone()[0]

    counts = push_directory(mdm, EkuaibaoHook(), "first")

    assert [staff_of(sandboxes)[code]["active"] for code in leavers] == [True, True]
    assert counts["employee"]["only_in_ekuaibao_kept"] == 2


def test_too_many_staff_only_in_ekuaibao_wait_for_a_person(mdm, sandboxes):
    org_world(mdm)
    leavers = add_leavers(sandboxes, 5)  # 5 of 65: more than 5 %

    counts = push_directory(mdm, EkuaibaoHook(), "first")

    assert [staff_of(sandboxes)[code]["active"] for code in leavers] == [True] * 5
    assert counts["employee"]["only_in_ekuaibao_held"] == 5
    asked = guard.questions(mdm)
    [item_id] = asked["items"]
    assert "X0001" in asked["questions"][0]["body"]
    verdict = judge_org(mdm, sandboxes)
    assert (verdict["lost"], verdict["duplicated"]) == (0, 0), verdict  # the rest synced

    answer = {
        "chosen_options": [guard.APPROVE],
        "responded_by_user": {"id": "li.na", "name": "li.na"},
        "responded_at": "2026-12-03T08:00:00+00:00",
        "params_input": {"reason": "HR list of leavers checked, ticket HR-204"},
    }
    result = guard.apply_answers(mdm, EkuaibaoHook(), "decide", [item_id], [answer])
    assert result["answers"]["deactivate"] == 1
    assert [staff_of(sandboxes)[code]["active"] for code in leavers] == [False] * 5
    assert staff_of(sandboxes)["E0000001"]["active"]


def test_an_unknown_email_or_mobile_never_blanks_what_ekuaibao_holds(mdm, sandboxes):
    org_world(mdm)
    prepopulate(mdm, sandboxes)
    held = staff_of(sandboxes)
    email, mobile = held["E0000010"]["email"], held["E0000011"]["cellphone"]
    assert email and mobile
    # the OA did not disclose them (WeCom's new apps): NULL in the middle platform means unknown
    mdm.execute("UPDATE mdm.employee SET email = NULL, updated_at = now() WHERE employee_no = 'E0000010'")
    mdm.execute("UPDATE mdm.employee SET mobile = NULL, updated_at = now() WHERE employee_no = 'E0000011'")
    before = write_calls(sandboxes)

    counts = push_directory(mdm, EkuaibaoHook(), "first")

    assert write_calls(sandboxes) == before, counts  # not a difference: nothing to write
    held = staff_of(sandboxes)
    assert (held["E0000010"]["email"], held["E0000011"]["cellphone"]) == (email, mobile)

    mdm.execute(
        "UPDATE mdm.employee SET name = '新名字', updated_at = now() WHERE employee_no IN ('E0000010', 'E0000011')"
    )
    counts = push_directory(mdm, EkuaibaoHook(), "second")  # a write that leaves the unknown out

    held = staff_of(sandboxes)
    assert counts["employee"]["updated"] == 2, counts
    assert (held["E0000010"]["name"], held["E0000011"]["name"]) == ("新名字", "新名字")
    assert (held["E0000010"]["email"], held["E0000011"]["cellphone"]) == (email, mobile)


def test_a_leaver_the_first_sync_finds_enabled_in_ekuaibao_is_disabled(mdm, sandboxes):
    org_world(mdm)
    prepopulate(mdm, sandboxes)
    # known to the OA as not employed: inactive in the middle platform, never pushed, enabled in 合思
    mdm.execute("UPDATE mdm.employee SET active = false, updated_at = now() WHERE employee_no = 'E0000020'")

    counts = push_directory(mdm, EkuaibaoHook(), "first")

    assert staff_of(sandboxes)["E0000020"]["active"] is False
    assert counts["employee"]["disabled"] == 1 and counts["employee"]["confirmed"] == 59
    verdict = judge_org(mdm, sandboxes)
    assert (verdict["lost"], verdict["duplicated"]) == (0, 0), verdict
