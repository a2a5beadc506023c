"""Field mappings between a vendor's records and the canonical model, kept as data.

One YAML file per vendor and entity under ``include/mappings/<system>/<entity>.yaml``::

    system: dingtalk
    entity: employee
    direction: inbound            # vendor -> canonical (outbound: canonical -> vendor)
    key: userid                   # where the record's id is (inbound: a vendor field path)
    fields:
      employee_no: {from: job_number, transform: strip}
      org_unit_key: {from: dept_id_list, transform: [first, str]}
      active: {const: true}

A field may end with a value map (``values: {流动资产: asset, …}``): the value after the transforms
is looked up in it, and a value the map does not name becomes ``None`` (so a check can catch it).

A spec is validated when it loads: unknown keys, unknown transforms and (inbound) fields the
canonical staging table does not have are errors. Anything needing logic is a named transform
below, never an expression in YAML.

A boolean that holds when several fields have given values is ``all_equal`` instead of ``from``
(``active: {all_equal: {FForbidStatus: "A", FDocumentStatus: "C"}}``: each key a field path, each
value compared as is). The transform ``iso_date`` reads an ISO 8601 date or date-time text as a date.
Yonyou's chart adds two named transforms: ``date_prefix`` (the ISO date a text starts with) and
``yonbip_enabled`` (YonBIP's ``enable`` code as a boolean).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from expense_sync.hooks.paginate import dig
from expense_sync.settings import MAPPINGS_DIR

CHINA = dt.timezone(dt.timedelta(hours=8))

# The canonical fields each inbound entity lands in staging (see V0001), and the required ones.
INBOUND_FIELDS: dict[str, tuple[set[str], set[str]]] = {
    "org_unit": ({"code", "name", "parent_key", "sort_order"}, {"code", "name", "parent_key"}),
    "employee": (
        {"employee_no", "name", "email", "mobile", "org_unit_key", "position_title", "hired_on", "active"},
        {"employee_no", "name", "org_unit_key", "active"},
    ),
    # the ERP chart (V0100); the ERP hooks hand over canonical ChartRecords, mapped field by field
    "gl_account": (
        {"code", "name", "parent_code", "postable", "account_type", "account_class", "active", "company"}
        | {"source_updated_at"},
        {"code", "name", "postable", "account_class", "active"},
    ),
    "expense_category": (
        {"code", "name", "parent_code", "gl_account_code", "active", "company", "source_updated_at"},
        {"code", "name", "gl_account_code", "active"},
    ),
    "cost_center": (
        {"code", "name", "parent_code", "owner_unit", "company", "valid_from", "valid_to", "active"}
        | {"source_updated_at"},
        {"code", "name", "active"},
    ),
    "project": (
        {"code", "name", "parent_code", "company", "valid_from", "valid_to", "active", "source_updated_at"},
        {"code", "name", "active"},
    ),
    # 合思's side of the chart
    "fee_type": ({"code", "name", "parent_key", "active"}, {"code", "name", "active"}),
    "dimension_item": (
        {"dimension_id", "code", "name", "parent_key", "active", "remote_updated_at"},
        {"dimension_id", "code", "name", "active", "remote_updated_at"},
    ),
}


class MappingError(ValueError):
    """A record could not be mapped (it is landed with the error and quarantined)."""


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise MappingError(f"expected text, got a boolean {value!r}")
    return str(value)


def _strip(value: Any) -> str | None:
    text = _text(value)
    text = text.strip() if text is not None else None
    return text or None


def _lower(value: Any) -> str | None:
    text = _strip(value)
    return text.lower() if text else text


def _first(value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, list):
        raise MappingError(f"expected a list, got {type(value).__name__}")
    return value[0] if value else None


def _int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise MappingError(f"expected an integer, got {value!r}") from None


def _bool(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if str(value).lower() in ("1", "true"):
        return True
    if str(value).lower() in ("0", "false"):
        return False
    raise MappingError(f"expected a boolean, got {value!r}")


def _epoch_ms_date(value: Any) -> dt.date | None:
    if value in (None, "", 0):
        return None
    try:
        return dt.datetime.fromtimestamp(int(value) / 1000, CHINA).date()
    except (TypeError, ValueError, OverflowError, OSError):
        raise MappingError(f"expected epoch milliseconds, got {value!r}") from None


def _china_time(value: Any) -> dt.datetime | None:
    """合思's ``"yyyy-MM-dd HH:mm:ss"`` (China time) as an aware datetime."""
    if value in (None, ""):
        return None
    try:
        return dt.datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA)
    except ValueError:
        raise MappingError(f"expected 'yyyy-MM-dd HH:mm:ss', got {value!r}") from None


def _wecom_employed(value: Any) -> bool:
    """WeCom ``status``: 1 active, 4 not yet activated (still employed); 2 disabled, 5 left."""
    status = _int(value)
    if status not in (1, 2, 4, 5):
        raise MappingError(f"unknown WeCom member status {value!r}")
    return status in (1, 4)


def _nonzero(value: Any) -> Any:
    """``0`` means "none" for parent ids (WeCom's root has ``parentid: 0``)."""
    return None if value in (0, "0", "", None) else value


def _as_list(value: Any) -> list:
    return [] if value is None else [value]


TRANSFORMS: dict[str, Callable[[Any], Any]] = {
    "str": _text,
    "strip": _strip,
    "lower": _lower,
    "first": _first,
    "int": _int,
    "bool": _bool,
    "epoch_ms_date": _epoch_ms_date,
    "china_time": _china_time,
    "wecom_employed": _wecom_employed,
    "nonzero": _nonzero,
    "as_list": _as_list,
}


