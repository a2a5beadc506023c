"""chart/state.py and the pure helpers of chart/push.py: both sides rendered alike, hashed, described."""

from __future__ import annotations

from expense_sync.chart.push import describe, pick
from expense_sync.chart.state import erp_view, expense_view, view_hash

ERP_ROW = {"code": "CC110", "name": "华东销售一组", "parent_code": "CC100", "active": True, "company": "001"}
ITEM = {"code": "CC110", "name": "华东销售一组", "parent_remote_id": "ID_9kQ", "active": 1, "remote_id": "ID_3xT"}
CODE_OF = {"ID_9kQ": "CC100"}


def test_the_same_record_on_both_sides_hashes_alike():
    erp, expense = erp_view(ERP_ROW), expense_view(ITEM, CODE_OF)
    assert erp == expense == {"code": "CC110", "name": "华东销售一组", "parent": "CC100", "active": True}
    assert view_hash(erp) == view_hash(expense)


def test_any_compared_field_changes_the_hash_and_other_fields_do_not():
    base = view_hash(erp_view(ERP_ROW))
    for change in ({"name": "华东销售1组"}, {"parent_code": "CC200"}, {"active": False}, {"code": "CC111"}):
        assert view_hash(erp_view({**ERP_ROW, **change})) != base, change
    assert view_hash(erp_view({**ERP_ROW, "company": "002", "valid_to": "2026-12-31"})) == base


def test_parents_are_compared_by_code_and_a_root_has_an_empty_parent():
    assert expense_view({**ITEM, "parent_remote_id": "ID_unknown"}, CODE_OF)["parent"] == "ID_unknown"
    assert expense_view({**ITEM, "parent_remote_id": None}, CODE_OF)["parent"] == ""
    assert erp_view({**ERP_ROW, "parent_code": None})["parent"] == ""
    assert view_hash(erp_view({**ERP_ROW, "parent_code": None})) == view_hash(
        expense_view({**ITEM, "parent_remote_id": ""}, CODE_OF)
    )


def test_a_missing_item_is_its_own_hash():
    assert expense_view(None, CODE_OF) is None
    assert view_hash(None) not in (view_hash(erp_view(ERP_ROW)), view_hash({}))


def test_describe_names_each_difference_for_people():
    erp = erp_view(ERP_ROW)
    assert describe(erp, None) == "not in 合思"
    assert describe(erp, dict(erp)) == "same values"
    assert describe(erp, {**erp, "name": "华东销售1组", "active": False}) == (
        "名称: ERP '华东销售一组' / 合思 '华东销售1组'; 启用: ERP True / 合思 False"
    )


def test_pick_prefers_the_enabled_item_of_a_code():
    disabled, enabled = {"remote_id": "A", "active": False}, {"remote_id": "B", "active": True}
    assert pick([disabled, enabled]) is enabled
    assert pick([disabled, {"remote_id": "C", "active": False}]) is disabled
    assert pick([]) is None
