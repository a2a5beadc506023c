"""The 合思 sandbox's fee types and custom dimensions answer as the open-API docs say (raw HTTP, no hook)."""

import pytest
import requests

from expense_sync_sandboxes import ekuaibao

ITEMS = "/api/openapi/v1/dimensions/items"
CREATE = "/api/openapi/v1.1/dimensions/items"
PROJECTS = f"{ekuaibao.CORP_ID}:项目"


@pytest.fixture
def api(sandboxes):
    base = sandboxes.url("ekuaibao")
    token = requests.post(
        f"{base}/api/openapi/v1/auth/getAccessToken",
        json={"appKey": ekuaibao.APP_KEY, "appSecurity": ekuaibao.APP_SECURITY},
    ).json()["value"]["accessToken"]

    def call(method, path, **kw):
        return requests.request(method, base + path, params={"accessToken": token, **kw.pop("params", {})}, **kw)

    return call


def batch(api, items, dimension=PROJECTS, **params):
    return api("POST", f"{CREATE}/batch", params=params, json={"dimensionId": dimension, "itemListRequest": items})


def test_fee_types_are_one_unpaged_read_only_list(api):
    listed = api("GET", "/api/openapi/v1/feeTypes")
    assert listed.status_code == 200
    items = listed.json()["items"]
    assert {"id", "name", "parentId", "active", "code"} == set(items[0])
    assert {"COST1", "FYXM0001", "0101", "6602010000"} <= {i["code"] for i in items}
    assert api("POST", "/api/openapi/v1/feeTypes", json={"code": "X"}).status_code == 405  # no way to write one
    found = api("POST", "/api/openapi/v2/specifications/feeType/byIdsAndCodes", json={"codes": ["COST7"]})
    assert found.json()["items"][0]["name"] == "办公用品"
    missing = api("POST", "/api/openapi/v2/specifications/feeType/byIdsAndCodes", json={"codes": ["NOPE"]})
    assert (missing.status_code, missing.json()["errorMessage"]) == (412, "查询的费用类型不存在, 请输入有效的查询条件")


def test_categories_and_item_lists_page_with_required_start_and_count(api):
    categories = api("GET", "/api/openapi/v1/dimensions", params={"start": 0, "count": 2}).json()
    assert categories["count"] == 6 and len(categories["items"]) == 2
    assert api("GET", ITEMS, params={"count": 10}).json()["errorMessage"] == "输入存在错误:\n- 缺少start参数"
    unknown = api("GET", ITEMS, params={"start": 0, "count": 10, "dimensionId": "nope"})
    assert (unknown.status_code, unknown.json()) == (400, {"count": 0, "items": []})
    bad_date = api("GET", ITEMS, params={"start": 0, "count": 10, "startDate": "2024-01-01"})
    assert bad_date.status_code == 400
    created = batch(api, [{"name": f"项目{i}", "code": f"XM{i:03d}", "parentId": ""} for i in range(100)])
    assert created.status_code == 200 and len(created.json()["items"]) == 100
    page = api("GET", ITEMS, params={"start": 0, "count": 500, "dimensionId": PROJECTS}).json()
    assert page["count"] == 100 and len(page["items"]) == 100  # count clamped to 100
    assert set(page["items"][0]) == {
        "id",
        "name",
        "active",
        "code",
        "dimensionId",
        "parentId",
        "updateTime",
        "createTime",
    }


def test_the_refusal_rules_and_their_texts(api):
    parent = api("POST", CREATE, json={"dimensionId": PROJECTS, "name": "父项目", "code": "P1", "parentId": ""})
    assert parent.status_code == 200 and set(parent.json()) == {"id"}  # a bare {"id"}
    parent_id = parent.json()["id"]
    cases = [
        ({"name": "另一个", "code": "P1", "parentId": ""}, "编码[P1]已经被占用"),
        ({"name": "父项目", "code": "P2", "parentId": ""}, "该档案项名称[父项目]导入重复"),
        ({"name": "子项目", "code": "P3", "parentId": "ID_nope"}, "上级档案不存在"),
        ({"name": "子", "code": "P3", "parentId": "", "visibility": {"fullVisible": False}}, "当fullVisible为false"),
        ({"name": "子项目", "code": "P3", "parentId": "", "visibility": {"fullVisible": False, "staffs": ["x"]}},
         "参数staffs的值不存在或已被禁用[x]"),
    ]  # fmt: skip
    for body, message in cases:
        refused = api("POST", CREATE, json={"dimensionId": PROJECTS, **body})
        assert refused.status_code == 412 and refused.json()["errorMessage"].startswith(message), body
    # a batch is checked in order and refused whole at the first problem
    refused = batch(api, [{"name": "甲", "code": "P4", "parentId": ""}, {"name": "乙", "code": "P1", "parentId": ""}])
    assert (refused.status_code, refused.json()["errorMessage"]) == (412, "该档案项编码[P1]导入重复")
    assert "P4" not in {i["code"] for i in api("GET", ITEMS, params={"start": 0, "count": 100}).json()["items"]}
    # the same code is fine in another category
    legal = batch(api, [{"name": "某公司", "code": "P1", "parentId": ""}], dimension=f"{ekuaibao.CORP_ID}:法人实体")
    assert legal.status_code == 200
    by_code = batch(api, [{"name": "子", "code": "P5", "parentId": "P1"}], dimension="DA001", type="code")
    assert by_code.status_code == 200 and by_code.json()["items"][0]["parentId"] == parent_id


