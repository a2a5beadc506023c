"""OData v2 query handling over in-memory rows: the system query options SAP Gateway honours.

* ``$filter``: comparisons ``eq ne gt ge lt le`` joined by ``and``/``or``/``not`` with parentheses;
  an unknown property, or one marked ``sap:filterable="false"``, is a 400;
* ``$select``, ``$expand`` (one level), ``$orderby``, ``$top``/``$skip``, ``$inlinecount=allpages``
  (``__count`` is a string), ``/$count``, single entities by key predicate;
* **server-driven paging**: at most ``page_cap`` rows per response; when more of the requested
  window (``$skip``…``$skip+$top``) remains, ``__next`` is the absolute request URL (same origin as
  the service root) with a ``$skiptoken``;
* analytical sets (``sap:semantics="aggregate"``) group by the selected dimensions and sum the
  selected measures, with a generated ``ID`` [I for the ID format];
* errors as ``{"error":{"code","message":{"lang","value"},"innererror":{…}}}``; the codes are [I]
  (``/IWBEP/CM_MGW_RT/020`` resource not found, ``/IWBEP/CM_MGW_RT/022`` invalid query option),
  except ``/IWFND/MED/170`` (no service found), seen in answers of real systems.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from fastapi import Request
from fastapi.responses import Response

from expense_sync_sandboxes.core import VendorHTTPError, json_response
from expense_sync_sandboxes.sap.edm import (
    EntitySet,
    LiteralError,
    Service,
    comparable,
    encode,
    key_literal,
    parse_literal,
)

Row = dict[str, Any]
Navigate = Callable[[EntitySet, str, Row], list[Row]]

NOT_FOUND = "/IWBEP/CM_MGW_RT/020"
BAD_QUERY = "/IWBEP/CM_MGW_RT/022"
NOT_ALLOWED = "/IWBEP/CM_MGW_RT/021"  # [I]
NO_SERVICE = "/IWFND/MED/170"  # no service of that name and version is activated


def error(status: int, code: str, message: str, service: str = "") -> VendorHTTPError:
    """The Gateway error response."""
    now = dt.datetime.now(dt.UTC)
    body = {
        "error": {
            "code": code,
            "message": {"lang": "en", "value": message},
            "innererror": {
                "application": {
                    "component_id": "",
                    "service_namespace": "/SAP/",
                    "service_id": service,
                    "service_version": "0001",
                },
                "transactionid": uuid.uuid4().hex.upper(),
                "timestamp": now.strftime("%Y%m%d%H%M%S.") + f"{now.microsecond:06d}0",
                "Error_Resolution": {
                    "SAP_Transaction": 'For backend administrators: use ADT feed reader "SAP Gateway Error Log"',
                    "SAP_Note": "See SAP Note 1797736 for error analysis "
                    "(https://service.sap.com/sap/support/notes/1797736)",
                },
                "errordetails": [
                    {"code": code, "message": message, "propertyref": "", "severity": "error", "target": ""}
                ],
            },
        }
    }
    return VendorHTTPError(json_response(body, status=status))


# -- $filter --------------------------------------------------------------------------------------
_TOKEN = re.compile(
    r"""\s*(?:
    (?P<str>'(?:[^']|'')*')
  | (?P<typed>(?:datetimeoffset|datetime|guid|time)'[^']*')
  | (?P<lp>\() | (?P<rp>\)) | (?P<comma>,) | (?P<eq>=)
  | (?P<num>-?\d+(?:\.\d+)?[mMdDfFlL]?(?![\w.]))
  | (?P<word>[A-Za-z_][\w/]*)
)""",
    re.X,
)
_OPS = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a is not None and b is not None and a > b,
    "ge": lambda a, b: a is not None and b is not None and a >= b,
    "lt": lambda a, b: a is not None and b is not None and a < b,
    "le": lambda a, b: a is not None and b is not None and a <= b,
}


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise ValueError(f"unexpected input at position {pos}: {text[pos : pos + 20]!r}")
        tokens.append((match.lastgroup, match.group(match.lastgroup)))
        pos = match.end()
    return tokens


class FilterParser:
    """Recursive descent over the tokens of a ``$filter``; yields a predicate on rows."""

    def __init__(self, text: str, es: EntitySet) -> None:
        self.tokens, self.pos, self.es = tokenize(text), 0, es

    def parse(self) -> Callable[[Row], bool]:
        if not self.tokens:
            raise ValueError("empty $filter")
        predicate = self.expr()
        if self.pos != len(self.tokens):
            raise ValueError(f"unexpected {self.tokens[self.pos][1]!r}")
        return predicate

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise ValueError("unexpected end of $filter")
        self.pos += 1
        return token

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token and token[0] == "word" and token[1] == word:
            self.pos += 1
            return True
        return False

    def expr(self):
        parts = [self.conjunction()]
        while self.keyword("or"):
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else (lambda row: any(p(row) for p in parts))

    def conjunction(self):
        parts = [self.unary()]
        while self.keyword("and"):
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else (lambda row: all(p(row) for p in parts))

    def unary(self):
        if self.keyword("not"):
            inner = self.unary()
            return lambda row: not inner(row)
        token = self.peek()
        if token and token[0] == "lp":
            self.take()
            inner = self.expr()
            if self.take()[0] != "rp":
                raise ValueError("missing ')'")
            return inner
        return self.comparison()

    def operand(self) -> Callable[[Row], Any]:
        kind, text = self.take()
        if kind == "word" and text not in ("true", "false", "null"):
            prop = self.es.prop(text)
            if prop is None:
                raise ValueError(f"Property '{text}' not found in type '{self.es.type_name}'")
            if not prop.filterable:
                raise ValueError(f"Property '{text}' is not filterable")
            return lambda row: comparable(row.get(text))
        if kind in ("str", "typed", "num", "word"):
            value = comparable(parse_literal(text))
            return lambda row: value
        raise ValueError(f"unexpected {text!r}")

    def comparison(self):
        left = self.operand()
        kind, op = self.take()
        if kind != "word" or op not in _OPS:
            raise ValueError(f"unknown operator {op!r}")
        right = self.operand()
        compare = _OPS[op]

        def predicate(row: Row) -> bool:
            try:
                return bool(compare(left(row), right(row)))
            except TypeError:  # e.g. a string compared with a date: no match, as Gateway converts
                return False

        return predicate


# -- query options --------------------------------------------------------------------------------
def _int_option(request: Request, name: str, service: Service) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if not raw.isdigit():
        raise error(400, BAD_QUERY, f"Invalid system query option {name}={raw}", service.name)
    return int(raw)


def _names(raw: str | None) -> list[str]:
    return [part.strip() for part in (raw or "").split(",") if part.strip()]


def wants_json(request: Request) -> bool:
    fmt = request.query_params.get("$format")
    if fmt:
        return fmt.lower() == "json"
    return "json" in request.headers.get("accept", "").lower()


class Query:
    """The system query options of one request against one entity set."""

    def __init__(self, request: Request, service: Service, es: EntitySet) -> None:
        self.request, self.service, self.es = request, service, es
        q = request.query_params
        try:
            self.predicate = FilterParser(q["$filter"], es).parse() if q.get("$filter") else None
        except (ValueError, LiteralError) as err:
            raise error(400, BAD_QUERY, f"Invalid filter expression: {err}", service.name) from None
        self.select = [n for n in _names(q.get("$select")) if n != "*"] or None
        for name in self.select or []:
            if es.prop(name) is None and es.nav(name) is None:
                raise error(400, BAD_QUERY, f"Property '{name}' not found in type '{es.type_name}'", service.name)
        self.expand = _names(q.get("$expand"))
        for name in self.expand:
            if es.nav(name) is None:
                raise error(
                    400, BAD_QUERY, f"Navigation property '{name}' not found in type '{es.type_name}'", service.name
                )
        self.order = []
        for part in _names(q.get("$orderby")):
            name, _, direction = part.partition(" ")
            if es.prop(name) is None:
                raise error(400, BAD_QUERY, f"Property '{name}' not found in type '{es.type_name}'", service.name)
            self.order.append((name, direction.strip().lower() == "desc"))
        self.top = _int_option(request, "$top", service)
        self.skip = _int_option(request, "$skip", service) or 0
        self.skiptoken = _int_option(request, "$skiptoken", service) or 0
        self.inlinecount = q.get("$inlinecount") == "allpages"

    def rows(self, rows: list[Row]) -> list[Row]:
        """Filtered, aggregated (analytical sets) and ordered rows: what ``__count`` counts."""
        found = [r for r in rows if self.predicate is None or self.predicate(r)]
        if self.es.aggregate:
            found = aggregate(self.es, found, self.select)
        else:
            found.sort(key=lambda r: tuple(_sort_key(r.get(k)) for k in self.es.keys))
        for name, desc in reversed(self.order):
            found.sort(key=lambda r, n=name: _sort_key(r.get(n)), reverse=desc)
        return found


def _sort_key(value: Any) -> tuple:
    value = comparable(value)
    return (value is not None, value if value is not None else 0)


def aggregate(es: EntitySet, rows: list[Row], select: list[str] | None) -> list[Row]:
    """Group by the selected dimensions, summing the selected measures (all of both without $select)."""
    props = [es.prop(n) for n in select] if select else list(es.props)
    dims = [p.name for p in props if p and not p.measure and p.name != "ID"]
    measures = [p.name for p in props if p and p.measure]
    groups: dict[tuple, Row] = {}
    for row in rows:
        key = tuple(row.get(d) for d in dims)
        group = groups.get(key)
        if group is None:
            group = groups[key] = {d: row.get(d) for d in dims} | {m: Decimal(0) for m in measures}
            group["ID"] = ".1~" + hashlib.sha1(repr(key).encode()).hexdigest()[:20].upper()
        for m in measures:
            group[m] += Decimal(row.get(m) or 0)
    return sorted(groups.values(), key=lambda g: tuple(_sort_key(g.get(d)) for d in dims))


# -- rendering ------------------------------------------------------------------------------------
def service_root(request: Request, service: Service) -> str:
    return f"{str(request.base_url).rstrip('/')}/sap/opu/odata/sap/{service.path}/"


def entity_uri(root: str, es: EntitySet, row: Row) -> str:
    if len(es.keys) == 1:
        predicate = key_literal(es.prop(es.keys[0]), row.get(es.keys[0]))
    else:
        predicate = ",".join(f"{k}={key_literal(es.prop(k), row.get(k))}" for k in es.keys)
    return f"{root}{es.name}({predicate})"


def render(
    service: Service,
    es: EntitySet,
    row: Row,
    root: str,
    *,
    select: list[str] | None = None,
    expand: list[str] = (),
    navigate: Navigate | None = None,
) -> Row:
    uri = entity_uri(root, es, row)
    out: Row = {"__metadata": {"id": uri, "uri": uri, "type": f"{service.name}.{es.type_name}"}}
    for prop in es.props:
        if select is None or prop.name in select or prop.name in es.keys and es.aggregate:
            out[prop.name] = encode(prop, row.get(prop.name))
    for nav in es.navs:
        if nav.name in expand and navigate is not None:
            target = service.entity_set(nav.target)
            related = [render(service, target, r, root) for r in navigate(es, nav.name, row)]
            out[nav.name] = {"results": related} if nav.many else (related[0] if related else None)
        elif select is None or nav.name in select:
            out[nav.name] = {"__deferred": {"uri": f"{uri}/{nav.name}"}}
    return out


def collection(query: Query, rows: list[Row], page_cap: int, navigate: Navigate) -> Response:
    """A collection response with ``__count`` and a same-origin ``__next`` past the page cap."""
    request, service, es = query.request, query.service, query.es
    found = query.rows(rows)
    window = found[query.skip :] if query.top is None else found[query.skip : query.skip + query.top]
    page = window[query.skiptoken : query.skiptoken + page_cap]
    root = service_root(request, service)
    body: dict[str, Any] = {
        "results": [
            render(service, es, r, root, select=query.select, expand=query.expand, navigate=navigate) for r in page
        ]
    }
    if query.inlinecount:
        body["__count"] = str(len(found))
    if query.skiptoken + page_cap < len(window):
        query_string = parse_qsl(request.url.query, keep_blank_values=True)
        params = [(k, v) for k, v in query_string if k != "$skiptoken"]
        params.append(("$skiptoken", str(query.skiptoken + page_cap)))
        body["__next"] = f"{root}{es.name}?{urlencode(params, quote_via=quote, safe='$,()')}"
    return json_response({"d": body})


def parse_key(text: str, es: EntitySet) -> dict[str, Any]:
    """``'x'`` or ``Name='x',Other=datetime'…'`` → values by key property."""
    tokens = [t for t in tokenize(text) if t[0] != "comma"]
    if len(tokens) == 1 and len(es.keys) == 1:
        return {es.keys[0]: parse_literal(tokens[0][1])}
    values = {}
    for i in range(0, len(tokens), 3):
        name, eq, literal = (tokens[i : i + 3] + [("", "")] * 3)[:3]
        if name[0] != "word" or eq[0] != "eq" or name[1] not in es.keys:
            raise ValueError(f"invalid key predicate {text!r}")
        values[name[1]] = parse_literal(literal[1])
    if set(values) != set(es.keys):
        raise ValueError(f"key predicate {text!r} does not name every key of {es.name}")
    return values
