"""The entity data model of the sandbox's OData v2 services, and how it goes on the wire.

A :class:`Service` holds entity sets; each set declares its properties (EDM type, length, ``sap:``
annotations), its keys and its navigation properties. The same declaration renders the ``$metadata``
document (EDMX XML, as SAP Gateway serves it and as ``pyodata`` needs it) and encodes values in the
OData v2 JSON format:

* ``Edm.DateTime`` → ``/Date(<ms>)/`` (dates at midnight UTC), ``Edm.DateTimeOffset`` →
  ``/Date(<ms>+0000)/``, ``Edm.Decimal`` → a string with the declared scale, ``Edm.Boolean`` →
  true/false;
* literals in ``$filter`` and key predicates: ``'text'`` (``''`` escapes a quote),
  ``datetime'2024-01-01T00:00:00'``, ``datetimeoffset'2024-01-01T00:00:00Z'``, ``guid'…'``, numbers,
  ``true``/``false``/``null``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from xml.etree import ElementTree as ET

NS_EDMX = "http://schemas.microsoft.com/ado/2007/06/edmx"
NS_EDM = "http://schemas.microsoft.com/ado/2008/09/edm"
NS_M = "http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"
NS_SAP = "http://www.sap.com/Protocols/SAPData"
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Prop:
    """One property of an entity type; ``sap`` holds ``sap:*`` annotations without the prefix."""

    name: str
    type: str = "Edm.String"
    max_length: int | None = None
    nullable: bool = True
    precision: int | None = None
    scale: int | None = None
    sap: dict[str, str] = field(default_factory=dict)

    @property
    def filterable(self) -> bool:
        return self.sap.get("filterable") != "false"

    @property
    def measure(self) -> bool:
        return self.sap.get("aggregation-role") == "measure"


@dataclass(frozen=True)
class Nav:
    """A navigation property to another entity set of the same service, joined on ``on``."""

    name: str
    target: str
    on: tuple[str, ...]
    many: bool = True


@dataclass
class EntitySet:
    name: str
    keys: tuple[str, ...]
    props: tuple[Prop, ...]
    navs: tuple[Nav, ...] = ()
    label: str = ""
    aggregate: bool = False  # sap:semantics="aggregate": $select decides the aggregation level

    def __post_init__(self) -> None:
        self._props = {p.name: p for p in self.props}
        self._navs = {n.name: n for n in self.navs}

    @property
    def type_name(self) -> str:
        return f"{self.name}Type"

    def prop(self, name: str) -> Prop | None:
        return self._props.get(name)

    def nav(self, name: str) -> Nav | None:
        return self._navs.get(name)


@dataclass
class Service:
    """An OData service: its technical name (the schema namespace) and the path it is served at."""

    name: str
    sets: tuple[EntitySet, ...]
    path: str = ""  # defaults to the name; e.g. "API_ENTERPRISE_PROJECT_SRV;v=0002"

    def __post_init__(self) -> None:
        self.path = self.path or self.name
        self._sets = {s.name: s for s in self.sets}

    def entity_set(self, name: str) -> EntitySet | None:
        return self._sets.get(name)

    def metadata_xml(self) -> bytes:
        return render_metadata(self)


# -- $metadata ------------------------------------------------------------------------------------
def _assoc_name(service: Service, es: EntitySet, nav: Nav) -> str:
    digest = hashlib.md5(f"{service.name}/{es.name}/{nav.name}".encode()).hexdigest().upper()
    return f"assoc_{digest}"


def render_metadata(service: Service) -> bytes:
    """The EDMX document of a service (the subset of SAP Gateway's output that clients read)."""
    ET.register_namespace("edmx", NS_EDMX)
    ET.register_namespace("m", NS_M)
    ET.register_namespace("sap", NS_SAP)
    ET.register_namespace("", NS_EDM)  # EDM elements unprefixed, as Gateway writes them
    root = ET.Element(f"{{{NS_EDMX}}}Edmx", {"Version": "1.0"})
    data = ET.SubElement(root, f"{{{NS_EDMX}}}DataServices", {f"{{{NS_M}}}DataServiceVersion": "2.0"})
    schema = ET.SubElement(
        data,
        f"{{{NS_EDM}}}Schema",
        {
            "Namespace": service.name,
            "{http://www.w3.org/XML/1998/namespace}lang": "en",
            f"{{{NS_SAP}}}schema-version": "1",
        },
    )
    links: list[tuple[str, EntitySet, Nav]] = []
    for es in service.sets:
        attrs = {"Name": es.type_name, f"{{{NS_SAP}}}content-version": "1"}
        if es.aggregate:
            attrs[f"{{{NS_SAP}}}semantics"] = "aggregate"
        if es.label:
            attrs[f"{{{NS_SAP}}}label"] = es.label
        etype = ET.SubElement(schema, f"{{{NS_EDM}}}EntityType", attrs)
        key = ET.SubElement(etype, f"{{{NS_EDM}}}Key")
        for name in es.keys:
            ET.SubElement(key, f"{{{NS_EDM}}}PropertyRef", {"Name": name})
        for p in es.props:
            attrs = {"Name": p.name, "Type": p.type}
            if not p.nullable:
                attrs["Nullable"] = "false"
            if p.max_length is not None:
                attrs["MaxLength"] = str(p.max_length)
            if p.precision is not None:
                attrs["Precision"] = str(p.precision)
            if p.scale is not None:
                attrs["Scale"] = str(p.scale)
            attrs.update({f"{{{NS_SAP}}}{k}": v for k, v in p.sap.items()})
            ET.SubElement(etype, f"{{{NS_EDM}}}Property", attrs)
        for nav in es.navs:
            assoc = _assoc_name(service, es, nav)
            links.append((assoc, es, nav))
            ET.SubElement(
                etype,
                f"{{{NS_EDM}}}NavigationProperty",
                {
                    "Name": nav.name,
                    "Relationship": f"{service.name}.{assoc}",
                    "FromRole": f"FromRole_{assoc}",
                    "ToRole": f"ToRole_{assoc}",
                },
            )
    for assoc, es, nav in links:
        target = service.entity_set(nav.target)
        node = ET.SubElement(schema, f"{{{NS_EDM}}}Association", {"Name": assoc, f"{{{NS_SAP}}}content-version": "1"})
        ET.SubElement(
            node,
            f"{{{NS_EDM}}}End",
            {"Type": f"{service.name}.{es.type_name}", "Multiplicity": "1", "Role": f"FromRole_{assoc}"},
        )
        ET.SubElement(
            node,
            f"{{{NS_EDM}}}End",
            {
                "Type": f"{service.name}.{target.type_name}",
                "Multiplicity": "*" if nav.many else "0..1",
                "Role": f"ToRole_{assoc}",
            },
        )
    container = ET.SubElement(
        schema,
        f"{{{NS_EDM}}}EntityContainer",
        {
            "Name": f"{service.name}_Entities",
            f"{{{NS_M}}}IsDefaultEntityContainer": "true",
            f"{{{NS_SAP}}}supported-formats": "atom json xlsx",
        },
    )
    for es in service.sets:
        ET.SubElement(
            container,
            f"{{{NS_EDM}}}EntitySet",
            {
                "Name": es.name,
                "EntityType": f"{service.name}.{es.type_name}",
                f"{{{NS_SAP}}}creatable": "false",
                f"{{{NS_SAP}}}updatable": "false",
                f"{{{NS_SAP}}}deletable": "false",
                f"{{{NS_SAP}}}content-version": "1",
            },
        )
    for assoc, es, nav in links:
        aset = ET.SubElement(
            container,
            f"{{{NS_EDM}}}AssociationSet",
            {
                "Name": assoc,
                "Association": f"{service.name}.{assoc}",
                f"{{{NS_SAP}}}creatable": "false",
                f"{{{NS_SAP}}}updatable": "false",
                f"{{{NS_SAP}}}deletable": "false",
                f"{{{NS_SAP}}}content-version": "1",
            },
        )
        ET.SubElement(aset, f"{{{NS_EDM}}}End", {"EntitySet": es.name, "Role": f"FromRole_{assoc}"})
        ET.SubElement(aset, f"{{{NS_EDM}}}End", {"EntitySet": nav.target, "Role": f"ToRole_{assoc}"})
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


# -- JSON values ----------------------------------------------------------------------------------
def _millis(value: dt.date | dt.datetime) -> int:
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return (value - EPOCH) // dt.timedelta(milliseconds=1)


def encode(prop: Prop, value: Any) -> Any:
    """A Python value in the OData v2 JSON representation of ``prop``'s type."""
    if value is None:
        return None
    if prop.type == "Edm.DateTime":
        return f"/Date({_millis(value)})/"
    if prop.type == "Edm.DateTimeOffset":
        return f"/Date({_millis(value)}+0000)/"
    if prop.type == "Edm.Decimal":
        return f"{Decimal(value):.{prop.scale or 0}f}"
    if prop.type == "Edm.Boolean":
        return bool(value)
    return str(value)


def key_literal(prop: Prop, value: Any) -> str:
    """A value as a literal in a key predicate or ``$filter``."""
    if prop.type == "Edm.DateTime":
        return f"datetime'{comparable(value).strftime('%Y-%m-%dT%H:%M:%S')}'"
    if prop.type == "Edm.Guid":
        return f"guid'{value}'"
    return "'" + str(value).replace("'", "''") + "'"


# -- literals -------------------------------------------------------------------------------------
class LiteralError(ValueError):
    pass


_TYPED = re.compile(r"^(datetime|datetimeoffset|guid|time)'(.*)'$", re.S)


def parse_literal(text: str) -> Any:
    """The Python value of a URI literal (see the module docstring)."""
    text = text.strip()
    if text.startswith("'") and text.endswith("'") and len(text) >= 2:
        return text[1:-1].replace("''", "'")
    typed = _TYPED.match(text)
    if typed:
        kind, body = typed.groups()
        if kind == "guid":
            return body.lower()
        try:
            value = dt.datetime.fromisoformat(body.replace("Z", "+00:00"))
        except ValueError:
            raise LiteralError(f"invalid {kind} literal {text!r}") from None
        if kind == "datetimeoffset" and value.tzinfo is None:
            raise LiteralError(f"datetimeoffset literal without offset: {text!r}")
        return value
    if text in ("true", "false"):
        return text == "true"
    if text == "null":
        return None
    try:
        return Decimal(text.rstrip("mMdDfFlL"))
    except InvalidOperation:
        raise LiteralError(f"invalid literal {text!r}") from None


def comparable(value: Any) -> Any:
    """Normalize dates and datetimes to aware UTC datetimes so that they compare with each other."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Decimal(str(value))
    return value
