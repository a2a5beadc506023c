"""EkuaibaoHook's fee types and custom dimensions against the 合思 sandbox over HTTP: categories by
name, paging and changed-since windows, 204 answers, refusals with 合思's text, unknown outcomes."""

import json

import pytest

from expense_sync.hooks.ekuaibao import EkuaibaoHook
from expense_sync.hooks.errors import ConfigurationError, OutcomeUnknownError, VendorRequestError
from testkit import FAST


@pytest.fixture
def hook(sandboxes):
    return EkuaibaoHook()


def items(n, start=0, parent=""):
    return [{"name": f"中心{i}", "code": f"CC{i:04d}", "parentId": parent} for i in range(start, start + n)]


def test_categories_are_found_by_name_code_or_id_and_the_extras_are_validated(sandboxes, hook, monkeypatch):
    corp = sandboxes.control("ekuaibao").state()["corporationId"]
    assert hook.dimension("成本中心")["id"] == f"{corp}:成本中心预置"
    assert hook.dimension("DA001")["name"] == "项目"
    with pytest.raises(VendorRequestError, match="no dimension category '部门'"):
        hook.dimension("部门")
    value = json.loads(sandboxes.connection("expense_ekuaibao", **FAST, cost_center_dimension="CBZX"))
    monkeypatch.setenv("AIRFLOW_CONN_EXPENSE_EKUAIBAO", json.dumps(value))
    assert EkuaibaoHook().settings.cost_center_dimension == "CBZX"
    value["extra"]["cost_centre_dimension"] = "typo"
    monkeypatch.setenv("AIRFLOW_CONN_EXPENSE_EKUAIBAO", json.dumps(value))
    with pytest.raises(ConfigurationError, match="cost_centre_dimension"):
        _ = EkuaibaoHook().settings


def test_create_page_update_toggle_and_find(sandboxes, hook):
    dimension = hook.dimension("成本中心")["id"]
    created = hook.create_dimension_items(dimension, items(100)) + hook.create_dimension_items(
        dimension, items(30, 100)
    )
    assert len({i["id"] for i in created}) == 130
    assert sum(len(page) for page in hook.iter_dimension_items(dimension)) == 130  # paged by 100
    first = created[0]["id"]
    assert hook.update_dimension_item(first, {"name": "改名", "code": "CC0000", "parentId": ""}) is None  # 204
    hook.set_dimension_item_active(first, False)
    (found,) = hook.find_dimension_items(dimension, "CC0000")
    assert (found["name"], found["active"]) == ("改名", False)
    hook.set_dimension_item_active(first, True)
    assert hook.find_dimension_items(dimension, "CC0000")[0]["active"] is True
    assert hook.find_dimension_items(hook.dimension("项目")["id"], "CC0000") == []  # another category


def test_a_window_reads_only_what_changed_since(sandboxes, hook):
    dimension = hook.dimension("项目")["id"]
    hook.create_dimension_items(dimension, items(5))
    (page,) = hook.iter_dimension_items(dimension)
    newest = max(i["updateTime"] for i in page)
    sandboxes.control("ekuaibao").mutate("edit_item", dimension="项目", code="CC0003", name="手改")
    changed = [i for p in hook.iter_dimension_items(dimension, newest) for i in p]
    assert {i["code"]: i["name"] for i in changed}["CC0003"] == "手改"  # the window is inclusive
    assert [i["updateTime"] for i in changed] == sorted(i["updateTime"] for i in changed) >= [newest]


def test_refusals_carry_the_tenants_text_and_unknown_outcomes_are_typed(sandboxes, hook):
    dimension = hook.dimension("成本中心")["id"]
    hook.create_dimension_items(dimension, items(1))
    with pytest.raises(VendorRequestError) as refused:
        hook.create_dimension_items(dimension, items(1))
    assert (refused.value.status, refused.value.message) == (412, "该档案项编码[CC0000]导入重复")
    sandboxes.control("ekuaibao").faults(
        {"kind": "slow_commit", "every": 1, "limit": 1, "delay": 2.5, "paths": ["/api/openapi/v1.1/dimensions/*"]}
    )
    with pytest.raises(OutcomeUnknownError):
        hook.create_dimension_items(dimension, items(1, 1))
    assert [i["code"] for i in hook.find_dimension_items(dimension, "CC0001")] == ["CC0001"]  # it was made


def test_fee_types_come_in_one_call(sandboxes, hook):
    fee_types = hook.fee_types()
    assert len(fee_types) > 50 and hook.stats["calls"] == 2  # the token, then one unpaged list
