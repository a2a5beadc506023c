"""The amount bands file: the shipped one loads, and every kind of mistake in one is refused when loaded."""

from decimal import Decimal

import pytest
import yaml
from pydantic import ValidationError

from expense_sync.matrix.bands import BandTable, band_table, load_file


def table(**overrides):
    doc = {"default": [{"up_to": 5000, "roles": ["主管", "财务"]}, {"roles": ["主管", "财务", "总监"]}]} | overrides
    return BandTable.model_validate(doc)


def test_the_shipped_bands_load_with_the_issue_s_rule():
    bands = band_table()
    assert bands.rows("C100", None) == [
        (Decimal(0), Decimal(5000), "主管", 1),
        (Decimal(0), Decimal(5000), "财务", 2),
        (Decimal(5000), None, "主管", 1),
        (Decimal(5000), None, "财务", 2),
        (Decimal(5000), None, "总监", 3),
    ]


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"default": [{"up_to": 5000, "roles": ["财务", "主管"]}, {"roles": ["主管"]}]}, "主管 → 财务 → 总监"),
        ({"default": [{"up_to": 5000, "roles": ["主管", "主管"]}, {"roles": ["主管"]}]}, "listed twice"),
        ({"default": [{"up_to": 5000, "roles": ["主管"]}]}, "last band must be open"),
        ({"default": [{"roles": ["主管"]}, {"roles": ["财务"]}]}, "only the last band may be open"),
        (
            {"default": [{"up_to": 9000, "roles": ["主管"]}, {"up_to": 5000, "roles": ["主管"]}, {"roles": ["主管"]}]},
            "ascend",
        ),
        ({"default": [{"roles": ["经理"]}]}, "roles"),
        ({"default": [{"roles": []}]}, "at least one role"),
        ({"default": [{"roles": ["主管"]}], "overrides": [{"bands": [{"roles": ["主管"]}]}]}, "names a company"),
        ({"default": [{"roles": ["主管"]}], "extra": 1}, "extra"),
    ],
)
def test_a_bad_bands_file_is_refused(doc, message, tmp_path):
    path = tmp_path / "bands.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), "utf-8")
    with pytest.raises(ValidationError, match=message):
        load_file(path)


def test_the_most_specific_override_wins():
    bands = table(
        overrides=[
            {"company": "C200", "bands": [{"roles": ["主管"]}]},
            {"category": "TRAVEL", "bands": [{"roles": ["主管", "总监"]}]},
            {"company": "C200", "category": "TRAVEL", "bands": [{"roles": ["财务"]}]},
        ]
    )
    roles = lambda company, category: [r for _l, _h, r, _s in bands.rows(company, category)]  # noqa: E731
    assert roles("C200", "TRAVEL") == ["财务"]
    assert roles("C100", "TRAVEL") == ["主管", "总监"]
    assert roles("C200", None) == ["主管"]
    assert roles("C100", None) == ["主管", "财务", "主管", "财务", "总监"]
    assert bands.scopes("C100") == [None, "TRAVEL"]
