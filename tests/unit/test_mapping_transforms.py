"""mapping.py transforms, one by one, and the org-unit mappings the org sync's tree is built from."""

from __future__ import annotations

import datetime as dt

import pytest

from expense_sync import mapping
from expense_sync.mapping import TRANSFORMS, MappingError

CHINA = dt.timezone(dt.timedelta(hours=8))

CASES = [
    ("str", 7, "7"), ("str", None, None), ("str", True, MappingError),
    ("strip", "  财务部 ", "财务部"), ("strip", "   ", None), ("strip", None, None),
    ("lower", " Li.Na@Example.CN ", "li.na@example.cn"), ("lower", "", None),
    ("first", [3, 5], 3), ("first", [], None), ("first", None, None), ("first", "3", MappingError),
    ("int", "12", 12), ("int", "", None), ("int", None, None), ("int", "1.5", MappingError),
    ("bool", "TRUE", True), ("bool", 0, False), ("bool", "1", True), ("bool", None, None),
    ("bool", "yes", MappingError),
    ("epoch_ms_date", 1_767_196_800_000, dt.date(2026, 1, 1)),  # 2025-12-31 16:00 UTC
    ("epoch_ms_date", 0, None), ("epoch_ms_date", "", None), ("epoch_ms_date", "soon", MappingError),
    ("china_time", "2026-01-05 09:30:00", dt.datetime(2026, 1, 5, 9, 30, tzinfo=CHINA)),
    ("china_time", "", None), ("china_time", "2026-01-05T09:30:00", MappingError),
    ("wecom_employed", 1, True), ("wecom_employed", "4", True), ("wecom_employed", 2, False),
    ("wecom_employed", 5, False), ("wecom_employed", 3, MappingError),
    ("nonzero", 0, None), ("nonzero", "0", None), ("nonzero", "", None), ("nonzero", 17, 17),
    ("as_list", "D1", ["D1"]), ("as_list", None, []),
    ("iso_date", "2024-03-01T00:00:00", dt.date(2024, 3, 1)), ("iso_date", "2024-03-01", dt.date(2024, 3, 1)),
    ("iso_date", "", None), ("iso_date", "01/03/2024", MappingError),
    ("date_prefix", "2025-01-01 00:00:00", dt.date(2025, 1, 1)), ("date_prefix", "", None),
    ("date_prefix", "soon", None),  # YonBIP: a malformed validity date is read as none
    ("yonbip_enabled", 1, True), ("yonbip_enabled", "0", True), ("yonbip_enabled", None, True),
    ("yonbip_enabled", 2, False), ("yonbip_enabled", "2", False),
    ("odata_datetime", "/Date(1767196800000)/", dt.datetime(2025, 12, 31, 16, 0, tzinfo=dt.UTC)),
    ("odata_datetime", "/Date(1767196800000+0000)/", dt.datetime(2025, 12, 31, 16, 0, tzinfo=dt.UTC)),
    ("odata_datetime", None, None), ("odata_datetime", "2025-12-31", MappingError),
    ("odata_date", "/Date(1767139200000)/", dt.date(2025, 12, 31)), ("odata_date", "", None),
]  # fmt: skip


@pytest.mark.parametrize(("name", "value", "expected"), CASES, ids=[f"{n}-{v!r}" for n, v, _ in CASES])
def test_transform(name, value, expected):
    if expected is MappingError:
        with pytest.raises(MappingError):
            TRANSFORMS[name](value)
    else:
        assert TRANSFORMS[name](value) == expected


def test_every_transform_is_tested():
    assert {name for name, _, _ in CASES} == set(TRANSFORMS)


def test_a_field_applies_its_transforms_in_order_then_its_value_map():
    spec = mapping.FieldSpec.model_validate({"from": "a.b", "transform": ["strip", "lower"], "values": {"x": "X"}})
    assert spec.value({"a": {"b": "  x "}}) == "X"
    assert spec.value({"a": {"b": " y"}}) is None  # not in the map
    assert spec.value({"a": {}}) is None


@pytest.mark.parametrize("oa", ["wecom", "dingtalk"])
def test_an_oa_root_has_no_parent_and_a_department_names_its_parent_as_text(oa):
    spec = mapping.load(oa, "org_unit")
    key_field, parent_field = ("id", "parentid") if oa == "wecom" else ("dept_id", "parent_id")
    root = spec.apply({key_field: 1, "name": " 总公司 ", parent_field: 0, "order": 1})
    assert root == (
        "1",
        {"code": "1", "name": "总公司", "parent_key": None, "sort_order": 1, "manager_key": None},
        None,
    )
    child = spec.apply({key_field: 12, "name": "财务部", parent_field: 1, "order": "x"})
    assert child[1]["parent_key"] == "1" and child[1]["sort_order"] is None
    assert child[2] == "sort_order: expected an integer, got 'x'"


def test_a_department_without_an_id_cannot_be_mapped():
    with pytest.raises(MappingError, match="record has no 'dept_id'"):
        mapping.load("dingtalk", "org_unit").apply({"name": "无编号部门", "parent_id": 1})


def test_the_hese_department_payload_carries_the_parents_remote_id():
    spec = mapping.load("ekuaibao", "org_unit")
    unit = {"code": "12", "name": "财务部", "sort_order": 3, "parent_remote_id": "ID01owxnHmDW7F:1"}
    assert spec.render(unit) == {"code": "12", "name": "财务部", "parentId": "ID01owxnHmDW7F:1", "order": 3}
    assert not spec.render({**unit, "parent_remote_id": ""})["parentId"]  # the push blocks it: parent not in 合思
