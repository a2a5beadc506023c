"""dag_defaults.args_within: every try and every retry delay together end within the budget."""

from __future__ import annotations

import datetime as dt

import pytest

from expense_sync.dag_defaults import DEFAULT_ARGS, args_within


def worst_case(args: dict) -> dt.timedelta:
    return (args["retries"] + 1) * args["execution_timeout"] + args["retries"] * args["max_retry_delay"]


@pytest.mark.parametrize(
    ("budget", "retries"),
    [(dt.timedelta(hours=1), 3), (dt.timedelta(minutes=15), 3), (dt.timedelta(minutes=5), 2),
     (dt.timedelta(minutes=1), 3), (dt.timedelta(days=1), 5)],
)  # fmt: skip
def test_the_worst_case_fills_at_most_90_percent_of_the_budget(budget, retries):
    args = args_within(budget, retries=retries)
    assert args["retries"] == retries
    assert worst_case(args) <= budget * 0.9
    assert worst_case(args) > budget * 0.8  # and the tries get the time, not a sliver of it
    assert args["max_retry_delay"] <= budget / 20


def test_five_minutes_with_two_retries():
    args = args_within(dt.timedelta(minutes=5), retries=2)
    assert (args["max_retry_delay"], args["execution_timeout"]) == (dt.timedelta(seconds=15), dt.timedelta(seconds=80))


def test_the_default_args_fit_the_hour_of_the_daily_weekly_and_monthly_dags():
    assert worst_case(DEFAULT_ARGS) <= dt.timedelta(minutes=54)


@pytest.mark.parametrize(("budget", "retries"), [(dt.timedelta(seconds=19), 3), (dt.timedelta(seconds=30), 30)])
def test_a_budget_too_small_for_the_retries_is_refused(budget, retries):
    with pytest.raises(ValueError, match="leaves no time"):
        args_within(budget, retries=retries)


def test_overrides_win():
    args = args_within(dt.timedelta(hours=1), owner="finance", execution_timeout=dt.timedelta(minutes=1))
    assert (args["owner"], args["execution_timeout"]) == ("finance", dt.timedelta(minutes=1))
