"""Golden responses copied from the vendors' own documents (``tests/fixtures/vendor_docs/<vendor>/``).

Each fixture is a JSON file::

    {"source": "<URL, or repository@commit:path and heading, of the vendor's own page>",
     "endpoint": "<METHOD path>",
     "response": <the documented example, verbatim>}

The hooks must parse every one (each vendor's ``test_<vendor>_docs.py``), and the sandboxes must
answer in the same shape: :func:`assert_same_shape` checks that every key path of the documented
example is in the sandbox's answer with the same JSON type (extra keys in the sandbox's answer are
allowed: a documented example need not show every optional field).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parent / "fixtures" / "vendor_docs"
JSON_TYPES = ((bool, "boolean"), (int, "number"), (float, "number"), (str, "string"), (list, "array"), (dict, "object"))


def load(vendor: str, name: str) -> dict[str, Any]:
    """One fixture; refuses one without its source."""
    doc = json.loads((ROOT / vendor / f"{name}.json").read_text("utf-8"))
    missing = {"source", "endpoint", "response"} - doc.keys()
    assert not missing, f"{vendor}/{name}.json lacks {sorted(missing)}"
    assert doc["source"].strip(), f"{vendor}/{name}.json names no source"
    return doc


def names(vendor: str) -> list[str]:
    return sorted(p.stem for p in (ROOT / vendor).glob("*.json"))


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    for kind, name in JSON_TYPES:
        if isinstance(value, kind):
            return name
    raise TypeError(f"not a JSON value: {value!r}")


def shape(value: Any, path: str = "$") -> dict[str, str]:
    """Every key path of a JSON value with its type; the items of an array share the path ``[]``."""
    paths = {path: json_type(value)}
    if isinstance(value, dict):
        for key, item in value.items():
            paths |= shape(item, f"{path}.{key}")
    elif isinstance(value, list):
        for item in value:
            paths |= shape(item, f"{path}[]")
    return paths


def assert_same_shape(documented: Any, produced: Any, *, where: str = "") -> None:
    """Every path of ``documented`` is in ``produced`` with the same type (a documented ``null`` or
    a string standing for a number are matched loosely: vendors' examples show both)."""
    want, got = shape(documented), shape(produced)
    problems = []
    for path, kind in want.items():
        if path not in got:
            problems.append(f"{path} missing (documented as {kind})")
        elif kind != "null" and got[path] != "null" and got[path] != kind:
            problems.append(f"{path} is {got[path]}, documented as {kind}")
    assert not problems, f"{where} differs from the vendor's example:\n  " + "\n  ".join(problems)
