"""Mapping files are data: every committed file loads, and malformed specs fail loudly."""

import datetime as dt

import pytest
import yaml

from expense_sync import mapping


def test_every_mapping_file_loads():
    specs = mapping.load_all()
    assert {(s.system, s.entity) for s in specs} >= {
        ("dingtalk", "org_unit"),
        ("dingtalk", "employee"),
        ("wecom", "org_unit"),
        ("wecom", "employee"),
        ("ekuaibao", "org_unit"),
        ("ekuaibao", "employee"),
    }


VALID = {
    "system": "dingtalk",
    "entity": "org_unit",
    "direction": "inbound",
    "key": "dept_id",
    "fields": {
        "code": {"from": "dept_id", "transform": "str"},
        "name": {"from": "name"},
        "parent_key": {"from": "parent_id"},
    },
}

INVALID = [
    ({"colour": "blue"}, "Extra inputs are not permitted"),
    ({"fields": {**VALID["fields"], "code": {"from": "x", "transform": "uppercase"}}}, "unknown transform"),
    ({"fields": {**VALID["fields"], "code": {"from": "x", "const": 1}}}, "exactly one of"),
    ({"fields": {**VALID["fields"], "code": {"from": "x", "typo": True}}}, "Extra inputs are not permitted"),
    ({"fields": {**VALID["fields"], "budget": {"from": "x"}}}, "fields not in staging.org_unit"),
    ({"fields": {"code": {"from": "x"}, "name": {"from": "y"}}}, "required fields missing"),
    ({"entity": "invoice"}, "no inbound staging table"),
    ({"direction": "sideways"}, "direction"),
]


def write(tmp_path, spec, system="dingtalk", entity="org_unit"):
    folder = tmp_path / system
    folder.mkdir(exist_ok=True)
    path = folder / f"{entity}.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    return path


def test_a_valid_spec_loads(tmp_path):
    assert mapping.load_file(write(tmp_path, VALID)).key == "dept_id"


@pytest.mark.parametrize(("change", "message"), INVALID, ids=[m for _, m in INVALID])
def test_invalid_specs_fail_with_a_clear_message(tmp_path, change, message):
    with pytest.raises(ValueError, match=message):
        mapping.load_file(write(tmp_path, {**VALID, **change}))


def test_a_spec_must_live_under_its_own_system_and_entity(tmp_path):
    with pytest.raises(ValueError, match="its path says wecom/org_unit"):
        mapping.load_file(write(tmp_path, VALID, system="wecom"))


def test_inbound_mapping_applies_transforms_and_keeps_errors_per_field():
    spec = mapping.load("dingtalk", "employee")
    key, values, error = spec.apply(
        {
            "userid": "u1",
            "job_number": " E1 ",
            "name": "张三",
            "email": "A@B.CN",
            "mobile": "13800000000",
            "dept_id_list": [7, 9],
            "title": "会计",
            "hired_date": 1_700_000_000_000,
        }
    )
    assert (key, error) == ("u1", None)
    assert values == {
        "employee_no": "E1",
        "name": "张三",
        "email": "a@b.cn",
        "mobile": "13800000000",
        "org_unit_key": "7",
        "position_title": "会计",
        "hired_on": dt.date(2023, 11, 15),
        "active": True,
        "manager_key": None,  # user/list carries no manager_userid (only user/get does, when set)
    }
    assert spec.apply({"userid": "u3", "manager_userid": " m1 "})[1]["manager_key"] == "m1"
    _, values, error = spec.apply({"userid": "u2", "name": "李四", "dept_id_list": "7", "hired_date": "soon"})
    assert values["org_unit_key"] is None and values["hired_on"] is None
    assert "org_unit_key: expected a list" in error and "hired_on: expected epoch milliseconds" in error


def test_wecom_status_decides_employment():
    spec = mapping.load("wecom", "employee")
    assert [spec.apply({"userid": "E1", "name": "x", "status": s})[1]["active"] for s in (1, 4, 2, 5)] == [
        True,
        True,
        False,
        False,
    ]
    assert "unknown WeCom member status" in spec.apply({"userid": "E1", "name": "x", "status": 9})[2]


def test_outbound_mapping_nests_and_omits_empty_fields():
    payload = mapping.load("ekuaibao", "employee").render(
        {
            "name": "王伟",
            "employee_no": "E7",
            "mobile": "13900000007",
            "email": None,
            "org_unit_remote_id": "corp:D1",
            "position_title": "经理",
        }
    )
    assert payload == {
        "name": "王伟",
        "code": "E7",
        "userid": "E7",
        "cellphone": "13900000007",
        "defaultDepartment": "corp:D1",
        "departments": ["corp:D1"],
        "staffCustomForm": {"postType": "经理"},
    }


def test_a_value_map_names_the_canonical_value_and_an_unknown_one_becomes_none():
    spec = mapping.load("sap", "gl_account")
    account = {"GLAccount": "6602010000", "GLAccountType": "P", "_text": {"GLAccountLongName": "差旅费"}}
    assert spec.apply(account)[1]["account_class"] == "profit_loss"
    assert spec.apply({**account, "GLAccountType": "Z"})[1]["account_class"] is None  # the health check catches it
    kingdee = {"FNumber": "6602.01", "FName": "差旅费", "FIsDetail": True, "FGROUPID": {"FName": "期间费用"}}
    assert mapping.load("kingdee", "gl_account").apply(kingdee)[1]["account_class"] == "profit_loss"


def test_ekuaibao_times_are_china_time():
    spec = mapping.load("ekuaibao", "dimension_item")
    item = {"id": "ID_1", "dimensionId": "c:项目", "code": "X", "name": "x", "active": True}
    _, values, error = spec.apply({**item, "updateTime": "2026-01-05 09:30:00"})
    assert error is None and values["remote_updated_at"] == dt.datetime(2026, 1, 5, 1, 30, tzinfo=dt.UTC)
    assert "expected 'yyyy-MM-dd HH:mm:ss'" in spec.apply({**item, "updateTime": "05/01/2026"})[2]
