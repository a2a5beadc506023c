"""chart/decisions.py pure parts: the question a person answers and who answered it."""

from __future__ import annotations

import pytest

from expense_sync.chart import DEFER, KEEP_EXPENSE, OPTIONS, TAKE_ERP
from expense_sync.chart.decisions import ASKED, EFFECTS, question


def item(**changes) -> dict:
    base = {
        "item_id": 41,
        "entity": "cost_center",
        "record_key": "CC100",
        "reason_code": "changed_both_sides",
        "reason": "changed on both sides: 名称: ERP '华东销售部' / 合思 '华东销售一部'",
        "record": {
            "erp": {"code": "CC100", "name": "华东销售部", "parent": "CC1", "active": True},
            "expense": {"code": "CC100", "name": "华东销售一部", "parent": "CC1", "active": True},
        },
    }
    return {**base, **changes}


def test_a_cost_center_changed_on_both_sides_shows_both_values_and_what_each_option_does():
    asked = question(item())
    assert asked["subject"] == "成本中心 CC100: changed on both sides"
    body = asked["body"].splitlines()
    assert body[0].startswith("**Conflict #41** — 成本中心 CC100: changed on both sides")
    assert "| 名称 | 华东销售部 | 华东销售一部 |" in body
    assert "| 上级 | CC1 | CC1 |" in body and "| 启用 | True | True |" in body
    assert f"- **{TAKE_ERP}**: write the ERP's record to 合思" in body
    assert any(line.startswith(f"- **{KEEP_EXPENSE}**: leave 合思's item as it is") for line in body)
    assert any(line.startswith(f"- **{DEFER}**: decide later") for line in body)


def test_an_item_missing_in_hese_and_a_pipe_in_a_name_keep_the_table_readable():
    record = {"erp": {"code": "PRJ|7", "name": "新|项目", "parent": None, "active": False}, "expense": None}
    body = question(item(entity="project", record_key="PRJ|7", record=record))["body"].splitlines()
    assert "| 编码 | PRJ\\|7 | (none) |" in body
    assert "| 上级 | — | (none) |" in body  # no parent on the ERP side


def test_an_expense_category_on_an_unusable_gl_account():
    record = {
        "erp": {"code": "660299", "name": "其他费用", "gl_account": "6602.99", "gl_active": True, "gl_postable": False},
        "expense": {"code": "660299", "name": "其他"},
    }
    asked = question(item(entity="expense_category", record_key="660299", reason_code="fee_type_gl_not_postable",
                          reason="GL account not postable: 6602.99", record=record))  # fmt: skip
    assert asked["subject"] == "费用类别 660299: GL account not postable"
    assert "| GL 科目 | 6602.99 (not usable) | — |" in asked["body"]
    assert "keep the fee-type mapping suspended" in asked["body"]
    usable = {**record, "erp": {**record["erp"], "gl_postable": True}}
    assert "6602.99 (active, postable)" in question(item(entity="expense_category", record=usable))["body"]


@pytest.mark.parametrize("reason_code", ASKED)
def test_every_conflict_asked_about_says_what_both_answers_do(reason_code):
    body = question(item(reason_code=reason_code))["body"]
    assert set(EFFECTS[reason_code]) == {TAKE_ERP, KEEP_EXPENSE} and set(OPTIONS) == {TAKE_ERP, KEEP_EXPENSE, DEFER}
    for option in (TAKE_ERP, KEEP_EXPENSE):
        assert f"- **{option}**: {EFFECTS[reason_code][option]}" in body
