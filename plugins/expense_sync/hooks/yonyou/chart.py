"""The YonBIP chart reads: one ``querybd``-style query per chart kind, changed-since on ``ts``.

The records go out as the gateway listed them; ``include/mappings/yonyou/*.yaml`` map them.
Paths, fields and what is inferred: ``docs/vendors/yonyou.md`` ("YonBIP: chart")."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from expense_sync.erp.model import ChartKind
from expense_sync.hooks.paginate import PageNumberPaginator

if TYPE_CHECKING:
    from expense_sync.hooks.yonyou.hook import YonyouHook
    from expense_sync.hooks.yonyou.settings import YonyouSettings

TS_FORMAT = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class ChartQuery:
    """How one chart is read: a POST with ``fields``/``conditions`` and page numbers."""

    path: str
    items_path: str
    total_path: str
    fields: tuple[str, ...]


BASE_FIELDS = ("id", "code", "name", "parent_code", "enable", "ts")
CHARTS: dict[ChartKind, ChartQuery] = {
    "gl_account": ChartQuery(
        "/yonbip/AMP/fipub/basedoc/querybd/accsubjectByPager",
        "data.recordList",
        "data.recordCount",
        (*BASE_FIELDS, "mnemoniccode", "isEnd", "accproperty_name"),
    ),
    "expense_item": ChartQuery(
        "/yonbip/fi/fipub/basedoc/querybd/expenseitem", "data", "total", (*BASE_FIELDS, "accsubject_code")
    ),
    "cost_center": ChartQuery(
        "/yonbip/fi/fipub/basedoc/querybd/costcenter",
        "data",
        "total",
        (*BASE_FIELDS, "dept_code", "begindate", "enddate"),
    ),
    "project": ChartQuery(
        "/yonbip/fi/fipub/basedoc/querybd/project", "data", "total", (*BASE_FIELDS, "begindate", "enddate")
    ),
}


def tenant_zone(settings: YonyouSettings) -> dt.timezone:
    return dt.timezone(dt.timedelta(hours=settings.ts_utc_offset))


def ts_condition(since: dt.datetime, settings: YonyouSettings) -> dict[str, str]:
    """``ts >= since`` in the tenant's local time (a naive ``since`` is taken as UTC)."""
    if since.tzinfo is None:
        since = since.replace(tzinfo=dt.UTC)
    local = since.astimezone(tenant_zone(settings)).replace(tzinfo=None)
    return {"field": "ts", "value": local.strftime(TS_FORMAT), "operator": ">="}


def with_aware_ts(raw: dict[str, Any], settings: YonyouSettings) -> dict[str, Any]:
    """The record with its tenant-local ``ts`` made an aware datetime (the one wire value the
    mapping cannot read alone: the offset is a connection setting)."""
    if "ts" not in raw:
        return dict(raw)
    stamp = raw["ts"]
    aware = dt.datetime.strptime(stamp, TS_FORMAT).replace(tzinfo=tenant_zone(settings)) if stamp else None
    return {**raw, "ts": aware}


def read(hook: YonyouHook, kind: ChartKind, since: dt.datetime | None) -> Iterator[dict[str, Any]]:
    """Every record of one chart (changed since ``since``, when given), page by page."""
    query = CHARTS[kind]
    body: dict[str, Any] = {"fields": list(query.fields)}
    if since is not None:
        body["conditions"] = [ts_condition(since, hook.settings)]
    paginator = PageNumberPaginator(
        size=hook.settings.page_size, items_path=query.items_path, total_path=query.total_path
    )
    for page in hook.paginate("POST", query.path, paginator, json=body, paging_in="json"):
        for raw in page:
            yield with_aware_ts(raw, hook.settings)