# -- all_equal and iso_date (several fields decide one boolean; ISO date texts) --------------------
def _iso_date(value: Any) -> dt.date | None:
    """``2024-03-01`` or ``2024-03-01T00:00:00`` (e.g. K3Cloud's FEffectDate) as a date."""
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value.date() if isinstance(value, dt.datetime) else value
    try:
        return dt.datetime.fromisoformat(str(value)).date()
    except ValueError:
        raise MappingError(f"expected an ISO 8601 date, got {value!r}") from None


TRANSFORMS["iso_date"] = _iso_date


def _all_equal(record: dict[str, Any], expected: dict[str, Any]) -> bool:
    """True when every field path of ``expected`` holds its value in ``record``."""
    return all(dig(record, path) == value for path, value in expected.items())


# -- end of all_equal and iso_date -----------------------------------------------------------------
# -- Yonyou (YonBIP) chart transforms ------------------------------------------------------------------
def _date_prefix(value: Any) -> dt.date | None:
    """The ISO date a text starts with (``"2025-01-01 00:00:00"`` → 2025-01-01); ``None`` when empty or
    not a date (validity dates are optional, a malformed one is read as none)."""
    if not value:
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _yonbip_enabled(value: Any) -> bool:
    """YonBIP ``enable``: ``2`` is disabled; ``1`` (enabled), ``0`` (not yet enabled) and none are active."""
    return str(1 if value is None else value) != "2"


TRANSFORMS |= {"date_prefix": _date_prefix, "yonbip_enabled": _yonbip_enabled}
# -- end of Yonyou (YonBIP) chart transforms ------------------------------------------------------------


class FieldSpec(BaseModel):
    """Where one target field comes from: a source path or a constant, then transforms in order."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    source: str | None = Field(default=None, alias="from")
    const: Any = None
    transform: list[str] = Field(default_factory=list)
    values: dict[str, Any] | None = None  # a value map applied last; unnamed values become None
    omit_empty: bool = False  # outbound: leave the field out instead of sending an empty value
    all_equal: dict[str, Any] | None = Field(default=None, min_length=1)  # instead of from: see _all_equal

    @field_validator("transform", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("transform")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = [t for t in value if t not in TRANSFORMS]
        if unknown:
            raise ValueError(f"unknown transform(s) {unknown}; known: {', '.join(sorted(TRANSFORMS))}")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> FieldSpec:
        if sum(given is not None for given in (self.source, self.const, self.all_equal)) != 1:
            raise ValueError("give exactly one of 'from', 'const' and 'all_equal'")
        return self

    def value(self, record: dict[str, Any]) -> Any:
        value = self.const if self.source is None else dig(record, self.source)
        if self.all_equal is not None:
            value = _all_equal(record, self.all_equal)
        for name in self.transform:
            value = TRANSFORMS[name](value)
        if self.values is not None and value is not None:
            value = self.values.get(str(value))
        return value


class MappingSpec(BaseModel):
    """The mapping of one entity between one system and the canonical model."""

    model_config = ConfigDict(extra="forbid")

    system: str
    entity: str
    direction: Literal["inbound", "outbound"]
    key: str
    description: str = ""
    fields: dict[str, FieldSpec]

    @model_validator(mode="after")
    def _fits_staging(self) -> MappingSpec:
        if self.direction == "inbound":
            if self.entity not in INBOUND_FIELDS:
                raise ValueError(f"no inbound staging table for entity {self.entity!r}")
            allowed, required = INBOUND_FIELDS[self.entity]
            unknown, missing = set(self.fields) - allowed, required - set(self.fields)
            if unknown:
                raise ValueError(f"fields not in staging.{self.entity}: {sorted(unknown)}")
            if missing:
                raise ValueError(f"required fields missing: {sorted(missing)}")
        return self

    def apply(self, record: dict[str, Any]) -> tuple[str, dict[str, Any], str | None]:
        """Map one inbound vendor record: its key, the canonical values, and an error if any."""
        key = _text(dig(record, self.key))
        if not key:
            raise MappingError(f"record has no {self.key!r}")
        values: dict[str, Any] = {}
        errors = []
        for name, spec in self.fields.items():
            try:
                values[name] = spec.value(record)
            except MappingError as err:
                values[name] = None
                errors.append(f"{name}: {err}")
        return key, values, "; ".join(errors) or None

    def render(self, row: dict[str, Any]) -> dict[str, Any]:
        """Build an outbound payload from a canonical row (dotted target names nest)."""
        payload: dict[str, Any] = {}
        for name, spec in self.fields.items():
            value = spec.value(row)
            if spec.omit_empty and value in (None, "", [], {}):
                continue
            node = payload
            *parents, leaf = name.split(".")
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = value
        return payload


def load_file(path: Path) -> MappingSpec:
    try:
        spec = MappingSpec(**(yaml.safe_load(path.read_text(encoding="utf-8")) or {}))
    except (ValidationError, yaml.YAMLError, TypeError) as err:
        raise ValueError(f"{path}: {err}") from None
    expected = (path.parent.name, path.stem)
    if (spec.system, spec.entity) != expected:
        raise ValueError(f"{path}: says {spec.system}/{spec.entity}, but its path says {'/'.join(expected)}")
    return spec


@cache
def load(system: str, entity: str, folder: Path = MAPPINGS_DIR) -> MappingSpec:
    """The mapping of ``entity`` for ``system`` (``include/mappings/<system>/<entity>.yaml``)."""
    return load_file(folder / system / f"{entity}.yaml")


def load_all(folder: Path = MAPPINGS_DIR) -> list[MappingSpec]:
    return [load_file(path) for path in sorted(folder.glob("*/*.yaml"))]
