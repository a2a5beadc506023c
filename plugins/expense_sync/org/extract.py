"""Extract the OA directory and land it in staging, streaming, in one transaction.

The OA offers no "changed since" query, so every run reads the whole directory (departments, then
the members of each department) and lands it as one load per entity. Records are mapped on the
way (the mapping files), so staging holds both the typed canonical fields and the raw record; a
record that cannot be mapped is landed anyway with its error, and the merge quarantines it.

A listing may miss departments the OA still has: DingTalk's is a walk from the root, which never
reaches a department whose parent is gone or that sits in a cycle. Every active department the middle
platform holds that the listing missed is therefore asked for by id (with the parents it names) and
landed when it exists, so the merge quarantines it instead of deactivating it and its people.

A field the mapping reads that the OA's previous listing carried and that no record carries now is
the vendor's schema drift (a field renamed or removed), not a directory where everybody's e-mail was
cleared at once: :class:`expense_sync.store.loads.SchemaDrift` is raised and nothing is landed, so
the merge never writes the field blank for everyone (and the push never blanks it in 合思). Fields
the OA documents it may withhold (its hook's ``withheld_fields``: WeCom's private fields for new apps)
are exempt: absent, they are unknown, and the merge keeps what it holds.

An OA that names a department's manager only on its members' records (DingTalk's ``leader`` in
``topapi/v2/user/list``: 是否为部门的主管 of the department listed) gives them, once the members are
read, as its hook's ``listed_managers`` (department key -> member key); each fills the department's
``manager_key`` where the department's own record named none.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import psycopg

from expense_sync import mapping
from expense_sync.hooks.paginate import dig
from expense_sync.org.directory import DirectorySource
from expense_sync.store import loads, sqlfile

SQL = "org/extract"

ORG_COLUMNS = (
    "load_id",
    "source_key",
    "code",
    "name",
    "parent_key",
    "sort_order",
    "manager_key",
    "mapping_error",
    "raw",
)
EMPLOYEE_COLUMNS = (
    "load_id",
    "source_key",
    "employee_no",
    "name",
    "email",
    "mobile",
    "org_unit_key",
    "position_title",
    "hired_on",
    "active",
    "manager_key",
    "mapping_error",
    "raw",
)


def read_departments(
    hook: DirectorySource, spec: mapping.MappingSpec, ask: list[str], *, have: set[str]
) -> tuple[list[dict], set[str]]:
    """Ask the OA for each department in ``ask``, one by one, and for the parents they name that are
    not in ``have`` (the departments already held); return those it has and the ids it has not."""
    found: list[dict] = []
    gone: set[str] = set()
    seen: set[str] = set()
    while ask:
        key = ask.pop()
        if key in seen:
            continue
        seen.add(key)
        dept = hook.department(key)
        if dept is None:  # removed at the OA: the merge deactivates it
            gone.add(key)
            continue
        found.append(dept)
        try:
            parent = spec.fields["parent_key"].value(dept)
        except mapping.MappingError:  # landed with its error; the merge quarantines it
            continue
        if parent and str(parent) not in have:
            ask.append(str(parent))
    return found, gone


def _unlisted(
    conn: psycopg.Connection, hook: DirectorySource, spec: mapping.MappingSpec, listed: list[dict]
) -> list[dict]:
    """The departments the listing missed that the OA still has: every active canonical department
    of this OA not listed, and the parents those name, asked for one by one."""
    have = {str(dig(dept, spec.key)) for dept in listed}
    ask = [key for (key,) in conn.execute(sqlfile.step(SQL, "active_departments"), (hook.vendor,)) if key not in have]
    return read_departments(hook, spec, ask, have=have)[0]


def extract_directory(conn: psycopg.Connection, hook: DirectorySource, run_key: str) -> dict[str, Any]:
    """Land the OA's departments and members; return the two load ids and counts."""
    system = hook.vendor
    org_spec = mapping.load(system, "org_unit")
    extracted_at = dt.datetime.now(dt.UTC)
    with conn.transaction(), conn.cursor() as cur:
        departments = list(hook.departments())
        departments += _unlisted(conn, hook, org_spec, departments)
        org = loads.land(
            conn, cur, system, "org_unit", run_key, iter(departments), ORG_COLUMNS, extracted_at=extracted_at
        )

        def members() -> Iterator[dict]:
            for dept in departments:
                yield from hook.members(dig(dept, org_spec.key))

        emp = loads.land(conn, cur, system, "employee", run_key, members(), EMPLOYEE_COLUMNS, extracted_at=extracted_at)
        listed: dict[str, str] = getattr(hook, "listed_managers", None) or {}
        if listed:  # read with the members above, so landed after the departments
            conn.execute(
                sqlfile.step(SQL, "listed_managers"),
                {"load": org["load_id"], "keys": list(listed), "managers": list(listed.values())},
            )
        withheld: frozenset[str] = getattr(hook, "withheld_fields", frozenset())
        for entity, landed in (("org_unit", org), ("employee", emp)):  # full listings: a field gone is drift
            loads.check_drift(conn, system, entity, landed["load_id"], may_lack=withheld)
        conn.execute(sqlfile.step(SQL, "analyze_staging"))  # the merge plans its joins on these
    org_load, org_rows, emp_load, emp_rows = org["load_id"], org["rows"], emp["load_id"], emp["rows"]
    return {
        "system": system,
        "extracted_at": extracted_at.isoformat(),
        "loads": {"org_unit": org_load, "employee": emp_load},
        "rows": {"org_unit": org_rows, "employee": emp_rows},
        "api": dict(hook.stats),
    }
