"""The ERP chart: BD_Account, BD_Expense, the cost-center and the project forms, as K3Cloud rows.

The rows reach staging through ``include/mappings/kingdee/*.yaml``; wire facts (rows 19-23 of
``docs/vendors/kingdee.md``) and what stays inferred are in that file."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from expense_sync.erp.model import ChartKind
from expense_sync.hooks.kingdee.query import KingdeeQuery, quote

COMMON = ("FNumber", "FName", "FForbidStatus", "FDocumentStatus", "FModifyDate")


def nest(row: dict[str, Any]) -> dict[str, Any]:
    """A row keyed by field key as the objects the keys name (``FParentID.FNumber`` → ``{"FParentID":
    {"FNumber": …}}``), so a mapping's dotted path is the field key itself."""
    record: dict[str, Any] = {}
    for key, value in row.items():
        *parents, leaf = key.split(".")
        node = record
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return record


class KingdeeChart(KingdeeQuery):
    """Reads the chart; the mapping files make canonical records of its rows."""

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.settings.timezone)

    def _chart_spec(self, kind: ChartKind) -> tuple[str, list[str]]:
        settings = self.settings
        if kind == "gl_account":
            return "BD_Account", [*COMMON, "FParentID.FNumber", "FIsDetail", "FGROUPID.FName"]
        if kind == "expense_item":
            link = [f"{settings.expense_account_field}.FNumber"] if settings.expense_account_field else []
            return "BD_Expense", [*COMMON, *link]
        if kind == "cost_center":
            return settings.cost_center_form, [*COMMON, "FParentID.FNumber", "FEffectDate", "FLapseDate"]
        if kind == "project":
            return settings.project_form, list(COMMON)
        raise ValueError(f"unknown chart kind {kind!r}")

    def supports_changed_since(self, kind: ChartKind) -> bool:
        return kind in self.settings.changed_since

    def _local(self, moment: dt.datetime) -> str:
        if moment.tzinfo is not None:
            moment = moment.astimezone(self.tz).replace(tzinfo=None)
        return moment.strftime("%Y-%m-%d %H:%M:%S")

    def chart(self, kind: ChartKind, since: dt.datetime | None = None) -> Iterator[dict[str, Any]]:
        """The rows of one chart, only those changed since ``since`` where the form supports it (a naive
        ``since`` is taken as the server's local time): nested by field key, ``FModifyDate`` made
        aware in the server's zone, and ``_company`` the use org (``org_number``)."""
        form_id, fields = self._chart_spec(kind)
        org = self.settings.org_number
        conditions = [f"FUseOrgId.FNumber={quote(org)}"] if org else []
        if since is not None and self.supports_changed_since(kind):
            conditions.append(f"FModifyDate>={quote(self._local(since))}")
        for row in self.query(form_id, fields, " AND ".join(conditions), "FNumber ASC"):
            record = nest(row)
            modified = record["FModifyDate"]
            record["FModifyDate"] = dt.datetime.fromisoformat(modified).replace(tzinfo=self.tz) if modified else None
            record["_company"] = org
            yield record
