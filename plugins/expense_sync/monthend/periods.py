"""Which month a month-end run closes, and the first month any run may post.

A production ERP must never receive rollups for months before the integration went live. The first
period is the Variable ``expense_sync_first_period`` (``YYYY-MM``) when set; otherwise the month
before the first month-end run, recorded in the middle platform by that run (``sync.watermark``,
stream ``monthend:first_period``) so that it stays put as time passes. A period earlier than it is
never posted: the run ends at its ``period_open`` check.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

import pendulum
import psycopg

from expense_sync.settings import VAR_FIRST_PERIOD
from expense_sync.store import watermarks

TIMEZONE = "Asia/Shanghai"
PERIOD = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")
SYSTEM, STREAM = "expense_sync", "monthend:first_period"


def previous_month(moment: dt.datetime) -> str:
    return pendulum.instance(moment).in_timezone(TIMEZONE).start_of("month").subtract(months=1).strftime("%Y-%m")


def period_of(context: Mapping[str, Any]) -> str:
    """The ``period`` param, else the month of the data interval, else the month before the run's time
    (a manual trigger without a logical date has no data interval)."""
    wanted = (context.get("params") or {}).get("period")
    if wanted:
        return str(wanted)
    start = context.get("data_interval_start")
    if start is not None:
        return pendulum.instance(start).in_timezone(TIMEZONE).strftime("%Y-%m")
    run = context.get("dag_run")
    return previous_month(getattr(run, "run_after", None) or pendulum.now("UTC"))


def first_period(conn: psycopg.Connection, run_key: str) -> str:
    """The configured first period, else the recorded one, else (recorded now) the month before today."""
    from airflow.sdk import Variable

    configured = Variable.get(VAR_FIRST_PERIOD, default=None)
    if configured:
        value = str(configured).strip()
        if not PERIOD.match(value):
            raise ValueError(f"Variable {VAR_FIRST_PERIOD}={value!r}: expected YYYY-MM")
        return value
    recorded = watermarks.watermark(conn, SYSTEM, STREAM)
    if recorded is None:
        period = previous_month(pendulum.now("UTC"))
        recorded = pendulum.datetime(int(period[:4]), int(period[5:7]), 1, tz=TIMEZONE)
        with conn.transaction():
            watermarks.set_watermark(conn, SYSTEM, STREAM, recorded, run_key=run_key)
    return pendulum.instance(recorded).in_timezone(TIMEZONE).strftime("%Y-%m")


def period_closed(conn: psycopg.Connection, vendor: str, period: str, company: str) -> bool:
    """Whether the month end ran for ``period`` and ``company`` (a rollup run or a reconciliation of
    it): a voucher correcting that period (a reversal) then goes into a later, open period."""
    from expense_sync.store import sqlfile

    row = sqlfile.one(conn.execute(sqlfile.step("monthend/periods", "closed"), (vendor, period, company) * 2))
    return bool(row[0])


def month_of(day: dt.date | dt.datetime) -> str:
    """The period (``YYYY-MM``) of a date, or of a time read in China time."""
    if isinstance(day, dt.datetime):
        day = pendulum.instance(day).in_timezone(TIMEZONE).date()
    return f"{day:%Y-%m}"
