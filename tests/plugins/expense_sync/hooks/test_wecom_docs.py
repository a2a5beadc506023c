"""The WeCom examples of the vendor's own pages (``tests/fixtures/vendor_docs/wecom/``): WeComHook parses
each one, served at the network edge by a stand-in for qyapi.weixin.qq.com, and the WeCom sandbox
answers the same endpoints in the same shape."""

import pytest
import requests
from fastapi import FastAPI, Request
from vendordocs import assert_same_shape, load, names

from expense_sync import mapping
from expense_sync.hooks.errors import ContractError
from expense_sync.hooks.wecom import WeComHook
from expense_sync_sandboxes import wecom
from testkit import point_connection, serve

# the approval examples (approval_*) are test_oa_approvals_docs.py's
DOCS = {name: load("wecom", name) for name in names("wecom") if not name.startswith("approval_")}
LAST_PAGE = {"errcode": 0, "errmsg": "ok", "next_cursor": "", "dept_user": []}  # ours: ends the cursor walk


@pytest.fixture
def documented(monkeypatch):
    """Connection oa_wecom pointed at a server answering each endpoint with its documented example;
    the custom attribute of the examples, 文本名称, stands for the 工号."""
    app = FastAPI()

    @app.api_route("/cgi-bin/{path:path}", methods=["GET", "POST"])
    async def answer(path: str, request: Request):
        if path == "user/list_id" and (await request.body()) and (await request.json()).get("cursor"):
            return LAST_PAGE
        by_endpoint = {doc["endpoint"]: doc["response"] for doc in DOCS.values()}
        return by_endpoint[f"{request.method} /cgi-bin/{path}"]

    url, server, thread = serve(app)
    point_connection(monkeypatch, "oa_wecom", url, login="corp", employee_no_attr="文本名称")
    yield WeComHook()
    server.should_exit = True
    thread.join(5)


def test_the_fixtures_are_the_ones_the_hook_relies_on():
    assert set(DOCS) == {
        "gettoken",
        "department_list",
        "department_simplelist",
        "department_get",
        "user_list",
        "user_list_id",
        "user_get",
    }


def test_the_hook_parses_every_documented_example(documented):
    hook = documented
    assert hook.get_token() == "accesstoken000001"

    departments = list(hook.departments())
    org = mapping.load("wecom", "org_unit")
    assert [org.apply(d)[:2] for d in departments] == [
        ("2", {"code": "2", "name": "广州研发中心", "parent_key": "1", "sort_order": 10, "manager_key": "zhangsan"}),
        ("3", {"code": "3", "name": "邮箱产品部", "parent_key": "2", "sort_order": 40, "manager_key": "lisi"}),
    ]  # department_leader: the first leader is the department's manager (主管)
    assert [d["id"] for d in hook.list_department_ids()] == [2, 3]
    assert hook.department(2)["name"] == "广州研发中心"

    employee = mapping.load("wecom", "employee")
    [member] = list(hook.members(2))
    key, values, error = employee.apply(member)
    assert (key, values["employee_no"], values["email"], values["mobile"], values["active"]) == (
        "zhangsan",
        "文本",
        "zhangsan@gzdev.com",
        "13800000000",
        True,
    )
    assert error is None
    assert values["manager_key"] is None  # the older example has no direct_leader: the department's manager

    assert hook.list_member_ids() == {1: ["zhangsan"], 2: ["zhangsan", "lisi"]}
    detail = hook.with_employee_no(hook.get_user("zhangsan"))
    assert (detail["name"], detail["_employee_no"]) == ("李四", "文本")


@pytest.mark.parametrize("name", sorted(DOCS))
def test_the_sandbox_answers_in_the_documented_shape(sandboxes, name):
    doc = DOCS[name]
    method, path = doc["endpoint"].split(" ")
    base = sandboxes.url("wecom")
    token = requests.get(
        f"{base}/cgi-bin/gettoken", params={"corpid": wecom.CORP_ID, "corpsecret": wecom.CORP_SECRET}, timeout=10
    ).json()["access_token"]
    params = {"access_token": token}
    params |= {
        "department_list": {},
        "department_simplelist": {},
        "department_get": {"id": 2},
        "user_list": {"department_id": 2},
        "user_get": {"userid": "u0000001"},
    }.get(name, {})
    if name == "gettoken":
        params = {"corpid": wecom.CORP_ID, "corpsecret": wecom.CORP_SECRET}
    answer = requests.request(method, base + path, params=params, json={} if method == "POST" else None, timeout=10)
    assert_same_shape(doc["response"], answer.json(), where=f"sandbox {doc['endpoint']}")


def test_a_member_id_pair_without_its_department_is_a_contract_error(documented, monkeypatch):
    broken = {**DOCS["user_list_id"]["response"], "next_cursor": "", "dept_user": [{"userid": "zhangsan"}]}
    monkeypatch.setitem(DOCS["user_list_id"], "response", broken)
    with pytest.raises(ContractError, match="department"):
        documented.list_member_ids()
