"""K3Cloud chart rows through ``include/mappings/kingdee``: the canonical values, the YAML's own say.

The rows are shaped as K3Cloud answers ExecuteBillQuery (a bare 2-D array in ``FieldKeys`` order, per
Kingdee's Java SDK ``K3CloudApi.executeBillQuery``; ``docs/vendors/kingdee.md`` row 14); the values
are those of the 企业会计准则 preset chart (``6602 管理费用`` → ``6602.01 差旅费``, 科目类别 期间费用)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from expense_sync import mapping
from expense_sync.hooks.kingdee.chart import COMMON, ROLES
from expense_sync.hooks.kingdee.query import nest
from expense_sync.settings import MAPPINGS_DIR

SHANGHAI = ZoneInfo("Asia/Shanghai")
ACCOUNT_KEYS = [*COMMON, "FParentID.FNumber", "FIsDetail", "FGROUPID.FName"]
ACCOUNT_ROW = ["6602.01", " 差旅费 ", "A", "C", "2024-05-08T10:21:33.417", "6602", True, "期间费用"]
EXPENSE_KEYS = [*COMMON, "GLAccount.FNumber"]  # an installation's own link field, handed over as GLAccount
EXPENSE_ROW = ["FYXM0001", "差旅费", "B", "C", "2024-05-08T10:21:33", "6602.01"]
DEPARTMENT_KEYS = [*COMMON, "FParentID.FNumber", "FEffectDate", "FLapseDate"]
DEPARTMENT_ROW = ["BM000007", "会计部", "A", "B", "2024-05-08T10:21:33", "BM000002", "2024-01-02T00:00:00", None]


def as_handed_over(keys, row, company="100"):
    """A row as the hook yields it: nested by field key, FModifyDate aware, ``_company`` added."""
    record = nest(dict(zip(keys, row, strict=True)))
    record["FModifyDate"] = dt.datetime.fromisoformat(record["FModifyDate"]).replace(tzinfo=SHANGHAI)
    return {**record, "_company": company}


def test_an_account_row_maps_to_its_canonical_gl_account():
    key, values, error = mapping.load("kingdee", "gl_account").apply(as_handed_over(ACCOUNT_KEYS, ACCOUNT_ROW))
    assert (key, error) == ("6602.01", None)
    assert values == {
        "code": "6602.01",
        "name": "差旅费",
        "parent_code": "6602",
        "postable": True,
        "account_type": "期间费用",
        "account_class": "profit_loss",
        "active": True,
        "company": "100",
        "source_updated_at": dt.datetime(2024, 5, 8, 2, 21, 33, 417000, tzinfo=dt.UTC),
    }


def test_a_top_account_has_no_parent_and_an_unknown_category_no_class():
    row = ["6602", "管理费用", "A", "C", "2024-05-08T10:21:33", None, False, "自定义类别"]
    values = mapping.load("kingdee", "gl_account").apply(as_handed_over(ACCOUNT_KEYS, row, company=None))[1]
    assert (values["parent_code"], values["postable"], values["company"]) == (None, False, None)
    assert (values["account_type"], values["account_class"]) == ("自定义类别", None)  # the health check catches it


def test_a_forbidden_expense_item_maps_inactive_with_its_gl_account():
    key, values, error = mapping.load("kingdee", "expense_category").apply(as_handed_over(EXPENSE_KEYS, EXPENSE_ROW))
    assert (key, error, values["name"]) == ("FYXM0001", None, "差旅费")
    assert (values["gl_account_code"], values["active"]) == ("6602.01", False)


def test_a_department_awaiting_audit_maps_to_an_inactive_cost_center_with_its_dates():
    values = mapping.load("kingdee", "cost_center").apply(as_handed_over(DEPARTMENT_KEYS, DEPARTMENT_ROW))[1]
    assert (values["code"], values["parent_code"], values["active"]) == ("BM000007", "BM000002", False)
    assert (values["valid_from"], values["valid_to"]) == (dt.date(2024, 1, 2), None)
    bad = as_handed_over(DEPARTMENT_KEYS, [*DEPARTMENT_ROW[:6], "02/01/2024", None])
    assert "expected an ISO 8601 date" in mapping.load("kingdee", "cost_center").apply(bad)[2]


@pytest.mark.parametrize(("forbid", "document", "active"), [("A", "C", True), ("B", "C", False), ("A", "A", False)])
def test_a_project_is_active_only_enabled_and_audited(forbid, document, active):
    row = ["XM2024002", "ERP二期实施", forbid, document, "2024-05-08T10:21:33"]
    assert mapping.load("kingdee", "project").apply(as_handed_over(list(COMMON), row))[1]["active"] is active


def test_the_yaml_decides_what_lands(tmp_path):
    text = (MAPPINGS_DIR / "kingdee" / "gl_account.yaml").read_text(encoding="utf-8")
    edited = text.replace("期间费用: profit_loss", "期间费用: cost").replace("from: FName", "from: FNumber")
    (tmp_path / "kingdee").mkdir()
    (tmp_path / "kingdee" / "gl_account.yaml").write_text(edited, encoding="utf-8")
    values = mapping.load_file(tmp_path / "kingdee" / "gl_account.yaml").apply(
        as_handed_over(ACCOUNT_KEYS, ACCOUNT_ROW)
    )[1]
    assert (values["name"], values["account_class"]) == ("6602.01", "cost")


def test_the_expense_mapping_reads_the_key_the_hook_hands_the_account_link_over_under():
    source = mapping.load("kingdee", "expense_category").fields["gl_account_code"].source
    assert source == ".".join(ROLES["gl_account"])


@pytest.mark.parametrize(
    ("category", "account_class"),
    [
        ("资产", "asset"),
        ("负债", "liability"),
        ("共同", "common"),
        ("权益", "equity"),
        ("所有者权益", "equity"),
        ("成本", "cost"),
        ("损益", "profit_loss"),
        ("流动资产", "asset"),
        ("非流动负债", "liability"),
        ("期间费用", "profit_loss"),
    ],
)
def test_every_standard_account_element_and_preset_category_has_its_class(category, account_class):
    row = ["1001", "库存现金", "A", "C", "2024-05-08T10:21:33", None, True, category]
    values = mapping.load("kingdee", "gl_account").apply(as_handed_over(ACCOUNT_KEYS, row))[1]
    assert (values["account_type"], values["account_class"]) == (category, account_class)


def test_a_condition_and_a_source_together_are_refused_when_the_mapping_loads():
    base = {"system": "kingdee", "entity": "project", "direction": "inbound", "key": "FNumber"}
    fields = {"code": {"from": "FNumber"}, "name": {"from": "FName"}}
    with pytest.raises(ValueError, match="exactly one of"):
        mapping.MappingSpec(**base, fields={**fields, "active": {"from": "x", "when": {"FForbidStatus": ["A"]}}})
