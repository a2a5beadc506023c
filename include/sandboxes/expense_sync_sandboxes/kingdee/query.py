"""ExecuteBillQuery over in-memory rows: field keys, ``FilterString``, ``OrderString``, paging.

A row is a dict with the form's field keys (as K3Cloud spells them). Basedata fields hold the
referenced record itself, so ``FParentID.FNumber`` follows the reference and a bare ``FParentID``
answers its internal id, as K3Cloud does. Field keys are case-insensitive (``FNUMBER`` = ``FNumber``).

``FilterString`` is the SQL-like subset clients use: ``=  <>  !=  >  >=  <  <=``, ``[NOT] LIKE``,
``[NOT] IN (…)``, ``IS [NOT] NULL``, ``AND``/``OR``/``NOT`` and parentheses; string literals in single
quotes (``''`` escapes a quote). Text compares case-insensitively (SQL Server's default ``CI``
collation); a date field compares with ``'yyyy-MM-dd[ HH:mm:ss]'`` literals.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

Row = Mapping[str, Any]
Predicate = Callable[[Row], bool]


class QueryError(ValueError):
    """A query K3Cloud would refuse (unknown field, bad filter)."""


# -- field access ---------------------------------------------------------------------------------
def _child(node: Mapping[str, Any], part: str) -> tuple[bool, Any]:
    try:  # the key as spelled: one lookup (an EntryRow answers a field it hides with KeyError)
        return True, node[part]
    except KeyError:
        pass
    lower = part.lower()
    for key, value in node.items():
        if key.lower() == lower:
            return True, value
    return False, None


@functools.cache
def _path(key: str) -> tuple[str, ...]:
    return tuple(key.split("."))


def field_value(row: Row, key: str) -> Any:
    """The value of ``key`` (``FNumber``, ``FParentID.FNumber``, ``FDetailID.FFLEX5.FNumber``) in ``row``."""
    first, *rest = _path(key)
    found, node = _child(row, first)
    if not found:
        raise QueryError(f"字段“{key}”不存在")
    for part in rest:
        if node is None:
            return None
        if not isinstance(node, dict):
            raise QueryError(f"字段“{key}”不存在")
        is_record = "Id" in node
        found, node = _child(node, part)
        if not found and is_record:
            raise QueryError(f"字段“{key}”不存在")
    if isinstance(node, dict):  # a basedata reference without a sub-field: its internal id
        return node.get("Id")
    return node


def accessor(key: str) -> Callable[[Row], Any]:
    """:func:`field_value` of ``key``, for many rows: a key spelled as the rows spell it is a lookup per
    part; anything else (another spelling, a missing field, a reference to nothing) takes the general path."""
    first, *rest = _path(key)

    def value(row: Row) -> Any:
        try:
            node = row[first]
            for part in rest:
                if node is None:
                    return None
                node = node[part]
        except (KeyError, TypeError):
            return field_value(row, key)
        return node.get("Id") if isinstance(node, dict) else node

    return value


def render(value: Any) -> Any:
    """A field value as ExecuteBillQuery puts it into a JSON row."""
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="milliseconds") if value.microsecond else value.isoformat()
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time()).isoformat()
    return value


# -- FilterString ---------------------------------------------------------------------------------
_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)(?![\w.])|(?P<op><>|!=|>=|<=|=|>|<)"
    r"|(?P<punct>[(),])|(?P<word>[A-Za-z_][\w.]*))"
)
_KEYWORDS = {"AND", "OR", "NOT", "LIKE", "IN", "IS", "NULL"}


def _tokens(text: str) -> list[tuple[str, Any]]:
    out, pos, text = [], 0, text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise QueryError(f"过滤条件语法错误：{text[pos : pos + 20]}")
        pos = match.end()
        kind = match.lastgroup
        value = match.group(kind)
        if kind == "str":
            out.append(("lit", value[1:-1].replace("''", "'")))
        elif kind == "num":
            out.append(("lit", Decimal(value)))
        elif kind == "word" and value.upper() in _KEYWORDS:
            out.append(("kw", value.upper()))
        else:
            out.append((kind, value))
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.pos = 0

    def peek(self) -> tuple[str, Any] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, kind: str, value: Any = None) -> Any:
        token = self.peek()
        if token is None or token[0] != kind or (value is not None and token[1] != value):
            raise QueryError(f"过滤条件语法错误：缺少 {value or kind}")
        self.pos += 1
        return token[1]

    def accept(self, kind: str, value: Any) -> bool:
        if self.peek() == (kind, value):
            self.pos += 1
            return True
        return False

    def parse(self) -> Predicate:
        predicate = self.disjunction()
        if self.peek() is not None:
            raise QueryError(f"过滤条件语法错误：多余的 {self.peek()[1]}")
        return predicate

    def disjunction(self) -> Predicate:
        parts = [self.conjunction()]
        while self.accept("kw", "OR"):
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else (lambda row: any(p(row) for p in parts))

    def conjunction(self) -> Predicate:
        parts = [self.factor()]
        while self.accept("kw", "AND"):
            parts.append(self.factor())
        return parts[0] if len(parts) == 1 else (lambda row: all(p(row) for p in parts))

    def factor(self) -> Predicate:
        if self.accept("kw", "NOT"):
            inner = self.factor()
            return lambda row: not inner(row)
        if self.accept("punct", "("):
            inner = self.disjunction()
            self.take("punct", ")")
            return inner
        return self.comparison()

    def comparison(self) -> Predicate:
        key = self.take("word")
        if self.accept("kw", "IS"):
            negate = self.accept("kw", "NOT")
            self.take("kw", "NULL")
            return lambda row: (field_value(row, key) is None) != negate
        negate = self.accept("kw", "NOT")
        if self.accept("kw", "LIKE"):
            pattern = _like(self.take("lit"))
            return lambda row: _text(field_value(row, key), pattern) != negate
        if self.accept("kw", "IN"):
            self.take("punct", "(")
            values = [self.take("lit")]
            while self.accept("punct", ","):
                values.append(self.take("lit"))
            self.take("punct", ")")
            return lambda row: any(_compare(field_value(row, key), "=", v) for v in values) != negate
        if negate:
            raise QueryError("过滤条件语法错误：NOT 之后应为 LIKE 或 IN")
        op = self.take("op")
        literal = self.take("lit")
        return lambda row: _compare(field_value(row, key), op, literal)


def _like(pattern: str) -> re.Pattern[str]:
    parts = (".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def _text(value: Any, pattern: re.Pattern[str]) -> bool:
    return value is not None and pattern.fullmatch(str(render(value))) is not None


def _coerce(value: Any, literal: Any) -> tuple[Any, Any]:
    """Both sides of a comparison in the type of the field."""
    if isinstance(value, bool):
        return value, str(literal).lower() in ("1", "true")
    if isinstance(value, int | Decimal):
        try:
            return Decimal(value), Decimal(str(literal))
        except InvalidOperation:
            raise QueryError(f"无法将“{literal}”转换为数值") from None
    if isinstance(value, dt.datetime | dt.date):
        moment = value if isinstance(value, dt.datetime) else dt.datetime.combine(value, dt.time())
        try:
            return moment, dt.datetime.fromisoformat(str(literal).strip())
        except ValueError:
            raise QueryError(f"无法将“{literal}”转换为日期") from None
    return str(value).casefold(), str(literal).casefold()


def _compare(value: Any, op: str, literal: Any) -> bool:
    if value is None:
        return False
    left, right = _coerce(value, literal)
    if op == "=":
        return left == right
    if op in ("<>", "!="):
        return left != right
    if op == ">":
        return left > right
    if op == ">=":
        return left >= right
    if op == "<":
        return left < right
    return left <= right


def compile_filter(text: str | None) -> Predicate:
    """The predicate of a ``FilterString`` (empty: every row)."""
    if not text or not text.strip():
        return lambda row: True
    return _Parser(text).parse()


# -- the query ------------------------------------------------------------------------------------
def _sort_key(key: str) -> Callable[[Row], tuple]:
    def sort_key(row: Row) -> tuple:
        value = field_value(row, key)
        if isinstance(value, str):
            value = value.casefold()
        return (value is not None, value if value is not None else 0)

    return sort_key


def order(rows: list[Row], order_string: str | None) -> list[Row]:
    """Rows sorted by ``OrderString`` (``"FNumber ASC, FModifyDate DESC"``)."""
    terms = [t.split() for t in (order_string or "").split(",") if t.strip()]
    for term in reversed(terms):
        if len(term) > 2 or (len(term) == 2 and term[1].upper() not in ("ASC", "DESC")):
            raise QueryError(f"排序条件语法错误：{' '.join(term)}")
        rows.sort(key=_sort_key(term[0]), reverse=len(term) == 2 and term[1].upper() == "DESC")
    return rows


def prepare(fields: Iterable[str], query: dict[str, Any], max_limit: int) -> tuple[list[str], int, int, int]:
    """The checked ``FieldKeys``, ``StartRow``, ``Limit`` (0 or none: the server's cap; a larger one is cut
    to it silently) and ``TopRowCount`` of a query over a form with ``fields``."""
    keys = [k.strip() for k in str(query.get("FieldKeys") or "").split(",") if k.strip()]
    if not keys:
        raise QueryError("FieldKeys 不能为空")
    known = {f.lower() for f in fields}
    for key in keys:
        if key.split(".")[0].lower() not in known:
            raise QueryError(f"字段“{key}”不存在")
    try:
        start = max(0, int(query.get("StartRow") or 0))
        limit = int(query.get("Limit") or 0)
        top = int(query.get("TopRowCount") or 0)
    except (TypeError, ValueError):
        raise QueryError("StartRow/Limit/TopRowCount 必须是整数") from None
    return keys, start, max_limit if limit <= 0 else min(limit, max_limit), top


def select(rows: Iterable[Row], query: dict[str, Any], top: int) -> list[Row]:
    """The rows ``FilterString`` keeps, in ``OrderString`` order, cut to ``top`` (0: all)."""
    predicate = compile_filter(query.get("FilterString"))
    selected = order([row for row in rows if predicate(row)], query.get("OrderString"))
    return selected[:top] if top > 0 else selected


def page(selected: list[Row], keys: list[str], start: int, limit: int) -> list[list[Any]]:
    """The rows ``start`` to ``start + limit`` of a selection, as ExecuteBillQuery answers them."""
    fields = [accessor(key) for key in keys]
    return [[render(field(row)) for field in fields] for row in selected[start : start + limit]]


def execute(rows: Iterable[Row], fields: Iterable[str], query: dict[str, Any], max_limit: int) -> list[list[Any]]:
    """Run one ExecuteBillQuery over ``rows`` of a form with ``fields``: filter, order, ``TopRowCount``,
    ``StartRow``/``Limit``. ``Limit`` 0 (or none) means the server's cap; a larger one is cut to it silently.
    """
    keys, start, limit, top = prepare(fields, query, max_limit)
    return page(select(rows, query, top), keys, start, limit)


# -- what an index can use ------------------------------------------------------------------------
def referenced(text: str | None) -> set[str]:
    """The field keys a (valid) ``FilterString`` names."""
    return {value for kind, value in _tokens(text or "") if kind == "word"}


def conjuncts(text: str | None) -> list[tuple[str, str, Any]]:
    """``(field key, "=" or "LIKE", literal)`` of the comparisons every row a (valid) ``FilterString``
    keeps must satisfy: those standing alone at the top level of a filter without a top-level ``OR``."""
    tokens = _tokens(text or "")
    depth, found = 0, []
    for i, (kind, value) in enumerate(tokens):
        if kind == "punct":
            depth += {"(": 1, ")": -1}.get(value, 0)
        elif depth == 0 and (kind, value) == ("kw", "OR"):
            return []
        elif depth == 0 and kind == "word" and (i == 0 or tokens[i - 1] == ("kw", "AND")) and i + 2 < len(tokens):
            middle, literal = tokens[i + 1], tokens[i + 2]
            if middle in (("op", "="), ("kw", "LIKE")) and literal[0] == "lit":
                found.append((value, "LIKE" if middle[0] == "kw" else "=", literal[1]))
    return found
