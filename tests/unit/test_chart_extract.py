"""chart/extract.py pure parts: an ERP's ChartRecord lands in the staging columns of its entity."""

from __future__ import annotations

import datetime as dt

import pytest

from expense_sync import mapping
from expense_sync.chart.extract import ENTITIES, as_dict, columns
from expense_sync.erp.model import ChartRecord

CHANGED = dt.datetime(2026, 1, 5, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
RECORDS = {
    "gl_account": ChartRecord("gl_account", "6602.01 ", "差旅费", parent_code="6602", postable=True,
                              account_type="期间费用", company="001", updated_at=CHANGED),
    "expense_item": ChartRecord("expense_item", "FYXM001", " 差旅费 ", gl_account_code="6602.01", company="001"),
    "cost_center": ChartRecord("cost_center", "CC100", "华东销售部", parent_code="CC1", owner_unit="D03",
                               valid_from=dt.date(2025, 1, 1), valid_to=dt.date(2026, 12, 31), active=False),
    "project": ChartRecord("project", "PRJ01", "新零售项目", valid_from=dt.date(2026, 1, 1), raw={"FID": 7}),
}  # fmt: skip


@pytest.mark.parametrize("erp", ["kingdee", "yonyou", "sap"])
@pytest.mark.parametrize("kind", list(ENTITIES))
def test_every_erps_chart_record_maps_onto_its_staging_columns(erp, kind):
    entity = ENTITIES[kind]
    key, values, error = mapping.load(erp, entity).apply(as_dict(RECORDS[kind]))
    assert error is None and key == RECORDS[kind].code
    landed = set(columns(entity)) - {"load_id", "source_key", "mapping_error", "raw"}
    assert set(values) <= landed, "a mapped field has no staging column"
    assert values["code"] == RECORDS[kind].code.strip() and values["active"] is RECORDS[kind].active


def test_what_a_kingdee_gl_account_lands_as():
    _, values, _ = mapping.load("kingdee", "gl_account").apply(as_dict(RECORDS["gl_account"]))
    assert values == {
        "code": "6602.01",
        "name": "差旅费",
        "parent_code": "6602",
        "postable": True,
        "account_type": "期间费用",
        "account_class": "profit_loss",
        "active": True,
        "company": "001",
        "source_updated_at": CHANGED,
    }


def test_a_cost_centers_validity_and_owner_land_as_they_came():
    _, values, _ = mapping.load("kingdee", "cost_center").apply(as_dict(RECORDS["cost_center"]))
    assert (values["valid_from"], values["valid_to"], values["owner_unit"], values["active"]) == (
        dt.date(2025, 1, 1),
        dt.date(2026, 12, 31),
        "D03",
        False,
    )


def test_the_record_as_received_travels_with_it():
    assert as_dict(RECORDS["project"])["raw"] == {"FID": 7}
    assert as_dict(RECORDS["project"])["kind"] == "project"


def test_staging_columns_frame_the_canonical_fields():
    cols = columns("cost_center")
    assert cols[:2] == ("load_id", "source_key") and cols[-2:] == ("mapping_error", "raw")
    assert len(cols) == len(set(cols))
