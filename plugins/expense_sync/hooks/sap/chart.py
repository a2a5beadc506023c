"""The chart of the ERP contract: G/L accounts, expense items, cost centers and projects from OData.

The records are SAP's entities; ``include/mappings/sap/*.yaml`` map them to the canonical chart.
Which entity sets, filters and [I] choices: ``docs/vendors/sap.md`` (Chart)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator

from expense_sync.erp.model import ChartKind
from expense_sync.hooks.sap.client import SapClient
from expense_sync.hooks.sap.odata import either, literal, parse_date, timestamp_literal
from expense_sync.hooks.sap.services import (
    COST_CENTER_SERVICE,
    COST_CENTERS,
    GL_ACCOUNTS,
    GL_SERVICE,
    GL_TEXTS,
    PROJECTS,
)

CHANGED_TEXTS_BATCH = 40  # accounts per $filter when re-reading accounts whose text changed


def with_text(row: dict, language: str) -> dict:
    """``row`` with ``_text``: its ``to_Text`` entry in ``language``, else English, else any (else None)."""
    texts = (row.get("to_Text") or {}).get("results") or []
    by_language = {t.get("Language"): t for t in texts}
    return {**row, "_text": by_language.get(language) or by_language.get("EN") or (texts[0] if texts else None)}


class SapChart(SapClient):
    """``chart()`` and ``supports_changed_since()`` of the ERP contract."""

    def supports_changed_since(self, kind: ChartKind) -> bool:
        return kind in ("gl_account", "expense_item", "project")

    def chart(self, kind: ChartKind, since: dt.datetime | None = None) -> Iterator[dict]:
        """The entities of ``kind`` as SAP sends them, with the context keys the mappings read:
        ``_text`` (the text in the configured language) and, on cost centers, ``_current``."""
        if kind == "gl_account":
            return self._gl_accounts(since)
        if kind == "expense_item":
            condition, groups = "GLAccountType eq 'P'", self.settings.expense_account_groups
            if groups:
                condition += f" and {either('GLAccountGroup', groups)}"
            return self._gl_accounts(since, condition)
        if kind == "cost_center":
            return self._cost_centers()
        if kind == "project":
            return self._projects(since)
        raise ValueError(f"unknown chart kind {kind!r}")

    def _gl_accounts(self, since: dt.datetime | None, condition: str = "") -> Iterator[dict]:
        """The accounts in scope; with ``since``, those changed or whose text changed since then."""
        chart = f"ChartOfAccounts eq {literal(self.settings.chart_of_accounts)}"
        scope = f"{chart} and {condition}" if condition else chart
        changed = f" and LastChangeDateTime ge {timestamp_literal(since)}" if since else ""
        seen: set[str] = set()
        params = {"$filter": scope + changed, "$expand": "to_Text"}
        for row in self.odata_rows(GL_SERVICE, GL_ACCOUNTS, params):
            seen.add(row["GLAccount"])
            yield with_text(row, self.settings.language)
        if since is None:
            return
        texts = {
            "$filter": f"{chart} and Language eq {literal(self.settings.language)}{changed}",
            "$select": "GLAccount",
        }
        renamed = sorted({t["GLAccount"] for t in self.odata_rows(GL_SERVICE, GL_TEXTS, texts)} - seen)
        for i in range(0, len(renamed), CHANGED_TEXTS_BATCH):
            accounts = either("GLAccount", renamed[i : i + CHANGED_TEXTS_BATCH])
            params = {"$filter": f"{scope} and {accounts}", "$expand": "to_Text"}
            for row in self.odata_rows(GL_SERVICE, GL_ACCOUNTS, params):
                yield with_text(row, self.settings.language)

    def _cost_centers(self) -> Iterator[dict]:
        """One record per cost center: its period valid today, else its latest one."""
        periods: dict[str, list[dict]] = defaultdict(list)
        area = literal(self.settings.controlling_area)
        params = {"$filter": f"ControllingArea eq {area}", "$expand": "to_Text"}
        for row in self.odata_rows(COST_CENTER_SERVICE, COST_CENTERS, params):
            periods[row["CostCenter"]].append(row)
        today = dt.date.today()
        for code in sorted(periods):
            rows = [
                (
                    parse_date(r.get("ValidityStartDate")) or dt.date.min,
                    parse_date(r.get("ValidityEndDate")) or dt.date.max,
                    r,
                )
                for r in periods[code]
            ]
            current = [r for r in rows if r[0] <= today <= r[1]]
            row = current[0][2] if current else max(rows, key=lambda r: r[1])[2]
            yield {**with_text(row, self.settings.language), "_current": bool(current)}

    def _projects(self, since: dt.datetime | None) -> Iterator[dict]:
        params = {"$filter": f"LastChangeDateTime ge {timestamp_literal(since)}"} if since else {}
        yield from self.odata_rows(self.settings.project_service, PROJECTS, params)
