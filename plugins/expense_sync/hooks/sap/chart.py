"""The chart of the ERP contract: G/L accounts, expense items, cost centers and projects from OData.

The records are SAP's entities; ``include/mappings/sap/*.yaml`` map them to the canonical chart.
Where each entity is read from (and which one an installation lacks): ``entities.py``. Which entity
sets, filters and [I] choices: ``docs/vendors/sap.md`` (Chart)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator

from expense_sync.erp.model import ChartKind
from expense_sync.hooks.contract import required
from expense_sync.hooks.errors import ContractError, EntityUnavailableError
from expense_sync.hooks.sap.client import SapClient
from expense_sync.hooks.sap.entities import ChartEntity
from expense_sync.hooks.sap.odata import either, literal, parse_date, timestamp_literal
from expense_sync.hooks.sap.services import GL_TEXTS

CHANGED_TEXTS_BATCH = 40  # accounts per $filter when re-reading accounts whose text changed


def with_text(row: dict, language: str) -> dict:
    """``row`` with ``_text``: its ``to_Text`` entry in ``language``, else English, else any (else None)."""
    texts = required(row, "to_Text.results", vendor="sap", endpoint="$expand=to_Text")  # [] when it has none
    by_language = {required(t, "Language", vendor="sap", endpoint="$expand=to_Text"): t for t in texts}
    return {**row, "_text": by_language.get(language) or by_language.get("EN") or (texts[0] if texts else None)}


class SapChart(SapClient):
    """``chart()`` and ``supports_changed_since()`` of the ERP contract."""

    def supports_changed_since(self, kind: ChartKind) -> bool:
        return self.entity(kind).changed is not None

    def entity(self, kind: ChartKind) -> ChartEntity:
        entities = self.settings.entities
        if kind not in entities:
            raise ValueError(f"unknown chart kind {kind!r}")
        return entities[kind]

    def chart(self, kind: ChartKind, since: dt.datetime | None = None) -> Iterator[dict]:
        """The entities of ``kind`` as SAP sends them, with the context keys the mappings read:
        ``_text`` (the text in the configured language) and, on cost centers, ``_current``.
        An entity switched off in the extras, or whose service the system lacks, raises
        :class:`EntityUnavailableError` (the latter on the first read)."""
        entity = self.entity(kind)
        if not entity.enabled:
            raise EntityUnavailableError(
                f"{kind} is switched off in the connection's extras (entities.{kind}.enabled)",
                vendor=self.vendor,
                endpoint=f"GET {entity.service}/{entity.entity_set}",
            )
        since = since if entity.changed else None
        if kind == "gl_account":
            return self._gl_accounts(entity, since)
        if kind == "expense_item":
            condition, groups = "GLAccountType eq 'P'", self.settings.expense_account_groups
            if groups:
                condition += f" and {either('GLAccountGroup', groups)}"
            return self._gl_accounts(entity, since, condition)
        if kind == "cost_center":
            return self._cost_centers(entity)
        return self._projects(entity, since)

    def _key(self, row: dict, entity: ChartEntity) -> str:
        return required(row, entity.key, vendor=self.vendor, endpoint=f"GET {entity.service}/{entity.entity_set}")

    def _gl_accounts(self, entity: ChartEntity, since: dt.datetime | None, condition: str = "") -> Iterator[dict]:
        """The accounts in scope; with ``since``, those changed or whose text changed since then."""
        chart = f"ChartOfAccounts eq {literal(self.settings.chart_of_accounts)}"
        scope = f"{chart} and {condition}" if condition else chart
        changed = f" and {entity.changed} ge {timestamp_literal(since)}" if since else ""
        seen: set[str] = set()
        params = {"$filter": scope + changed, "$expand": "to_Text"}
        for row in self.odata_rows(entity.service, entity.entity_set, params):
            seen.add(self._key(row, entity))
            yield with_text(row, self.settings.language)
        if since is None:
            return
        texts = {
            "$filter": f"{chart} and Language eq {literal(self.settings.language)}{changed}",
            "$select": entity.key,
        }
        text_rows = self.odata_rows(entity.service, GL_TEXTS, texts)
        renamed = sorted({self._key(t, entity) for t in text_rows} - seen)
        for i in range(0, len(renamed), CHANGED_TEXTS_BATCH):
            accounts = either(entity.key, renamed[i : i + CHANGED_TEXTS_BATCH])
            params = {"$filter": f"{scope} and {accounts}", "$expand": "to_Text"}
            for row in self.odata_rows(entity.service, entity.entity_set, params):
                yield with_text(row, self.settings.language)

    def _cost_centers(self, entity: ChartEntity) -> Iterator[dict]:
        """One record per cost center: its period valid today, else its latest one."""
        periods: dict[str, list[dict]] = defaultdict(list)
        area = literal(self.settings.controlling_area)
        params = {"$filter": f"ControllingArea eq {area}", "$expand": "to_Text"}
        endpoint = f"GET {entity.service}/{entity.entity_set}"
        for row in self.odata_rows(entity.service, entity.entity_set, params):
            periods[self._key(row, entity)].append(row)
        today = dt.date.today()
        for code in sorted(periods):
            rows = [(self._validity(r, endpoint), r) for r in periods[code]]
            current = [r for (start, end), r in rows if start <= today <= end]
            row = current[0] if current else max(rows, key=lambda r: r[0][1])[1]
            yield {**with_text(row, self.settings.language), "_current": bool(current)}

    def _validity(self, row: dict, endpoint: str) -> tuple[dt.date, dt.date]:
        """(start, end) of a cost center's validity period; both are on every standard record."""
        dates = []
        for name in ("ValidityStartDate", "ValidityEndDate"):
            value = parse_date(required(row, name, vendor=self.vendor, endpoint=endpoint))
            if value is None:
                raise ContractError(f"{name} is not an OData date", vendor=self.vendor, endpoint=endpoint)
            dates.append(value)
        return dates[0], dates[1]

    def _projects(self, entity: ChartEntity, since: dt.datetime | None) -> Iterator[dict]:
        params = {"$filter": f"{entity.changed} ge {timestamp_literal(since)}"} if since else {}
        for row in self.odata_rows(entity.service, entity.entity_set, params):
            self._key(row, entity)
            yield row
