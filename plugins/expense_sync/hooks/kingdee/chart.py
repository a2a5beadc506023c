"""The ERP chart: BD_Account, BD_Expense, the cost-center and the project forms, as K3Cloud rows.

Each entity's form and field keys come from the connection's ``chart_forms`` (standard ones by
default); a row is handed over under the standard keys whatever the installation calls them, so the
mapping files stay one per entity.

The rows reach staging through ``include/mappings/kingdee/*.yaml``; wire facts (rows 19-23 of
``docs/vendors/kingdee.md``) and what stays inferred are in that file."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from expense_sync.erp.model import ChartKind
from expense_sync.hooks.errors import ConfigurationError, EntityUnavailableError, VendorRequestError
from expense_sync.hooks.kingdee.query import KingdeeQuery, nest, quote
from expense_sync.hooks.kingdee.settings import STANDARD_CHART

COMMON = ("FNumber", "FName", "FForbidStatus", "FDocumentStatus", "FModifyDate")
# role -> (the key the row carries it under, which the mapping files read; the sub-field read)
ROLES: dict[str, tuple[str, str | None]] = {
    "parent": ("FParentID", "FNumber"),
    "detail": ("FIsDetail", None),
    "group": ("FGROUPID", "FName"),
    "gl_account": ("GLAccount", "FNumber"),
    "valid_from": ("FEffectDate", None),
    "valid_to": ("FLapseDate", None),
}
# what K3Cloud answers for a FormId the data center lacks [I] (the sandbox answers the same)
FORM_MISSING = ("业务对象不存在",)


class KingdeeChart(KingdeeQuery):
    """Reads the chart; the mapping files make canonical records of its rows."""

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.settings.timezone)

    def _chart_spec(self, kind: ChartKind) -> tuple[str, dict[str, str]]:
        """The FormId of a chart and its query keys, each with the key the row is handed over under.

        Raises :class:`EntityUnavailableError` for an entity the connection switches off (never for
        ``gl_account``, which the sync requires)."""
        spec = self.settings.chart_forms[kind]
        if not spec.enabled:
            if kind == "gl_account":
                raise ConfigurationError("gl_account cannot be switched off: the chart sync requires it")
            raise EntityUnavailableError(f"{kind} is switched off in the connection's chart_forms", vendor=self.vendor)
        keys = {key: key for key in COMMON}
        for role, field in spec.fields.items():
            if field is None:
                continue
            if role not in ROLES:
                raise ConfigurationError(f"chart_forms.{kind}: unknown role {role!r}; known: {sorted(ROLES)}")
            alias, sub = ROLES[role]
            keys[f"{field}.{sub}" if sub else field] = f"{alias}.{sub}" if sub else alias
        return spec.form, keys

    def prerequisites(self) -> list[str]:
        """What posting claims needs beyond a standard K3Cloud: an expense item → GL account link
        (``chart_forms.expense_item.fields.gl_account``, the installation's own field), and every
        chart field or form the connection names beyond the standard defaults, each read once: one
        line per one missing or refused. The voucher's ref needs none (it travels in the 摘要)."""
        problems = []
        expense_item = self.settings.chart_forms["expense_item"]
        if expense_item.enabled and not expense_item.fields.get("gl_account"):
            problems.append(
                "chart_forms.expense_item.fields.gl_account: not set; a standard BD_Expense links no GL account,"
                " so expense categories land without one and claims cannot be posted: name the installation's field"
            )
        for kind, spec in self.settings.chart_forms.items():
            standard = STANDARD_CHART[kind]
            customised = spec.form != standard["form"] or any(
                field is not None and field != standard["fields"].get(role) for role, field in spec.fields.items()
            )
            if not spec.enabled or not customised:
                continue
            form_id, keys = self._chart_spec(kind)
            try:
                self.query_first(form_id, list(keys), "")
            except VendorRequestError as err:
                problems.append(f"chart_forms.{kind}: {form_id} with {', '.join(keys)} is refused: {err.message}")
        return problems

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
        form_id, keys = self._chart_spec(kind)
        org = self.settings.org_number
        conditions = [f"FUseOrgId.FNumber={quote(org)}"] if org else []
        if since is not None and self.supports_changed_since(kind):
            conditions.append(f"FModifyDate>={quote(self._local(since))}")
        rows = self.query(form_id, list(keys), " AND ".join(conditions), "FNumber ASC")
        try:
            for row in rows:
                record = nest({keys[key]: value for key, value in row.items()})
                modified = record["FModifyDate"]
                aware = dt.datetime.fromisoformat(modified).replace(tzinfo=self.tz) if modified else None
                record["FModifyDate"] = aware
                record["_company"] = org
                yield record
        except VendorRequestError as err:
            if kind == "gl_account" or not any(mark in err.message for mark in FORM_MISSING):
                raise
            raise EntityUnavailableError(
                f"{kind}: the data center has no form {form_id!r} ({err.message})", vendor=self.vendor
            ) from None
