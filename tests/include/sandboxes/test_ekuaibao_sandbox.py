"""The 合思 sandbox honours the tenant's real rules and wire quirks (raw HTTP, no hook)."""

import pytest
import requests

from expense_sync_sandboxes import ekuaibao


@pytest.fixture
def api(sandboxes):
    base = sandboxes.url("ekuaibao")
    token = requests.post(
        f"{base}/api/openapi/v1/auth/getAccessToken",
        json={"appKey": ekuaibao.APP_KEY, "appSecurity": ekuaibao.APP_SECURITY},
    ).json()["value"]

    def call(method, path, **kw):
        return requests.request(
            method, base + path, params={"accessToken": token["accessToken"], **kw.pop("params", {})}, **kw
        )

    call.corp = token["corporationId"]
    return call


def make_staff(api, n, dept):
    body = {
        "staffList": [
            {
                "name": f"员工{i}",
                "code": f"S{i}",
                "cellphone": f"1380000{i:04d}",
                "defaultDepartment": dept,
                "userid": f"S{i}",
            }
            for i in range(n)
        ]
    }
    response = api("POST", "/api/openapi/v1.1/staffs/batch/create", json=body)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_a_dead_token_is_a_403_with_the_json_error_body(sandboxes):
    response = requests.get(sandboxes.url("ekuaibao") + "/api/openapi/v1/departments", params={"accessToken": "x"})
    assert response.status_code == 403
    assert response.json() == {
        "errorCode": 403,
        "errorMessage": "未授权",
        "errorDetails": None,
        "code": None,
        "data": None,
    }


def test_count_is_the_total_pages_are_clamped_to_100_and_past_the_end_is_empty(api):
    make_staff(api, 100, api.corp)
    make_staff_more = {
        "staffList": [{"name": "x", "code": "S100", "cellphone": "13800009999", "defaultDepartment": api.corp}]
    }
    api("POST", "/api/openapi/v1.1/staffs/batch/create", json=make_staff_more)
    page = api("GET", "/api/openapi/v1.1/staffs", params={"start": 0, "count": 1000}).json()
    assert (page["count"], len(page["items"])) == (101, 100)
    past = api("GET", "/api/openapi/v1.1/staffs", params={"start": 500, "count": 100}).json()
    assert (past["count"], past["items"]) == (101, [])


def test_disabling_staff_with_pending_documents_is_refused(api, sandboxes):
    staff = make_staff(api, 2, api.corp)
    sandboxes.control("ekuaibao").mutate("set_pending", code="S0")
    refused = api(
        "PUT", f"/api/openapi/v1.1/staffs/disableOrEnableStaff/[{staff[0]['id']}]", params={"active": "false"}
    )
    assert refused.status_code == 403 and "抱歉无法移除" in refused.json()["errorMessage"]
    forced = api(
        "PUT",
        f"/api/openapi/v1.1/staffs/disableOrEnableStaff/[{staff[0]['id']}]",
        params={"active": "false", "doCheck": "false"},
    )
    assert forced.status_code == 200
    unknown = api("PUT", "/api/openapi/v1.1/staffs/disableOrEnableStaff/[nobody]", params={"active": "false"})
    assert unknown.status_code == 403 and unknown.json()["errorMessage"] == "无效的员工信息"


def test_disabling_a_department_with_staff_is_a_412_and_cascades_otherwise(api):
    parent = api("POST", "/api/openapi/v1/departments", json={"name": "财务部", "code": "FIN", "parentId": api.corp})
    parent = parent.json()["value"]
    child = api(
        "POST", "/api/openapi/v1/departments", json={"name": "出纳组", "code": "FIN-1", "parentId": parent["id"]}
    ).json()["value"]
    staff = make_staff(api, 1, child["id"])
    refused = api(
        "PUT", f"/api/openapi/v1/departments/disableOrEnableDepartment/${parent['id']}", params={"active": "false"}
    )
    assert refused.status_code == 412 and refused.json()["errorMessage"] == "要停用部门下的员工，才能停用此部门"
    api("PUT", f"/api/openapi/v1.1/staffs/disableOrEnableStaff/[{staff[0]['id']}]", params={"active": "false"})
    done = api(
        "PUT", f"/api/openapi/v1/departments/disableOrEnableDepartment/${parent['id']}", params={"active": "false"}
    )
    assert done.status_code == 200 and {d["id"] for d in done.json()["items"]} == {parent["id"], child["id"]}


