"""The charts of the auditors' pack: where the period's expenses went (per cost center, category and
project, with the month before's amounts beside them) and how the last twelve months compare, each
drawn beside the numbers it is drawn from.

The numbers come from ``include/sql/monthend/charts.sql`` (Σ of the closed claims' lines, exact
decimals); the charts are Vega-Lite specifications rendered to SVG by vl-convert, offline (no CDN, no
browser), into ``charts/<name>.svg`` of the pack. A chart only draws: the table beside it and
``charts/<name>.csv`` hold the exact amounts.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg

from expense_sync.store import sqlfile

SQL = "monthend/charts"  # include/sql/monthend/charts.sql
VEGA_LITE = "5.21"
FONT = "WenQuanYi Micro Hei, Noto Sans CJK SC, PingFang SC, Microsoft YaHei, sans-serif"
DIMENSIONS = {"cost_center": "cost center", "category": "category (expense GL account)", "project": "project"}
NO_PROJECT = "(no project)"
TOP = 15  # bars (and rows beside them) per distribution; the rest is one "others" bar, the CSV has all


@dataclass(frozen=True)
class Chart:
    """One chart of the pack: its SVG (relative to the pack, None when there is nothing to draw) and the
    numbers it draws (the largest ones and the rest summed: ``charts/<name>.csv`` has every row)."""

    name: str
    title: str
    svg: str | None
    columns: list[str]
    rows: list[tuple[Any, ...]]
    total: Decimal


def build_charts(conn: psycopg.Connection, period: str, vendor: str, folder: Path) -> list[Chart]:
    """Draw the period's charts into ``folder/charts/``; return them with their numbers."""
    params = {"period": period, "vendor": vendor}
    distribution = conn.execute(sqlfile.step(SQL, "distribution"), params).fetchall()
    trend = conn.execute(sqlfile.step(SQL, "trend"), params).fetchall()
    out = folder / "charts"
    out.mkdir(parents=True, exist_ok=True)
    charts = []
    for dimension, label in DIMENSIONS.items():
        rows = [(code or NO_PROJECT, name, claims, amount, before, change)
                for d, code, name, claims, amount, before, change in distribution if d == dimension]  # fmt: skip
        shown = _top(rows)
        values = [{"label": f"{code} {name}".strip(), "amount": float(amount)} for code, name, _, amount, *_ in shown]
        charts.append(
            _chart(
                out,
                dimension,
                f"Expense of {period} per {label}",
                _bars(values, label) if values else None,
                [label, "name", "claims", "amount", "month before", "change"],
                rows,
                sum((r[3] for r in rows), Decimal(0)),
                shown,
            )
        )
    values = [{"period": p, "amount": float(amount)} for p, _, amount, _ in trend]
    charts.append(
        _chart(
            out,
            "trend",
            f"Month over month: the twelve months to {period}",
            _line(values),
            ["period", "claims", "amount", "change on the month before"],
            trend,
            sum((r[2] for r in trend), Decimal(0)),
        )
    )
    return charts


def _top(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The ``TOP`` largest rows (the SQL sorts them) and one row for the rest, which keeps the total."""
    if len(rows) <= TOP + 1:
        return rows
    rest = rows[TOP:]
    amount, before = (sum((r[i] for r in rest), Decimal(0)) for i in (3, 4))
    return [*rows[:TOP], (f"{len(rest)} others", "", "", amount, before, amount - before)]


def _chart(
    out: Path,
    name: str,
    title: str,
    spec: dict[str, Any] | None,
    columns: list[str],
    rows: list[tuple[Any, ...]],
    total: Decimal,
    shown: list[tuple[Any, ...]] | None = None,
) -> Chart:
    """Write the chart's CSV (every row) and SVG; the page shows ``shown`` (default: every row)."""
    import vl_convert

    with (out / f"{name}.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        writer.writerows(rows)
    svg = None
    (out / f"{name}.svg").unlink(missing_ok=True)  # a pack built again: no drawing of an earlier build stays
    if spec is not None:
        spec = {"$schema": "https://vega.github.io/schema/vega-lite/v5.json", "title": title, **spec}
        spec["config"] = {"font": FONT, "view": {"stroke": None}}
        (out / f"{name}.svg").write_text(vl_convert.vegalite_to_svg(spec, vl_version=VEGA_LITE), encoding="utf-8")
        svg = f"charts/{name}.svg"
    return Chart(name, title, svg, columns, rows if shown is None else shown, total)


def _bars(values: list[dict[str, Any]], label: str) -> dict[str, Any]:
    return {
        "width": 320,
        "height": {"step": 20},
        "data": {"values": values},
        "mark": {"type": "bar", "color": "#4c78a8"},
        "encoding": {
            "y": {"field": "label", "type": "nominal", "sort": "-x", "title": label},
            "x": {"field": "amount", "type": "quantitative", "title": "CNY"},
        },
    }


def _line(values: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "width": 360,
        "height": 180,
        "data": {"values": values},
        "mark": {"type": "line", "point": True, "color": "#4c78a8"},
        "encoding": {
            "x": {"field": "period", "type": "ordinal", "title": "period"},
            "y": {"field": "amount", "type": "quantitative", "title": "CNY"},
        },
    }
