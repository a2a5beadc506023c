"""SQL lives in ``include/sql/`` files: no module of the package holds statement text, and every step
a module names exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from expense_sync.store import sqlfile
from testkit import ROOT

PACKAGE = ROOT / "plugins" / "expense_sync"
STATEMENT = re.compile(
    r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH|CREATE|ALTER|LOCK|COPY|TRUNCATE|ANALYZE)\b\s*\S", re.IGNORECASE
)


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _docstrings(tree: ast.AST) -> set[int]:
    """The ids of the docstring nodes (prose, not SQL, however they begin)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _text(node: ast.AST) -> str | None:
    """A string literal's text; an f-string's with each replacement field as ``x``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "x" for v in node.values)
    return None


def sql_literals(source: str) -> list[tuple[int, str]]:
    """(line, text) of each string literal in ``source`` that is an SQL statement."""
    tree = ast.parse(source)
    skip = _docstrings(tree)
    inside_fstrings = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
    found = []
    for node in ast.walk(tree):
        if id(node) in skip or id(node) in inside_fstrings:
            continue
        text = _text(node)
        if text is not None and STATEMENT.match(text):
            found.append((node.lineno, text.strip().splitlines()[0][:60]))
    return sorted(found)


def named_steps(source: str) -> list[tuple[int, str, str]]:
    """(line, file, step) of each ``sqlfile.step(file, step)`` whose names are literal (or a module
    constant for the file)."""
    tree = ast.parse(source)
    constants = {
        t.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
        for t in node.targets
        if isinstance(t, ast.Name)
    }
    found = []
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "step"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "sqlfile"
            and len(node.args) == 2
        ):
            continue
        file, step = node.args
        name = file.value if isinstance(file, ast.Constant) else constants.get(getattr(file, "id", None))
        if isinstance(name, str) and isinstance(step, ast.Constant):
            found.append((node.lineno, name, step.value))
    return found


def test_the_detector_finds_statements_and_skips_prose():
    source = '''
"""Select what to push."""
def f(conn, table):
    """Update the rows."""
    conn.execute("SELECT 1")
    conn.execute(f"analyze {table}")
    conn.execute("INSERT INTO t "
                 "VALUES (1)")
    step = "insert"
    note = "deleted at the source"
'''
    assert sql_literals(source) == [(5, "SELECT 1"), (6, "analyze x"), (7, "INSERT INTO t VALUES (1)")]


def test_no_module_holds_sql_statements():
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {text}"
        for path in modules()
        for line, text in sql_literals(path.read_text(encoding="utf-8"))
    ]
    assert not offenders, "SQL belongs in include/sql/<area>/<file>.sql:\n" + "\n".join(offenders)


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_named_step_exists(path):
    for line, name, step in named_steps(path.read_text(encoding="utf-8")):
        assert step in sqlfile.steps(name), f"{path.name}:{line}: {name}.sql has no step {step!r}"
