"""The sync-health page: each section's chart and the table of numbers behind it (``page.html``)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import jinja2
from markupsafe import Markup

from expense_sync.health import charts


class Section(NamedTuple):
    key: str  # the key of /numbers
    title: str
    means: str
    columns: tuple[str, ...]


SECTIONS = (
    Section(
        "rows",
        "Rows created / updated / deactivated / quarantined",
        "What each run's merge did to the middle platform's canonical tables, all entities together.",
        ("dag_id", "run_key", "started_at", "created", "updated", "deactivated", "quarantined"),
    ),
    Section(
        "api_calls",
        "API calls per vendor",
        "HTTP calls each run made to each vendor (token calls included), the throttled answers and the retries.",
        ("dag_id", "run_key", "started_at", "vendor", "calls", "throttled", "retries"),
    ),
    Section(
        "vouchers",
        "Vouchers posted / refused",
        "Claim vouchers each run posted to the ERP (created, or found there already) and the ERP refused.",
        ("dag_id", "run_key", "started_at", "posted", "refused"),
    ),
    Section(
        "conflicts",
        "Open conflicts by age",
        "Conflicts waiting for a person (open or deferred), by the DAG that queued them and how long ago.",
        ("dag_id", "entity", "age", "open"),
    ),
    Section(
        "quality",
        "Data health checks (GX) pass rate",
        "Great Expectations suites run per DAG and day, and the share that passed.",
        ("dag_id", "day", "checks", "passed", "pass_rate"),
    ),
    Section(
        "durations",
        "Run duration against the deadline",
        "Each run from its first recorded step to its close; the dashed line is the DAG's deadline.",
        ("dag_id", "run_key", "started_at", "status", "seconds", "deadline_seconds", "late"),
    ),
)


@cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent), autoescape=True, undefined=jinja2.StrictUndefined
    )
    return env.get_template("page.html")


def render(numbers: dict[str, Any]) -> str:
    """The whole page for the numbers of :func:`expense_sync.health.queries.numbers`."""
    sections = [
        {
            "section": s,
            "rows": numbers[s.key],
            "svg": Markup(svg) if (svg := charts.svg(s.key, numbers[s.key])) else None,
        }
        for s in SECTIONS
    ]
    return _template().render(numbers=numbers, sections=sections)
