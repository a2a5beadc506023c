"""Where each chart entity lives in an SAP installation: the ``entities`` extra of ``erp_sap``.

A standard S/4HANA installation has the defaults below; a system may lack an optional service (the
Enterprise Project API is not activated everywhere) or name it another way. Per chart kind the
connection's extras can switch the entity off or name another service (with its ``;v=`` version),
entity set or field, e.g. ``{"entities": {"project": {"enabled": false}}}``. A switched-off entity,
or one whose service the Gateway does not have, is an
:class:`~expense_sync.hooks.errors.EntityUnavailableError`: the chart sync skips and reports it and
leaves its canonical records alone. G/L accounts cannot be switched off.

The fields named here are the ones the hook's queries filter on and the key it groups by; the
mappings (``include/mappings/sap/*.yaml``) read the standard field names. Facts and sources:
``docs/vendors/sap.md`` (Chart)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from expense_sync.erp.model import ChartKind


class ChartEntity(BaseModel):
    """One chart entity: the service and entity set it is read from, and the fields the hook relies on."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    service: str = Field(min_length=1)  # with its version, e.g. ``API_ENTERPRISE_PROJECT_SRV;v=0002``
    entity_set: str = Field(min_length=1)
    key: str = Field(min_length=1)  # the code of a record
    changed: str | None = None  # the change time the incremental read filters on; None: always in full


GL = {"service": "API_GLACCOUNTINCHARTOFACCOUNTS_SRV", "entity_set": "A_GLAccountInChartOfAccounts"}
DEFAULTS: dict[ChartKind, dict[str, Any]] = {
    "gl_account": {**GL, "key": "GLAccount", "changed": "LastChangeDateTime"},
    "expense_item": {**GL, "key": "GLAccount", "changed": "LastChangeDateTime"},
    "cost_center": {"service": "API_COSTCENTER_SRV", "entity_set": "A_CostCenter", "key": "CostCenter"},
    "project": {
        "service": "API_ENTERPRISE_PROJECT_SRV;v=0002",
        "entity_set": "A_EnterpriseProject",
        "key": "Project",
        "changed": "LastChangeDateTime",
    },
}
REQUIRED: frozenset[ChartKind] = frozenset({"gl_account"})


def chart_entities(overrides: Any) -> dict[ChartKind, ChartEntity]:
    """The defaults with the connection's ``entities`` extra laid over them, kind by kind."""
    overrides = overrides or {}
    if not isinstance(overrides, dict):
        raise ValueError("entities must be an object keyed by chart kind")
    unknown = set(overrides) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown chart kinds {sorted(unknown)}; known: {sorted(DEFAULTS)}")
    found: dict[ChartKind, ChartEntity] = {}
    for kind, default in DEFAULTS.items():
        given = overrides.get(kind, {})
        if isinstance(given, ChartEntity):
            given = given.model_dump(exclude_unset=True)
        found[kind] = ChartEntity(**{**default, **given})
        if kind in REQUIRED and not found[kind].enabled:
            raise ValueError(f"{kind} cannot be switched off: the chart sync needs it")
    return found
