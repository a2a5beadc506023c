"""Yonyou's chart mapping: documented answer shapes (``tests/fixtures/yonyou``) through the YAML
files, and the YAML, not the hook, deciding what lands."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from expense_sync import mapping
from expense_sync.hooks.errors import ContractError
from expense_sync.hooks.yonyou import chart
from expense_sync.hooks.yonyou.pages import listing
from expense_sync.hooks.yonyou.settings import YonyouSettings
from expense_sync.settings import MAPPINGS_DIR

PAGES = json.loads((Path(__file__).parents[3] / "fixtures" / "yonyou" / "chart_pages.json").read_text("utf-8"))
ENTITIES = {"gl_account": "gl_account", "expense_item": "expense_category", "cost_center": "cost_center"}
ENTITIES |= {"project": "project"}
CHINA = dt.timezone(dt.timedelta(hours=8))


def listed(kind: str, settings: YonyouSettings | None = None) -> list[dict]:
    """The records of a fixture answer as the hook hands them over (``ts`` made aware)."""
    query = chart.CHARTS[kind]
    records = listing(PAGES[kind], query.endpoint)[0]
    return [chart.with_aware_ts(chart.checked(record, query), settings or YonyouSettings()) for record in records]


def canonical(kind: str, spec: mapping.MappingSpec | None = None, **settings) -> dict[str, dict]:
    spec = spec or mapping.load("yonyou", ENTITIES[kind])
    out = {}
    for record in listed(kind, YonyouSettings(**settings)):
        key, values, error = spec.apply(record)
        assert error is None
        out[key] = values
    return out


def test_gl_accounts_map_to_canonical_fields():
    accounts = canonical("gl_account")

    assert accounts["6602"] == {
        "code": "6602",
        "name": "管理费用",
        "parent_code": None,
        "postable": False,
        "account_type": "损益",
        "account_class": "profit_loss",
        "active": True,
        "source_updated_at": dt.datetime(2024, 1, 2, 9, 41, tzinfo=CHINA),
    }
    leaf = accounts["660201"]
    assert (leaf["name"], leaf["parent_code"], leaf["postable"], leaf["active"]) == ("差旅费", "6602", True, False)


def test_the_other_charts_map_to_canonical_fields():
    item = canonical("expense_item")["0102"]
    center = canonical("cost_center")["CC0101"]
    project = canonical("project")["PRJ20210001"]

    assert (item["parent_code"], item["gl_account_code"], item["active"]) == ("01", "660201", True)
    assert (center["owner_unit"], center["valid_from"], center["valid_to"]) == ("D0101", dt.date(2020, 1, 1), None)
    assert (project["valid_from"], project["valid_to"]) == (dt.date(2021, 3, 1), dt.date(2023, 12, 31))
    assert all("company" not in values or values["company"] is None for values in (item, center, project))


def test_ts_follows_the_tenant_clock_setting():
    utc = canonical("project", ts_utc_offset=0)["PRJ20210001"]["source_updated_at"]
    assert utc == dt.datetime(2024, 1, 2, 14, tzinfo=dt.UTC)
    assert listed("project")[0]["ts"] == dt.datetime(2024, 1, 2, 14, tzinfo=CHINA)


def test_an_edited_mapping_file_changes_what_lands(tmp_path):
    text = (MAPPINGS_DIR / "yonyou" / "gl_account.yaml").read_text("utf-8")
    edited = text.replace("损益: profit_loss", "损益: expense").replace(
        "name: {from: name,", "name: {from: mnemoniccode,"
    )
    assert edited != text
    folder = tmp_path / "yonyou"
    folder.mkdir()
    (folder / "gl_account.yaml").write_text(edited, "utf-8")

    accounts = canonical("gl_account", mapping.load_file(folder / "gl_account.yaml"))

    assert accounts["6602"]["account_class"] == "expense" and accounts["6602"]["name"] == "KM6602"
    assert canonical("gl_account")["6602"]["account_class"] == "profit_loss"


def test_no_identity_maps_and_every_source_is_a_wire_field():
    for kind, entity in ENTITIES.items():
        spec = mapping.load("yonyou", entity)
        wire = set(chart.CHARTS[kind].fields)
        sources = {name: field.source for name, field in spec.fields.items()}
        assert set(sources.values()) <= wire, entity
        assert {name for name, source in sources.items() if name == source} <= {"code", "name", "parent_code"}


def test_a_ts_in_another_format_is_refused_naming_it():
    record = {**PAGES["project"]["data"][0], "ts": "2024-01-02T14:00:00Z"}
    with pytest.raises(ContractError, match="'ts'"):
        chart.with_aware_ts(record, YonyouSettings())


def test_a_chart_record_without_a_field_the_mapping_reads_is_refused_naming_it():
    record = dict(PAGES["expense_item"]["data"][0])
    del record["accsubject_code"]
    with pytest.raises(ContractError, match="'accsubject_code'"):
        chart.checked(record, chart.CHARTS["expense_item"])
    assert chart.checked({**record, "accsubject_code": None}, chart.CHARTS["expense_item"])["accsubject_code"] is None