def test_department_names_and_codes_must_be_unique(api):
    first = {"name": "采购部", "code": "PUR", "parentId": api.corp}
    assert api("POST", "/api/openapi/v1/departments", json=first).status_code == 200
    same_name = api("POST", "/api/openapi/v1/departments", json={**first, "code": "PUR2"})
    assert same_name.status_code == 412
    same_code = api("POST", "/api/openapi/v1/departments", json={**first, "name": "采购二部"})
    assert same_code.status_code == 400 and "PUR" in same_code.json()["errorMessage"]


def test_staff_need_a_cellphone_and_a_disabled_staff_comes_back_by_phone(api):
    missing = api(
        "POST", "/api/openapi/v1.1/staffs", json={"name": "无手机", "code": "N1", "defaultDepartment": api.corp}
    )
    assert missing.status_code == 400 and missing.json()["errorMessage"] == "手机号不能为空"
    first = make_staff(api, 1, api.corp)[0]
    api("PUT", f"/api/openapi/v1.1/staffs/disableOrEnableStaff/[{first['id']}]", params={"active": "false"})
    again = api(
        "POST",
        "/api/openapi/v1.1/staffs",
        json={"name": "回来了", "code": "S0-B", "cellphone": first["cellphone"], "defaultDepartment": api.corp},
    )
    assert again.json()["value"]["id"] == first["id"] and again.json()["value"]["active"] is True


def test_path_ids_take_a_dollar_prefix_or_a_code(api):
    dept = api(
        "POST", "/api/openapi/v1/departments", json={"name": "法务部", "code": "LAW", "parentId": api.corp}
    ).json()["value"]
    assert api("GET", f"/api/openapi/v1/departments/${dept['id']}").json()["value"]["code"] == "LAW"
    # departmentBy (default id) says what the path holds (open-platform-docs get-departments-idOrCode.md)
    assert api("GET", "/api/openapi/v1/departments/$LAW?departmentBy=code").json()["value"]["id"] == dept["id"]
    assert api("GET", "/api/openapi/v1/departments/$LAW").status_code == 400  # a code looked up as an id
    assert api("GET", "/api/openapi/v1/departments/$nope?departmentBy=code").status_code == 400


def test_the_demo_tenant_claims_its_invoices_one_of_them_twice(sandboxes):
    """The standalone server's demo tenant, read through the hook as claim_events reads it."""
    from expense_sync.hooks.ekuaibao import EkuaibaoHook
    from expense_sync.invoices.parse import claim_invoices

    sandboxes.control("ekuaibao").reset(demo=True)
    hook = EkuaibaoHook()
    flows = {f["form"]["title"]: f for f in sandboxes.control("ekuaibao").state()["flows"]}
    read = {}
    for title in ("上海出差报销", "深圳客户现场支持", "北京展会差旅"):
        flow = flows[title]
        found = {item["invoiceId"]: item for item in hook.claim_invoices(flow["id"])}
        read[title] = claim_invoices(flow, found)
    assert [i.invoice_type for i in read["上海出差报销"]] == ["air_itinerary", "vat_special", "taxi"]
    assert [i.invoice_type for i in read["深圳客户现场支持"]] == ["rail_ticket", "digital_special", "e_normal"]
    assert all(i.problem is None for invoices in read.values() for i in invoices)
    [again] = read["北京展会差旅"]
    assert again.invoice_key == read["上海出差报销"][1].invoice_key  # the same 专票, claimed twice
