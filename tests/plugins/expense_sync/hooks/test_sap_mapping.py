"""The SAP mapping files on a documented example record, and the mapping features they rely on."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import yaml

from expense_sync import mapping
from expense_sync.hooks.sap.chart import with_text
from expense_sync.settings import MAPPINGS_DIR

FIXTURES = Path(__file__).parents[3] / "fixtures" / "sap"
EXAMPLE = json.loads((FIXTURES / "gl_account.json").read_text(encoding="utf-8"))
ENTITIES = ("gl_account", "expense_category", "cost_center", "project")


def account(**changes) -> dict:
    """The example account with ``changes``, as the hook hands it over in Chinese."""
    return with_text({**EXAMPLE["record"], **changes}, "ZH")


def test_the_example_account_maps_to_its_canonical_values():
    assert "sebasgoldberg/rateio" in EXAMPLE["source"]
    key, values, error = mapping.load("sap", "gl_account").apply(account())
    assert (key, error) == ("6602010000", None)
    assert values == {
        "code": "6602010000",
        "name": "管理费用-差旅费",
        "postable": True,
        "account_type": "P",
        "account_class": "profit_loss",
        "active": True,
        "source_updated_at": dt.datetime(2024, 6, 3, 8, 30, tzinfo=dt.UTC),  # the text's, the later one
    }
    _, item, error = mapping.load("sap", "expense_category").apply(account())
    assert error is None and (item["gl_account_code"], item["name"]) == ("6602010000", "管理费用-差旅费")

    english = with_text(EXAMPLE["record"], "EN")
    assert mapping.load("sap", "gl_account").apply(english)[1]["name"] == "Admin Exp. - Travel"
    assert mapping.load("sap", "gl_account").apply(with_text(EXAMPLE["record"], "DE"))[1]["name"] == (
        "Admin Exp. - Travel"  # no German text: English
    )


@pytest.mark.parametrize(
    ("changes", "field", "expected"),
    [
        ({"AccountIsBlockedForPosting": True}, "active", False),
        ({"AccountIsMarkedForDeletion": True}, "active", False),
        ({"GLAccountType": "X"}, "account_class", "balance_sheet"),
        ({"GLAccountType": "S"}, "account_class", "secondary_cost"),
        ({"GLAccountType": "Z"}, "account_class", None),  # unknown: the health check catches it
        ({"to_Text": {"results": []}}, "name", "6602010000"),  # no text: the number
        ({"to_Text": {"results": []}}, "source_updated_at", dt.datetime(2024, 5, 1, 10, tzinfo=dt.UTC)),
    ],
)
def test_the_example_account_with_one_change(changes, field, expected):
    _, values, error = mapping.load("sap", "gl_account").apply(account(**changes))
    assert error is None and values[field] == expected


def test_a_short_text_names_an_account_without_a_long_one():
    texts = [{**t, "GLAccountLongName": ""} for t in EXAMPLE["record"]["to_Text"]["results"]]
    assert mapping.load("sap", "gl_account").apply(account(to_Text={"results": texts}))[1]["name"] == "差旅费"


def test_an_unreadable_time_is_a_mapping_error_of_that_field():
    _, values, error = mapping.load("sap", "gl_account").apply(account(LastChangeDateTime="2024-05-01"))
    assert values["source_updated_at"] is None and "expected /Date(ms)/" in error


def test_cost_centers_and_projects_map_status_codes_and_dates():
    center = {
        "CostCenter": "1000000003",
        "ValidityStartDate": "/Date(1704067200000)/",
        "ValidityEndDate": "/Date(253402214400000)/",
        "CompanyCode": "1000",
        "Department": "D003",
        "IsBlkdForPrimaryCostsPosting": "",
        "_text": {"Language": "ZH", "CostCenterName": "研发中心", "CostCenterDescription": "研发中心描述"},
        "_current": True,
    }
    spec = mapping.load("sap", "cost_center")
    assert spec.apply(center)[1] == {
        "code": "1000000003",
        "name": "研发中心",
        "owner_unit": "D003",
        "valid_from": dt.date(2024, 1, 1),
        "valid_to": dt.date(9999, 12, 31),
        "active": True,
        "company": "1000",
    }
    assert not spec.apply({**center, "IsBlkdForPrimaryCostsPosting": "X"})[1]["active"]
    assert not spec.apply({**center, "_current": False})[1]["active"]

    project = {
        "Project": "P1",
        "ProjectDescription": "",
        "ProcessingStatus": "10",
        "ProjectStartDate": "/Date(1704067200000)/",
        "LastChangeDateTime": "/Date(1714557600000+0000)/",
    }
    spec = mapping.load("sap", "project")
    values = spec.apply(project)[1]
    assert (values["name"], values["valid_from"], values["valid_to"]) == ("P1", dt.date(2024, 1, 1), None)
    assert values["source_updated_at"] == dt.datetime(2024, 5, 1, 10, tzinfo=dt.UTC)
    assert [spec.apply({**project, "ProcessingStatus": s})[1]["active"] for s in ("00", "10", "42", None)] == [
        True,
        True,
        False,
        False,
    ]


def test_no_sap_field_is_an_identity_map_and_an_edited_file_changes_what_lands(tmp_path):
    for entity in ENTITIES:
        spec = mapping.load("sap", entity)
        assert not [name for name, field in spec.fields.items() if field.source == name], entity
    edited = yaml.safe_load((MAPPINGS_DIR / "sap" / "gl_account.yaml").read_text(encoding="utf-8"))
    edited["fields"]["name"] = {"from": "_text.GLAccountName"}
    (tmp_path / "sap").mkdir()
    path = tmp_path / "sap" / "gl_account.yaml"
    path.write_text(yaml.safe_dump(edited, allow_unicode=True), encoding="utf-8")
    assert mapping.load_file(path).apply(account())[1]["name"] == "差旅费"


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ({"from": "a", "first_of": [{"from": "b"}]}, "exactly one of"),
        ({"first_of": [{"from": "b", "transform": "nope"}]}, "unknown transform"),
        ({"latest_of": [{"typo": "b"}]}, "Extra inputs are not permitted"),
        ({"when": {"a": [1]}, "const": True}, "exactly one of"),
        ({"when": {"a": 1}}, "valid list"),
    ],
)
def test_derived_fields_are_validated_at_load(tmp_path, field, message):
    spec = yaml.safe_load((MAPPINGS_DIR / "sap" / "project.yaml").read_text(encoding="utf-8"))
    spec["fields"]["name"] = field
    (tmp_path / "sap").mkdir()
    path = tmp_path / "sap" / "project.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        mapping.load_file(path)
