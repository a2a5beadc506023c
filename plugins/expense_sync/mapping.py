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

A field may instead come from several sources or from conditions (see "Several sources,
conditions" at the end of this module)::

      name: {first_of: [{from: LongText}, {from: ShortText}, {from: Code}], transform: strip}
      source_updated_at: {latest_of: [{from: Changed, transform: odata_datetime}, {from: text.Changed, …}]}
      active: {when: {Status: ["00", "10"]}, unless: {Blocked: [true]}}

A spec is validated when it loads: unknown keys, unknown transforms and (inbound) fields the
canonical staging table does not have are errors. Anything needing logic is a named transform
below, never an expression in YAML.

The transform ``iso_date`` reads an ISO 8601 date or date-time text as a date.
Yonyou's chart adds two named transforms: ``date_prefix`` (the ISO date a text starts with) and
``yonbip_enabled`` (YonBIP's ``enable`` code as a boolean).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from functools import cache, cached_property
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from expense_sync.hooks.paginate import dig
from expense_sync.settings import MAPPINGS_DIR

CHINA = dt.timezone(dt.timedelta(hours=8))

# The canonical fields each inbound entity lands in staging (see V0001), and the required ones.
INBOUND_FIELDS: dict[str, tuple[set[str], set[str]]] = {
    "org_unit": ({"code", "name", "parent_key", "sort_order", "manager_key"}, {"code", "name", "parent_key"}),
    "employee": (
        {"employee_no", "name", "email", "mobile", "org_unit_key", "position_title", "hired_on", "active"}
        | {"manager_key"},
        {"employee_no", "name", "org_unit_key", "active"},
    ),
    # the ERP chart (V0100); the ERP hooks hand over their own records, include/mappings/<erp>/ maps them
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


# -- iso_date (ISO date texts) ---------------------------------------------------------------------
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


# -- end of iso_date --------------------------------------------------------------------------------
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
    # derived sources (see "Several sources, conditions" below)
    first_of: list[FieldSpec] | None = None
    latest_of: list[FieldSpec] | None = None
    when: dict[str, list[Any]] | None = None
    unless: dict[str, list[Any]] | None = None

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
        if sum(given is not None for given in (self.source, self.const, *derived_sources(self))) != 1:
            raise ValueError("give exactly one of 'from', 'const', 'first_of', 'latest_of' and 'when'/'unless'")
        return self

    @cached_property
    def steps(self) -> tuple[bool, tuple[Callable[[Any], Any], ...]]:
        """Whether the value is derived, and the transforms' functions: looked up once, not per record."""
        return any(given is not None for given in derived_sources(self)), tuple(TRANSFORMS[n] for n in self.transform)

    @cached_property
    def reader(self) -> Callable[[dict[str, Any]], Any]:
        """:meth:`value` for a record known to be a dict: a field read from one key through at most two
        transforms (as most are) is one closure, without the general path's checks per record."""
        derived, transforms = self.steps
        source = self.source
        if derived or self.values is not None or source is None or "." in source or len(transforms) > 2:
            return self.value
        if not transforms:
            return lambda record: record.get(source)
        if len(transforms) == 1:
            (one,) = transforms
            return lambda record: one(record.get(source))
        first, second = transforms
        return lambda record: second(first(record.get(source)))

    def value(self, record: dict[str, Any]) -> Any:
        derived, transforms = self.steps
        value = self.const if self.source is None else dig(record, self.source)
        if derived:
            value = derived_value(self, record)
        for transform in transforms:
            value = transform(value)
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

    @cached_property
    def readers(self) -> tuple[tuple[str, Callable[[dict[str, Any]], Any]], ...]:
        return tuple((name, spec.reader) for name, spec in self.fields.items())

    def apply(self, record: dict[str, Any]) -> tuple[str, dict[str, Any], str | None]:
        """Map one inbound vendor record: its key, the canonical values, and an error if any."""
        key = _text(dig(record, self.key))
        if not key:  # a record that is not a dict has no key either
            raise MappingError(f"record has no {self.key!r}")
        values: dict[str, Any] = {}
        errors = []
        for name, read in self.readers:
            try:
                values[name] = read(record)
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


# -- Several sources, conditions -------------------------------------------------------------------
# ``first_of``: the first of the listed field specs whose value (after its own transforms) is
# neither null nor ""; ``latest_of``: the greatest of their values that are not null (null if none).
# ``when``/``unless``: a boolean, true when every field named under ``when`` has one of its listed
# values and no field named under ``unless`` has one of its listed values (a missing field is null).
# Either replaces ``from``/``const``; the field's own transforms and value map apply to the result.


def derived_sources(spec: FieldSpec) -> tuple[Any, Any, Any]:
    """The derived sources a field spec gives (``when`` and ``unless`` count as one)."""
    conditions = None if spec.when is None and spec.unless is None else (spec.when, spec.unless)
    return spec.first_of, spec.latest_of, conditions


def derived_value(spec: FieldSpec, record: dict[str, Any]) -> Any:
    if spec.first_of is not None:
        return next((v for v in (s.value(record) for s in spec.first_of) if v not in (None, "")), None)
    if spec.latest_of is not None:
        found = [v for v in (s.value(record) for s in spec.latest_of) if v is not None]
        try:
            return max(found) if found else None
        except TypeError:
            raise MappingError(f"cannot compare {found!r}") from None
    when, unless = spec.when or {}, spec.unless or {}
    return all(dig(record, path) in values for path, values in when.items()) and not any(
        dig(record, path) in values for path, values in unless.items()
    )


def _odata_datetime(value: Any) -> dt.datetime | None:
    """OData v2 JSON ``/Date(ms)/`` (Edm.DateTime) or ``/Date(ms+0000)/`` (Edm.DateTimeOffset): the
    milliseconds count from the epoch in UTC either way, so an aware UTC datetime."""
    if value in (None, ""):
        return None
    match = _ODATA_DATE.match(value) if isinstance(value, str) else None
    if not match:
        raise MappingError(f"expected /Date(ms)/, got {value!r}")
    return _EPOCH + dt.timedelta(milliseconds=int(match.group(1)))


def _odata_date(value: Any) -> dt.date | None:
    stamp = _odata_datetime(value)
    return stamp.date() if stamp else None


_ODATA_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
TRANSFORMS.update(odata_datetime=_odata_datetime, odata_date=_odata_date)
