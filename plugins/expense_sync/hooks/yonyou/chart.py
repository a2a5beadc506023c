"""The YonBIP chart reads: one ``querybd``-style query per chart kind, changed-since on ``ts``.

Every kind is read in either list shape (:mod:`.pages`). Each record must carry ``id``, ``code`` and
``name`` (documented) and every other field the mapping reads (present, possibly null): a record
without one is a :class:`~expense_sync.hooks.errors.ContractError` naming it, never a record with a
blank parent or account. The records go out as the gateway listed them;
``include/mappings/yonyou/*.yaml`` map them. Paths, fields and what is inferred:
``docs/vendors/yonyou.md`` ("YonBIP: chart")."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from expense_sync.erp.model import ChartKind
from expense_sync.hooks.contract import required
from expense_sync.hooks.errors import ContractError
from expense_sync.hooks.yonyou.pages import YonbipPaginator

if TYPE_CHECKING:
    from expense_sync.hooks.yonyou.hook import YonyouHook
    from expense_sync.hooks.yonyou.settings import YonyouSettings

TS_FORMAT = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class ChartQuery:
    """How one chart is read: a POST with ``fields``/``conditions`` and page numbers."""

    path: str
    fields: tuple[str, ...]

    @property
    def endpoint(self) -> str:
        return f"POST {self.path}"


IDENTITY = ("id", "code", "name")  # documented on accsubjectByPager: never null
BASE_FIELDS = (*IDENTITY, "parent_code", "enable", "ts")
CHARTS: dict[ChartKind, ChartQuery] = {
    "gl_account": ChartQuery(
        "/yonbip/AMP/fipub/basedoc/querybd/accsubjectByPager",
        (*BASE_FIELDS, "mnemoniccode", "isEnd", "accproperty_name"),
    ),
    "expense_item": ChartQuery("/yonbip/fi/fipub/basedoc/querybd/expenseitem", (*BASE_FIELDS, "accsubject_code")),
    "cost_center": ChartQuery(
        "/yonbip/fi/fipub/basedoc/querybd/costcenter", (*BASE_FIELDS, "dept_code", "begindate", "enddate")
    ),
    "project": ChartQuery("/yonbip/fi/fipub/basedoc/querybd/project", (*BASE_FIELDS, "begindate", "enddate")),
}
# Asked for but not read by the mappings: a tenant may leave them out.
OPTIONAL_FIELDS = frozenset({"mnemoniccode"})


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
    try:
        aware = dt.datetime.strptime(stamp, TS_FORMAT).replace(tzinfo=tenant_zone(settings)) if stamp else None
    except (TypeError, ValueError):
        raise ContractError(f"field 'ts' is {stamp!r}, not {TS_FORMAT}", vendor="yonyou") from None
    return {**raw, "ts": aware}


def checked(raw: Any, query: ChartQuery) -> dict[str, Any]:
    """The record, once it carries every field we rely on (identity non-null, the rest present)."""
    for name in query.fields:
        if name not in OPTIONAL_FIELDS:
            required(raw, name, vendor="yonyou", endpoint=query.endpoint, nullable=name not in IDENTITY)
    return raw


def read(hook: YonyouHook, kind: ChartKind, since: dt.datetime | None) -> Iterator[dict[str, Any]]:
    """Every record of one chart (changed since ``since``, when given), page by page."""
    query = CHARTS[kind]
    body: dict[str, Any] = {"fields": list(query.fields)}
    if since is not None:
        body["conditions"] = [ts_condition(since, hook.settings)]
    paginator = YonbipPaginator(endpoint=query.endpoint, size=hook.settings.page_size)
    for page in hook.paginate("POST", query.path, paginator, json=body, paging_in="json"):
        for raw in page:
            yield with_aware_ts(checked(raw, query), hook.settings)
