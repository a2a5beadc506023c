"""Reading vendor records strictly: a field we rely on is there, or the record is refused with the
field named (:class:`~expense_sync.hooks.errors.ContractError`), never defaulted to zero or empty."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from expense_sync.hooks.errors import ContractError

MISSING = object()


def lookup(record: Any, path: str) -> Any:
    """The value at a dotted ``path`` of nested mappings, or :data:`MISSING`."""
    node = record
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return MISSING
        node = node[part]
    return node


def required(record: Any, *paths: str, vendor: str, endpoint: str = "", nullable: bool = False) -> Any:
    """The value of the first of ``paths`` the record has (several paths: the names a field goes by
    in different versions of the API). None counts as missing unless ``nullable``."""
    for path in paths:
        value = lookup(record, path)
        if value is not MISSING and (nullable or value is not None):
            return value
    names = " or ".join(repr(p) for p in paths)
    raise ContractError(f"record has no field {names}", vendor=vendor, endpoint=endpoint)
