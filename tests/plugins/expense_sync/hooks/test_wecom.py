"""WeComHook against the WeCom sandbox over HTTP, under WeCom's 2022 rules and before them: where
``user/list`` and ``department/list`` are refused (errcode 48009) the directory is still read whole,
through ``user/list_id`` + ``user/get`` and ``department/simplelist`` + ``department/get``; the 工号
comes from the custom attribute the connection names."""

import json

import pytest

from expense_sync.hooks.errors import VendorRequestError
from expense_sync.hooks.wecom import WeComHook
from expense_sync_sandboxes import wecom
from testkit import FAST


@pytest.fixture
def connect(sandboxes, monkeypatch):
    def use(**extra):
        monkeypatch.setenv("AIRFLOW_CONN_OA_WECOM", sandboxes.connection("oa_wecom", **{**FAST, **extra}))

    return use


@pytest.fixture
def details(sandboxes, monkeypatch, connect):
    """oa_wecom (the 通讯录同步 secret) naming oa_wecom_app, a self-built app's secret, for the details."""
    app = json.loads(sandboxes.connection("oa_wecom", **FAST))
    monkeypatch.setenv("AIRFLOW_CONN_OA_WECOM_APP", json.dumps({**app, "password": wecom.APP_SECRET}))
    connect(details_conn_id="oa_wecom_app")


def directory(hook):
    departments = list(hook.departments())
    members = [m for d in departments for m in hook.members(d["id"])]
    return departments, members


def essentials(departments, members):
    return (
        sorted((d["id"], d["name"], d["parentid"], d["order"]) for d in departments),
        sorted((m["userid"], m["name"], m["main_department"], m["status"], m["_employee_no"]) for m in members),
    )


def test_a_new_app_reads_the_same_directory_without_the_refused_listings(sandboxes, details):
    control = sandboxes.control("wecom")
    before = essentials(*directory(WeComHook()))
    assert len(before[1]) == 60 and all(m[4].startswith("E") for m in before[1])

    control.reset(seed=1, departments=12, employees=60, new_app=True)
    hook = WeComHook()
    departments, members = directory(hook)
    assert essentials(departments, members) == before
    assert not any({"mobile", "email", "gender", "avatar"} & set(m) for m in members)
    assert (hook.stats["user_list_refused"], hook.stats["department_list_refused"]) == (1, 1)
    calls = control.stats()["calls"]
    assert calls["GET /cgi-bin/user/list"] == 1 and calls["GET /cgi-bin/department/list"] == 1  # asked once
    assert calls["POST /cgi-bin/user/list_id"] == 1 and calls["GET /cgi-bin/user/get"] == 60


def test_without_a_details_connection_the_refusal_fails_the_read_loudly(sandboxes):
    sandboxes.control("wecom").reset(seed=1, departments=12, employees=60, new_app=True)
    hook = WeComHook()
    with pytest.raises(VendorRequestError) as caught:
        directory(hook)
    assert caught.value.code == 48009 and caught.value.endpoint == "GET /cgi-bin/department/get"


def test_user_list_id_is_read_to_its_last_cursor(sandboxes):
    sandboxes.control("wecom").reset(seed=1, departments=12, employees=60, new_app=True)
    hook = WeComHook()
    hook.list_id_limit = 7
    assert sum(len(ids) for ids in hook.list_member_ids().values()) == 60
    assert sandboxes.control("wecom").stats()["calls"]["POST /cgi-bin/user/list_id"] == 9  # 60 / 7, rounded up


def test_other_refusals_are_not_taken_for_the_2022_rule(sandboxes):
    hook = WeComHook()
    with pytest.raises(VendorRequestError) as caught:
        list(hook.members(9999))  # an unknown department: 60123, not 48009
    assert caught.value.code == 60123 and hook.stats["user_list_refused"] == 0
    assert "POST /cgi-bin/user/list_id" not in sandboxes.control("wecom").stats()["calls"]


def test_the_employee_number_comes_from_the_attribute_the_connection_names(sandboxes, connect):
    sandboxes.control("wecom").reset(seed=1, departments=12, employees=60, job_number_attr="员工编号")
    connect(employee_no_attr="员工编号")
    _, members = directory(WeComHook())
    assert {m["_employee_no"][:1] for m in members} == {"E"}
    assert {m["_employee_no_attr"] for m in members} == {"员工编号"}
    connect()  # the default, 工号, is not this tenant's attribute: nobody has one
    _, members = directory(WeComHook())
    assert {m["_employee_no"] for m in members} == {None}


def test_people_without_the_attribute_have_no_employee_number(sandboxes):
    sandboxes.control("wecom").reset(seed=1, departments=12, employees=60, unnumbered=3)
    _, members = directory(WeComHook())
    assert sum(m["_employee_no"] is None for m in members) == 3


def test_the_attribute_name_must_not_be_empty(sandboxes, monkeypatch):
    value = json.loads(sandboxes.connection("oa_wecom", employee_no_attr=""))
    monkeypatch.setenv("AIRFLOW_CONN_OA_WECOM", json.dumps(value))
    with pytest.raises(Exception, match="employee_no_attr"):
        _ = WeComHook().settings
