"""Read the OA directory by what changed: its contact-change events name the people and departments
to read again; everything else is what the OA said last.

DingTalk (通讯录事件 ``user_add_org``, ``user_modify_org``, ``user_leave_org``, ``org_dept_*``) and
WeCom (``change_contact``) push an event for each change of their directory; the receiver verifies and
stores them in the inbox. Between full reads, :func:`read_directory` claims those events, asks the OA
for each person (``person``) and department (``department``) they name, and lands a **whole** load:
the records read now, plus every record of the previous load the events did not name (copied in
PostgreSQL, ``org/changes.sql``). A person or department the OA no longer has is left out, as a full
listing leaves out a leaver. The merge, its quarantine and its mass-deactivation guard then work on
that load exactly as on a full listing: one way of merging.

Departments are read as well when a person read now points at one the previous load lacks (and their
parents, up to a known one), and when a person named managed a department and may no longer (they
left, moved, or their OA no longer flags them as its leader): that department is read again with its
members, so its manager is chosen as a full listing chooses it.

A full read happens instead, and consumes the events, when: it is asked for (the run's ``full_read``
param); there is no previous load; the last full read is older than ``full_every`` (Variable
``expense_sync_org_full_read_days``, default 7): the safety net that also catches events the OA never
delivered; or the events name as many people and departments as a full read would cost calls (about
one per department). The events are claimed, and marked processed, in the landing's transaction: a
crash leaves them to the next run, and two runs never read the same events. Reads of one OA take a
lock in turn, and each builds on the newest load landed (merged or not), so a read never lands a
directory without what an earlier read's events named. A read by events lands few records: the
schema-drift check is left to the full reads (:func:`expense_sync.store.loads.check_drift`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from expense_sync import mapping
from expense_sync.hooks.paginate import dig
from expense_sync.org.directory import DirectorySource
from expense_sync.org.extract import EMPLOYEE_COLUMNS, ORG_COLUMNS, extract_directory, read_departments
from expense_sync.org.extract import SQL as EXTRACT_SQL
from expense_sync.store import inbox, loads, locks, sqlfile, watermarks

SQL = "org/changes"
FULL_READ_STREAM = "directory:full_read"  # watermark: when the OA's directory was last read whole
DEFAULT_FULL_EVERY = dt.timedelta(days=7)
CLAIM_BATCH = 5000


@dataclass
class Changes:
    """What the claimed events name."""

    people: set[str] = field(default_factory=set)
    departments: set[str] = field(default_factory=set)
    events: int = 0


def claim_changes(conn: psycopg.Connection, hook: DirectorySource) -> Changes:
    """Claim every waiting contact-change event of this OA (inside the caller's transaction) and mark
    it processed; return the ids they name."""
    changes = Changes()
    types = sorted(hook.contact_events)
    while True:
        events = inbox.claim(conn, limit=CLAIM_BATCH, sources=[hook.vendor], event_types=types)
        if not events:
            return changes
        for event in events:
            people, departments = hook.contact_change(event.payload if isinstance(event.payload, dict) else {})
            changes.people.update(people)
            changes.departments.update(departments)
        inbox.mark_processed(conn, [e.event_id for e in events])
        changes.events += len(events)


def _baseline(conn: psycopg.Connection, system: str) -> dict[str, int] | None:
    found = {}
    for entity in ("org_unit", "employee"):
        row = conn.execute(sqlfile.step(SQL, "baseline"), (system, entity)).fetchone()
        if row is None:
            return None
        found[entity] = row[0]
    return found


def full_read_reason(
    conn: psycopg.Connection,
    system: str,
    changes: Changes,
    base: dict[str, int] | None,
    *,
    full_every: dt.timedelta,
    asked: bool,
    now: dt.datetime,
) -> str | None:
    """Why this run reads the whole directory, or ``None`` when the events suffice."""
    if asked:
        return "asked (full_read)"
    if base is None:
        return "no earlier read to build on"
    last = watermarks.watermark(conn, system, FULL_READ_STREAM)
    if last is None or now - last >= full_every:
        return f"the last full read is older than {full_every}"
    departments = sqlfile.one(conn.execute(sqlfile.step(SQL, "baseline_size"), (base["org_unit"],)))[0]
    if len(changes.people) + len(changes.departments) >= max(departments, 1):
        return "the events name as many records as a full read costs calls"
    return None


def read_directory(
    conn: psycopg.Connection,
    hook: DirectorySource,
    run_key: str,
    *,
    full_every: dt.timedelta = DEFAULT_FULL_EVERY,
    full: bool = False,
) -> dict[str, Any]:
    """Land the OA's directory as one whole load per entity, reading only what the events name when
    that is enough; returns what :func:`expense_sync.org.extract.extract_directory` returns, with the
    ``read`` (``full`` or ``changes``), its reason and the events consumed."""
    now = dt.datetime.now(dt.UTC)
    # One read of this OA at a time (a zombie task beside its retry): a second read waits, then builds
    # on the load the first landed, so no run lands a directory without the events another consumed.
    with locks.held(conn, f"org_read:{hook.vendor}"), conn.transaction():
        changes = claim_changes(conn, hook)
        base = _baseline(conn, hook.vendor)
        reason = full_read_reason(conn, hook.vendor, changes, base, full_every=full_every, asked=full, now=now)
        if base is None or reason is not None:
            result = extract_directory(conn, hook, run_key)
            watermarks.set_watermark(
                conn,
                hook.vendor,
                FULL_READ_STREAM,
                dt.datetime.fromisoformat(result["extracted_at"]),
                run_key=run_key,
                load_id=result["loads"]["employee"],
            )
            result["read"] = {"mode": "full", "reason": reason}
        else:
            result = extract_changes(conn, hook, run_key, changes, base)
            result["read"] = {"mode": "changes", "based_on": base}
        named = {"people": len(changes.people), "departments": len(changes.departments)}
        result["read"] |= {"events": changes.events, **named}
    return result


def extract_changes(
    conn: psycopg.Connection, hook: DirectorySource, run_key: str, changes: Changes, base: dict[str, int]
) -> dict[str, Any]:
    """Read what the events name and land it with the rest of the baseline loads (one transaction)."""
    system = hook.vendor
    org_spec, emp_spec = mapping.load(system, "org_unit"), mapping.load(system, "employee")
    extracted_at = dt.datetime.now(dt.UTC)
    listed: dict[str, str] | None = getattr(hook, "listed_managers", None)
    if listed is not None:
        listed.clear()
    known: dict[str, str | None] = dict(
        conn.execute(sqlfile.step(SQL, "baseline_departments"), (base["org_unit"],)).fetchall()
    )
    people: dict[str, dict] = {}
    gone_people: set[str] = set()
    units: dict[str, str | None] = {}  # person read now -> their department
    for key in sorted(changes.people):
        record = hook.person(key)
        if record is None:
            gone_people.add(key)
            continue
        people[key] = record
        try:
            unit = emp_spec.fields["org_unit_key"].value(record)
        except mapping.MappingError:  # landed with its error; the merge quarantines it
            unit = None
        units[key] = str(unit) if unit else None
    relist = {
        dept
        for dept, manager in known.items()
        if manager is not None and manager in changes.people and _stepped_down(manager, dept, units, listed)
    }
    for dept in sorted(relist):  # the listing names its manager again, as a full read would
        if listed is not None:
            listed.pop(dept, None)
        for user in hook.members(dept):
            people.setdefault(str(dig(user, emp_spec.key)), user)
    wanted = changes.departments | relist | {unit for unit in units.values() if unit and unit not in known}
    read, gone_departments = read_departments(hook, org_spec, sorted(wanted), have=set(known))
    departments = {str(dig(dept, org_spec.key)): dept for dept in read}
    with conn.cursor() as cur:
        org = loads.land(
            conn, cur, system, "org_unit", run_key, iter(departments.values()), ORG_COLUMNS, extracted_at=extracted_at
        )
        emp = loads.land(
            conn, cur, system, "employee", run_key, iter(people.values()), EMPLOYEE_COLUMNS, extracted_at=extracted_at
        )
    named = {"org_unit": departments.keys() | gone_departments, "employee": people.keys() | gone_people}
    carried = {
        entity: _carry(conn, entity, columns, landed["load_id"], base[entity], named[entity])
        for entity, columns, landed in (("org_unit", ORG_COLUMNS, org), ("employee", EMPLOYEE_COLUMNS, emp))
    }
    if listed:  # after the carry: a carried department without a manager may get one
        conn.execute(
            sqlfile.step(EXTRACT_SQL, "listed_managers"),
            {"load": org["load_id"], "keys": list(listed), "managers": list(listed.values())},
        )
    conn.execute(sqlfile.step(EXTRACT_SQL, "analyze_staging"))
    return {
        "system": system,
        "extracted_at": extracted_at.isoformat(),
        "loads": {"org_unit": org["load_id"], "employee": emp["load_id"]},
        "rows": {"org_unit": carried["org_unit"], "employee": carried["employee"]},
        "read_now": {"org_unit": org["rows"], "employee": emp["rows"]},
        "gone": {"org_unit": len(gone_departments), "employee": len(gone_people)},
        "api": dict(hook.stats),
    }


def _stepped_down(manager: str, dept: str, units: dict[str, str | None], listed: dict[str, str] | None) -> bool:
    """Whether a named person who managed ``dept`` may manage it no more: they left the OA, moved to
    another department, or (an OA naming managers by its members' flag) no longer lead it."""
    if manager not in units or units[manager] != dept:
        return True
    return listed is not None and listed.get(dept) != manager


def _carry(conn: psycopg.Connection, entity: str, columns: tuple[str, ...], load_id: int, base: int, named: Any) -> int:
    """Copy the baseline's rows not ``named`` into the load; return the load's row count."""
    table = sql.Identifier("staging", entity)
    statement = sqlfile.step(SQL, "carry_forward").format(
        table=table,
        columns=sql.SQL(", ").join(map(sql.Identifier, columns)),
        carried=sql.SQL(", ").join(sql.Identifier("b", c) for c in columns[1:]),
    )
    conn.execute(statement, {"load": load_id, "base": base, "skip": sorted(named)})
    counted = conn.execute(sqlfile.step(SQL, "count_landed").format(table=table), {"load": load_id})
    return int(sqlfile.one(counted)[0])
