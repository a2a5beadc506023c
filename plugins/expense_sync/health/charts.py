"""The sync-health page's charts: Altair (Vega-Lite) specs over the rows of :mod:`.queries`,
rendered to SVG on the server by vl-convert (the page loads no script)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import altair as alt
import vl_convert

from expense_sync.health.queries import AGES

WIDTH, HEIGHT = 560, 140
RUN = alt.X("started_at:T", title="run started (UTC)")
PER_DAG = alt.Row("dag_id:N", title=None, header=alt.Header(labelAngle=0, labelAlign="left"))

Rows = list[dict[str, Any]]


def _base(rows: Rows) -> alt.Chart:
    return alt.Chart(alt.Data(values=rows)).properties(width=WIDTH, height=HEIGHT)


def rows_chart(rows: Rows) -> alt.FacetChart:
    measures = ["created", "updated", "deactivated", "quarantined"]
    return (
        _base(rows)
        .transform_fold([*measures], as_=["change", "rows"])
        .mark_line(point=True)
        .encode(RUN, alt.Y("rows:Q", title="rows"), alt.Color("change:N", sort=measures), tooltip=["run_key:N"])
        .facet(row=PER_DAG)
    )


def api_calls_chart(rows: Rows) -> alt.FacetChart:
    return (
        _base(rows)
        .mark_line(point=True)
        .encode(RUN, alt.Y("calls:Q", title="API calls"), alt.Color("vendor:N"), tooltip=["throttled:Q"])
        .facet(row=PER_DAG)
    )


def vouchers_chart(rows: Rows) -> alt.FacetChart:
    return (
        _base(rows)
        .transform_fold(["posted", "refused"], as_=["outcome", "vouchers"])
        .mark_bar()
        .encode(RUN, alt.Y("vouchers:Q", title="vouchers"), alt.Color("outcome:N", sort=["posted", "refused"]))
        .facet(row=PER_DAG)
    )


def conflicts_chart(rows: Rows) -> alt.Chart:
    return (
        _base(rows)
        .mark_bar()
        .encode(
            alt.X("age:N", sort=list(AGES), title="open for"),
            alt.Y("sum(open):Q", title="open conflicts"),
            alt.Color("entity:N"),
            alt.Column("dag_id:N", title=None),
        )
        .properties(width=WIDTH // 3)
    )


def quality_chart(rows: Rows) -> alt.Chart:
    return (
        _base(rows)
        .mark_line(point=True)
        .encode(
            alt.X("day:T", title="day (UTC)"),
            alt.Y("pass_rate:Q", title="suites passed", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
            alt.Color("dag_id:N"),
        )
    )


def durations_chart(rows: Rows) -> alt.FacetChart:
    """Each run's duration (points) against its DAG's deadline (the dashed line), one panel per DAG."""
    points = alt.Chart().mark_point(filled=True).encode(RUN, alt.Y("seconds:Q", title="seconds"), alt.Color("late:N"))
    deadline = alt.Chart().mark_rule(strokeDash=[4, 3], color="firebrick").encode(alt.Y("deadline_seconds:Q"))
    return (
        alt.layer(points, deadline, data=alt.Data(values=rows))
        .properties(width=WIDTH, height=HEIGHT)
        .facet(row=PER_DAG)
        .resolve_scale(y="independent")
    )


CHARTS: dict[str, Callable[[Rows], alt.TopLevelMixin]] = {
    "rows": rows_chart,
    "api_calls": api_calls_chart,
    "vouchers": vouchers_chart,
    "conflicts": conflicts_chart,
    "quality": quality_chart,
    "durations": durations_chart,
}


def svg(section: str, rows: Rows) -> str | None:
    """The section's chart as SVG; None when there is nothing to draw."""
    if not rows:
        return None
    return vl_convert.vegalite_to_svg(CHARTS[section](rows).to_dict())
