"""Extract the OA directory and land it in staging, streaming, in one transaction.

The OA offers no "changed since" query, so every run reads the whole directory (departments, then
the members of each department) and lands it as one load per entity. Records are mapped on the
way (the mapping files), so staging holds both the typed canonical fields and the raw record; a
record that cannot be mapped is landed anyway with its error, and the merge quarantines it.

A listing may miss departments the OA still has: DingTalk's is a walk from the root, which never
reaches a department whose parent is gone or that sits in a cycle. Every active department the middle
platform holds that the listing missed is therefore asked for by id (with the parents it names) and
landed when it exists, so the merge quarantines it instead of deactivating it and its people.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from typing import Any

import psycopg

from expense_sync import mapping
from expense_sync.hooks.oa import DirectorySource
from expense_sync.hooks.paginate import dig
from expense_sync.store.db import copy_rows

ORG_COLUMNS = ("load_id", "source_key", "code", "name", "parent_key", "sort_order", "mapping_error", "raw")
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
    "mapping_error",
    "raw",
)


def _rows(
    load_id: int, spec: mapping.MappingSpec, records: Iterator[dict], columns: tuple[str, ...], seen: dict[str, bytes]
) -> Iterator[tuple]:
    """Map vendor records to staging rows.

    A record listed again with the same content (a person in two departments) is skipped; the
    same id with *different* content is landed under a marked key with an error, so the merge
    quarantines it instead of one version silently winning.
    """
    for n, record in enumerate(records):
        raw = json.dumps(record, ensure_ascii=False, sort_keys=True)
        digest = hashlib.blake2b(raw.encode(), digest_size=16).digest()
        try:
            key, values, error = spec.apply(record)
        except mapping.MappingError as err:
            key, values, error = f"?unkeyed-{n}", {}, str(err)
        if key in seen:
            if seen[key] == digest:
                continue
            key, error = f"{key}#dup{n}", f"the vendor listed id {key} twice with different content"
        seen[key] = digest
        values |= {"load_id": load_id, "source_key": key, "mapping_error": error, "raw": raw}
        yield tuple(values.get(c) for c in columns)


def _unlisted(
    conn: psycopg.Connection, hook: DirectorySource, spec: mapping.MappingSpec, listed: list[dict]
) -> list[dict]:
    """The departments the listing missed that the OA still has: every active canonical department
    of this OA not listed, and the parents those name, asked for one by one."""
    seen = {str(dig(dept, spec.key)) for dept in listed}
    ask = [
        key
        for (key,) in conn.execute(
            "SELECT c.external_id FROM mdm.crosswalk c JOIN mdm.org_unit u ON u.org_unit_id = c.canonical_id "
            "WHERE c.entity = 'org_unit' AND c.system = %s AND u.active ORDER BY c.external_id DESC",
            (hook.vendor,),
        )
        if key not in seen
    ]
    found = []
    while ask:
        key = ask.pop()
        if key in seen:
            continue
        seen.add(key)
        dept = hook.department(key)
        if dept is None:  # removed at the OA: the merge deactivates it
            continue
        found.append(dept)
        try:
            parent = spec.fields["parent_key"].value(dept)
        except mapping.MappingError:  # landed with its error; the merge quarantines it
            continue
        if parent:
            ask.append(str(parent))
    return found


def _new_load(conn: psycopg.Connection, system: str, entity: str, run_key: str, at: dt.datetime) -> int:
    return conn.execute(
        "INSERT INTO sync.load (source_system, entity, run_key, extracted_at) VALUES (%s, %s, %s, %s) "
        "RETURNING load_id",
        (system, entity, run_key, at),
    ).fetchone()[0]


def extract_directory(conn: psycopg.Connection, hook: DirectorySource, run_key: str) -> dict[str, Any]:
    """Land the OA's departments and members; return the two load ids and counts."""
    system = hook.vendor
    org_spec, emp_spec = mapping.load(system, "org_unit"), mapping.load(system, "employee")
    extracted_at = dt.datetime.now(dt.UTC)
    with conn.transaction(), conn.cursor() as cur:
        org_load = _new_load(conn, system, "org_unit", run_key, extracted_at)
        emp_load = _new_load(conn, system, "employee", run_key, extracted_at)
        departments = list(hook.departments())
        departments += _unlisted(conn, hook, org_spec, departments)
        org_rows = copy_rows(
            cur, "staging.org_unit", ORG_COLUMNS, _rows(org_load, org_spec, iter(departments), ORG_COLUMNS, {})
        )

        def members() -> Iterator[dict]:
            for dept in departments:
                yield from hook.members(dig(dept, org_spec.key))

        emp_rows = copy_rows(
            cur, "staging.employee", EMPLOYEE_COLUMNS, _rows(emp_load, emp_spec, members(), EMPLOYEE_COLUMNS, {})
        )
        conn.execute("ANALYZE staging.org_unit, staging.employee")  # the merge plans its joins on these
        for load_id, rows in ((org_load, org_rows), (emp_load, emp_rows)):
            conn.execute(
                "UPDATE sync.load SET status = 'landed', landed_at = now(), row_count = %s WHERE load_id = %s",
                (rows, load_id),
            )
    return {
        "system": system,
        "extracted_at": extracted_at.isoformat(),
        "loads": {"org_unit": org_load, "employee": emp_load},
        "rows": {"org_unit": org_rows, "employee": emp_rows},
        "api": dict(hook.stats),
    }
