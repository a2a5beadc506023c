"""The chart of the ERP contract: G/L accounts, expense items, cost centers and projects from OData.

Which entity sets, filters and [I] choices: ``docs/vendors/sap.md`` (Chart)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator

from expense_sync.erp.model import ChartKind, ChartRecord
from expense_sync.hooks.sap.client import SapClient
from expense_sync.hooks.sap.odata import either, literal, parse_date, parse_datetime, timestamp_literal
from expense_sync.hooks.sap.services import (
    COST_CENTER_SERVICE,
    COST_CENTERS,
    GL_ACCOUNTS,
    GL_SERVICE,
    GL_TEXTS,
    PROJECTS,
)

ACTIVE_PROJECT_STATUSES = frozenset({"00", "10"})  # [I] created, released
CHANGED_TEXTS_BATCH = 40  # accounts per $filter when re-reading accounts whose text changed


class SapChart(SapClient):
    """``chart()`` and ``supports_changed_since()`` of the ERP contract."""

    def supports_changed_since(self, kind: ChartKind) -> bool:
        return kind in ("gl_account", "expense_item", "project")

    def chart(self, kind: ChartKind, since: dt.datetime | None = None) -> Iterator[ChartRecord]:
        if kind == "gl_account":
            return self._gl_accounts(kind, since)
        if kind == "expense_item":
            condition, groups = "GLAccountType eq 'P'", self.settings.expense_account_groups
            if groups:
                condition += f" and {either('GLAccountGroup', groups)}"
            return self._gl_accounts(kind, since, condition)
        if kind == "cost_center":
            return self._cost_centers()
        if kind == "project":
            return self._projects(since)
        raise ValueError(f"unknown chart kind {kind!r}")

    def _gl_accounts(self, kind: ChartKind, since: dt.datetime | None, condition: str = "") -> Iterator[ChartRecord]:
        """The accounts in scope; with ``since``, those changed or whose text changed since then."""
        chart = f"ChartOfAccounts eq {literal(self.settings.chart_of_accounts)}"
        scope = f"{chart} and {condition}" if condition else chart
        changed = f" and LastChangeDateTime ge {timestamp_literal(since)}" if since else ""
        seen: set[str] = set()
        params = {"$filter": scope + changed, "$expand": "to_Text"}
        for row in self.odata_rows(GL_SERVICE, GL_ACCOUNTS, params):
            seen.add(row["GLAccount"])
            yield self._gl_record(kind, row)
        if since is None:
            return
        texts = {
            "$filter": f"{chart} and Language eq {literal(self.settings.language)}{changed}",
            "$select": "GLAccount",
        }
        renamed = {t["GLAccount"] for t in self.odata_rows(GL_SERVICE, GL_TEXTS, texts)}
        renamed = sorted(renamed - seen)
        for i in range(0, len(renamed), CHANGED_TEXTS_BATCH):
            accounts = either("GLAccount", renamed[i : i + CHANGED_TEXTS_BATCH])
            params = {"$filter": f"{scope} and {accounts}", "$expand": "to_Text"}
            for row in self.odata_rows(GL_SERVICE, GL_ACCOUNTS, params):
                yield self._gl_record(kind, row)

    def _text(self, row: dict) -> dict:
        """The text of a record in the configured language, else English, else any."""
        texts = (row.get("to_Text") or {}).get("results") or []
        by_language = {t.get("Language"): t for t in texts}
        return by_language.get(self.settings.language) or by_language.get("EN") or (texts[0] if texts else {})

    def _gl_record(self, kind: ChartKind, row: dict) -> ChartRecord:
        code, text = row["GLAccount"], self._text(row)
        stamps = [
            s
            for s in (parse_datetime(row.get("LastChangeDateTime")), parse_datetime(text.get("LastChangeDateTime")))
            if s
        ]
        gl = kind == "gl_account"
        return ChartRecord(
            kind=kind,
            code=code,
            name=text.get("GLAccountLongName") or text.get("GLAccountName") or code,
            active=not (row.get("AccountIsBlockedForPosting") or row.get("AccountIsMarkedForDeletion")),
            postable=True if gl else None,
            account_type=row.get("GLAccountType") if gl else None,
            gl_account_code=None if gl else code,
            updated_at=max(stamps) if stamps else None,
            raw=row,
        )

    def _cost_centers(self) -> Iterator[ChartRecord]:
        """One record per cost center: its period valid today, else its latest one."""
        periods: dict[str, list[dict]] = defaultdict(list)
        area = literal(self.settings.controlling_area)
        for row in self.odata_rows(
            COST_CENTER_SERVICE, COST_CENTERS, {"$filter": f"ControllingArea eq {area}", "$expand": "to_Text"}
        ):
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
            start, end, row = current[0] if current else max(rows, key=lambda r: r[1])
            text = self._text(row)
            yield ChartRecord(
                kind="cost_center",
                code=code,
                name=text.get("CostCenterName") or text.get("CostCenterDescription") or code,
                active=bool(current) and row.get("IsBlkdForPrimaryCostsPosting") != "X",
                owner_unit=row.get("Department") or None,
                valid_from=start,
                valid_to=end,
                company=row.get("CompanyCode") or None,
                raw=row,
            )

    def _projects(self, since: dt.datetime | None) -> Iterator[ChartRecord]:
        params = {"$filter": f"LastChangeDateTime ge {timestamp_literal(since)}"} if since else {}
        for row in self.odata_rows(self.settings.project_service, PROJECTS, params):
            yield ChartRecord(
                kind="project",
                code=row["Project"],
                name=row.get("ProjectDescription") or row["Project"],
                active=row.get("ProcessingStatus") in ACTIVE_PROJECT_STATUSES,
                valid_from=parse_date(row.get("ProjectStartDate")),
                valid_to=parse_date(row.get("ProjectEndDate")),
                company=row.get("CompanyCode") or None,
                updated_at=parse_datetime(row.get("LastChangeDateTime")),
                raw=row,
            )
