"""EkuaibaoHook's department look-up against the 合思 sandbox over HTTP, as 合思 documents it
(ekuaibao/open-platform-docs docs/open-api/contacts/get-departments-idOrCode.md): ``departmentBy``
says whether the path holds an id (the default) or a code, and only enabled departments are found.
The org push settles a department create of unknown outcome by its code through this call: a code
looked up as an id is "not found", and the department would be created a second time."""

import json
import time

import pytest
from fastapi import FastAPI, Request
from vendordocs import assert_same_shape, load

from expense_sync.hooks.ekuaibao import EkuaibaoHook
from testkit import point_connection, serve


def test_a_department_is_found_by_its_code_only_when_asked_by_code(sandboxes):
    hook = EkuaibaoHook()
    corp = hook.corporation()
    created = hook.create_department({"name": "法务部", "code": "LAW", "parentId": corp})
    assert hook.get_department("LAW", by="code")["id"] == created["id"]
    assert hook.get_department(created["id"])["code"] == "LAW"
    assert hook.get_department("LAW") is None  # looked up as an id
    hook.set_department_active(created["id"], False)
    assert hook.get_department("LAW", by="code") is None  # only enabled departments are found


# -- the reads and the batch update the org push compares and corrects with ---------------------------


CONTACTS_DOCS = ["contacts_departments_list", "contacts_staffs_list", "contacts_staffs_batch_update"]


@pytest.fixture
def documented(monkeypatch):
    """A tiny 合思 answering each documented example at its endpoint (a page past the end answers no
    items, as the list pages document), with the hook pointed at it; yields what it was sent."""
    docs = {load("ekuaibao", name)["endpoint"]: load("ekuaibao", name)["response"] for name in CONTACTS_DOCS}
    sent: list[tuple[str, str, dict, object]] = []
    app = FastAPI()

    @app.post("/api/openapi/v1/auth/getAccessToken")
    async def token() -> dict:
        expires = int((time.time() + 3600) * 1000)
        return {"value": {"accessToken": "doc-token", "corporationId": "xgJ3wajigF25H0", "expireTime": expires}}

    @app.api_route("/api/openapi/{rest:path}", methods=["GET", "PUT", "POST"])
    async def answer(rest: str, request: Request) -> dict:
        endpoint = f"{request.method} /api/openapi/{rest}"
        body = json.loads(await request.body() or b"null")
        sent.append((request.method, f"/api/openapi/{rest}", dict(request.query_params), body))
        response = docs[endpoint]
        if int(request.query_params.get("start", 0)) >= len(response.get("items") or []) > 0:
            return {"count": response["count"], "items": []}
        return response

    url, server, thread = serve(app)
    point_connection(monkeypatch, "expense_ekuaibao", url)
    yield sent
    server.should_exit = True
    thread.join(timeout=10)


def test_the_hook_reads_the_documented_lists_and_updates_staff_by_put(documented):
    hook = EkuaibaoHook()
    departments, staff = hook.all_departments(), hook.all_staffs()
    assert [d["code"] for d in departments] == ["001-22", "001-3-8", "001-3-7", "001"]
    listed = load("ekuaibao", "contacts_staffs_list")["response"]["items"]
    assert [s["code"] for s in staff] == [s["code"] for s in listed]  # one page: start 5 answers no items
    assert all("active" not in params for method, _, params, _ in documented if method == "GET")  # all staff

    items = hook.update_staffs([{"id": "TsI3tt8KjF4S7M:1222234", "name": "测试1"}])
    assert [i["id"] for i in items] == ["TsI3tt8KjF4S7M:1222234", "TsI3tt8KjF4S7M:BbP3CdaKi$VcRw"]
    method, path, _, body = documented[-1]
    assert (method, path) == ("PUT", "/api/openapi/v1.1/staffs/batch/update")
    assert body == {"staffList": [{"id": "TsI3tt8KjF4S7M:1222234", "name": "测试1"}]}


def test_the_sandbox_answers_the_contacts_endpoints_as_documented(sandboxes):
    hook = EkuaibaoHook()
    corp = hook.corporation()
    dept = hook.create_department({"name": "财务部", "code": "FIN", "parentId": corp})
    [created] = hook.create_staffs(
        [
            {
                "name": "张三",
                "code": "E1",
                "cellphone": "13800000001",
                "defaultDepartment": dept["id"],
                "departments": [dept["id"]],
                "userid": "E1",
            }
        ]  # fmt: skip
    )
    form = {
        "postType": "ID_post",
        "rankType": "ID_rank",
        "base": '[{"key":"8","label":"北京市/海淀区"}]',
    }  # as the example's request
    answers = {
        "contacts_departments_list": hook.request(
            "GET", "/api/openapi/v1/departments", params={"start": 0, "count": 100}
        ),
        "contacts_staffs_list": hook.request("GET", "/api/openapi/v1.1/staffs", params={"start": 0, "count": 100}),
        "contacts_staffs_batch_update": hook.request(
            "PUT",
            "/api/openapi/v1.1/staffs/batch/update",
            json={"staffList": [{"id": created["id"], "name": "张三丰", "staffCustomForm": form}]},
        ),
    }
    for name, answer in answers.items():
        assert_same_shape(load("ekuaibao", name)["response"], answer, where=f"sandbox {name}")
    assert answers["contacts_staffs_batch_update"]["items"][0]["name"] == "张三丰"
    # an e-mail left out of an update keeps 合思's value; sent as "" it is refused, as documented
    hook.update_staffs([{"id": created["id"], "name": "张三丰", "email": "zs@example.com"}])
    hook.update_staffs([{"id": created["id"], "name": "张三"}])
    assert hook.find_staffs("CODE", ["E1"])[0]["email"] == "zs@example.com"