def test_updates_and_toggles_answer_204_without_a_body_and_disabling_cascades(api):
    parent = api("POST", CREATE, json={"dimensionId": PROJECTS, "name": "父", "code": "P1", "parentId": ""}).json()
    child = api("POST", CREATE, json={"dimensionId": PROJECTS, "name": "子", "code": "P2", "parentId": parent["id"]})
    child_id = child.json()["id"]
    updated = api("PUT", f"{CREATE}/${child_id}", json={"name": "子改名"})
    assert (updated.status_code, updated.content) == (204, b"")
    disabled = api("PUT", f"{CREATE}/${parent['id']}/disable")
    assert (disabled.status_code, disabled.content) == (204, b"")
    items = {i["code"]: i for i in api("GET", ITEMS, params={"start": 0, "count": 100}).json()["items"]}
    assert not items["P1"]["active"] and not items["P2"]["active"] and items["P2"]["name"] == "子改名"
    assert api("PUT", f"{CREATE}/${parent['id']}/enable").json()["errorMessage"] == "请求体不能为空"
    assert api("PUT", f"{CREATE}/${parent['id']}/enable", json={}).status_code == 204
    items = {i["code"]: i for i in api("GET", ITEMS, params={"start": 0, "count": 100}).json()["items"]}
    assert items["P1"]["active"] and not items["P2"]["active"]  # enabling does not cascade by default
    by_code = api("PUT", f"{CREATE}/$P2", params={"type": "code"}, json={"name": "x"})
    assert by_code.json()["errorMessage"] == "类型为code时dimensionId是必填参数，请检查"
    assert api("PUT", f"{CREATE}/$ID_nope/disable").json()["errorMessage"] == "档案项不存在"


def test_preset_extras_are_replaced_together(api):
    item = api(
        "POST",
        CREATE,
        json={"dimensionId": PROJECTS, "name": "项", "code": "P1", "parentId": "", "form": {"projectManager": "m"}},
    ).json()

    def form():
        found = api("GET", "/api/openapi/v1/dimensions/getDimensionByCode", params={"code": "P1"}).json()["items"]
        return found[0]["form"]

    api("PUT", f"{CREATE}/${item['id']}", json={"name": "改"})  # no extra sent: kept
    assert form()["projectManager"] == "m"
    api("PUT", f"{CREATE}/${item['id']}", json={"form": {"projectType": "t"}})  # one sent: the others cleared
    assert (form()["projectManager"], form()["projectType"]) == ("", "t")


def test_changed_since_windows_on_update_time_inclusively(api, sandboxes):
    control = sandboxes.control("ekuaibao")
    batch(api, [{"name": "甲", "code": "A", "parentId": ""}, {"name": "乙", "code": "B", "parentId": ""}])
    first = api("GET", ITEMS, params={"start": 0, "count": 10, "dimensionId": PROJECTS}).json()["items"]
    stamp = max(i["updateTime"] for i in first)
    edited = control.mutate("edit_item", dimension="项目", code="B", name="乙改")
    window = {"start": 0, "count": 10, "dimensionId": PROJECTS, "startDate": edited["updateTime"]}
    assert {i["code"] for i in api("GET", ITEMS, params=window).json()["items"]} >= {"B"}
    inclusive = api("GET", ITEMS, params={**window, "startDate": stamp, "orderBy": "updateTime"}).json()["items"]
    assert inclusive[-1]["code"] == "B" and inclusive[-1]["name"] == "乙改"
