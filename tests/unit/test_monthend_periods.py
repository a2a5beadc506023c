"""monthend/periods.py pure parts: which month a run closes, read in China time."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pendulum
import pytest

from expense_sync.monthend.periods import PERIOD, period_of, previous_month

UTC = dt.UTC


@pytest.mark.parametrize(
    ("moment", "month"),
    [
        (dt.datetime(2026, 3, 15, 12, tzinfo=UTC), "2026-02"),
        (dt.datetime(2026, 1, 10, tzinfo=UTC), "2025-12"),  # across the year
        (dt.datetime(2026, 2, 28, 16, 30, tzinfo=UTC), "2026-02"),  # already 1 March in Shanghai
        (dt.datetime(2026, 3, 1, 15, 59, tzinfo=UTC), "2026-02"),
    ],
)
def test_previous_month_is_the_month_before_in_shanghai(moment, month):
    assert previous_month(moment) == month


def test_the_period_param_wins():
    context = {"params": {"period": "2025-11"}, "data_interval_start": pendulum.datetime(2026, 1, 1)}
    assert period_of(context) == "2025-11"


def test_the_data_interval_names_the_month_in_shanghai():
    # the monthly run of January starts at 00:00 on 1 January China time: 31 December 16:00 UTC
    assert period_of({"params": {}, "data_interval_start": pendulum.datetime(2025, 12, 31, 16, tz="UTC")}) == "2026-01"
    assert period_of({"params": {"period": ""}, "data_interval_start": pendulum.datetime(2026, 1, 31, 15)}) == "2026-01"


def test_a_manual_run_without_a_data_interval_closes_the_month_before_it_was_triggered():
    run = SimpleNamespace(run_after=pendulum.datetime(2026, 3, 2, 1, tz="Asia/Shanghai"))
    assert period_of({"dag_run": run, "data_interval_start": None}) == "2026-02"


@pytest.mark.parametrize(("text", "valid"), [("2026-01", True), ("2026-12", True), ("2026-13", False),
                                             ("2026-00", False), ("2026-1", False), ("26-01", False),
                                             ("2026-01 ", False)])  # fmt: skip
def test_a_period_is_yyyy_mm(text, valid):
    assert bool(PERIOD.match(text)) is valid
