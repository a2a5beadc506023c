"""The OA's managers (主管) through the org sync, against the WeCom sandbox and a real PostgreSQL: a
person's direct manager (``direct_leader``) wins; without one, their department's manager
(``department_leader``), else the nearest department above with a manager who is not themselves."""

from expense_sync.hooks.registry import oa_hook
from expense_sync.org.extract import extract_directory
from expense_sync.org.merge import merge_directory
from expense_sync_sandboxes.orgdata import Directory


def sync(conn, run, oa="wecom"):
    extracted = extract_directory(conn, oa_hook(oa), f"test/{run}")
    return merge_directory(conn, extracted["loads"], f"test/{run}")


def managers(conn) -> dict[str, str | None]:
    return dict(conn.execute("SELECT employee_no, manager_employee_no FROM mdm.employee").fetchall())


def unit_managers(conn) -> dict[str, str | None]:
    return dict(
        conn.execute(
            "SELECT x.external_id, u.manager_employee_no FROM mdm.org_unit u"
            " JOIN mdm.crosswalk x ON x.entity = 'org_unit' AND x.canonical_id = u.org_unit_id"
        ).fetchall()
    )


def expected(company: Directory, direct: bool = True) -> dict[str, str | None]:
    """The rule, computed on the sandbox's own company (the same seed the sandbox serves); ``direct``
    False for an OA whose listing names no direct manager (DingTalk)."""
    number = {p.userid: p.job_number for p in company.people.values()}
    out = {}
    for person in company.people.values():
        if direct and person.manager:
            out[person.job_number] = number[person.manager]
            continue
        dept, found = person.dept_ids[0], None
        while dept is not None and found is None:
            leader = company.department_manager(dept)
            if leader and leader != person.userid:
                found = number[leader]
            dept = company.departments[dept].parent_id
        out[person.job_number] = found
    return out


def test_everyone_gets_their_department_s_manager_and_a_direct_manager_wins(mdm, sandboxes):
    merged = sync(mdm, 1)
    assert merged["employee"]["quarantined"] == 0
    company = Directory(seed=1, departments=12, employees=60)
    got = managers(mdm)
    assert got == expected(company)
    assert sum(m is not None for m in got.values()) >= 50  # the fallback reaches nearly everyone
    assert all(no != manager for no, manager in got.items())  # never one's own manager
    units = mdm.execute("SELECT count(*) FROM mdm.org_unit WHERE manager_employee_no IS NOT NULL").fetchone()[0]
    assert units == sum(1 for d in company.departments if company.department_manager(d))

    last_change = mdm.execute("SELECT max(updated_at) FROM mdm.employee").fetchone()
    sandboxes.control("wecom").mutate("set_person", userid="u0000005", manager="u0000009")
    merged = sync(mdm, 2)
    assert managers(mdm)["E0000005"] == "E0000009"
    assert merged["employee"]["updated"] == 0  # the manager is no change 合思 needs to be told of
    assert mdm.execute("SELECT max(updated_at) FROM mdm.employee").fetchone() == last_change

    sandboxes.control("wecom").mutate("set_person", userid="u0000005", manager=None)
    sync(mdm, 3)
    assert managers(mdm)["E0000005"] == expected(company)["E0000005"]  # back to the department's manager


def test_dingtalk_names_a_department_s_manager_only_in_department_get(sandboxes):
    """DingTalk's department/get carries dept_manager_userid_list (the listing does not); the mapping
    takes the first as the department's manager."""
    from expense_sync import mapping

    company = Directory(seed=1, departments=12, employees=60)
    dept = next(d for d in sorted(company.departments) if company.department_manager(d))
    record = oa_hook("dingtalk").department(dept)
    assert record is not None and record["dept_manager_userid_list"] == [company.department_manager(dept)]
    assert mapping.load("dingtalk", "org_unit").apply(record)[1]["manager_key"] == company.department_manager(dept)
    listed = {str(d["dept_id"]): d for d in oa_hook("dingtalk").departments()}
    assert "dept_manager_userid_list" not in listed[str(dept)]


def test_dingtalk_s_listing_names_each_department_s_manager_by_its_leader_flag(mdm, sandboxes):
    """topapi/v2/user/list marks the members who lead the department listed (``leader``): with no call
    more, every department with a manager gets them, and everyone without a direct manager gets their
    department's (or the nearest above). A manager listed in a second department is no duplicate."""
    company = Directory(seed=1, departments=12, employees=60)
    merged = sync(mdm, 1, "dingtalk")
    assert merged["employee"]["quarantined"] == 0
    number = {p.userid: p.job_number for p in company.people.values()}
    leads = {str(d): company.department_manager(d) for d in company.departments}
    assert unit_managers(mdm) == {d: number[m] if m else None for d, m in leads.items()}
    assert managers(mdm) == expected(company, direct=False)
    assert sum(m is not None for m in managers(mdm).values()) >= 50

    # the manager of one department becomes a member of a second, listed after that one's manager
    led = sorted((m, d) for d in company.departments if (m := company.department_manager(d)))
    (first, other), (lead, home) = led[0], led[-1]
    assert first < lead  # the sandbox lists by userid: ``other`` keeps its manager
    sandboxes.control("dingtalk").mutate("set_person", userid=lead, dept_ids=[home, other])
    company.set_person(lead, dept_ids=[home, other])  # the same change on the test's copy
    merged = sync(mdm, 2, "dingtalk")
    assert merged["employee"]["quarantined"] == 0  # leader=true in one listing, false in the other
    assert unit_managers(mdm)[str(home)] == number[lead]
    assert unit_managers(mdm)[str(other)] == number[first]

    sandboxes.control("dingtalk").mutate("leave", userid=lead)  # the next member listed leads now
    company.leave(lead)
    sync(mdm, 3, "dingtalk")
    successor = company.department_manager(home)
    assert unit_managers(mdm)[str(home)] == (number[successor] if successor else None)
