"""Merge a landed OA extraction into the canonical org tables, in one transaction.

Departments first, then people (whose departments must resolve). For each: stage candidates with
their quarantine reason, queue the bad ones (and clear items whose problem is gone), then apply the
clean ones set-based (``include/sql/org/*.sql``). What the extraction deactivates is staged first
(``org/leaving.sql``) and held, deactivating nobody, when it is too much (:mod:`expense_sync.org.guard`).
The load's life (land, take for merging, quarantine, mark merged, prune) is the one pipeline of
:mod:`expense_sync.store.loads`, in one transaction, so a crash leaves either everything or nothing.

A field the OA documents it may withhold (the hook's ``withheld_fields``: WeCom's mobile and e-mail
for apps created after 2022-06-20) and that a record lacks is unknown, not cleared: the merge keeps
the value it holds, and nobody is quarantined or changed for it.

A load older than what was already merged is refused as ``superseded``: OA wins, but only its
newest word does. Merging a load again (a task cleared after its commit) changes nothing.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from expense_sync import mapping
from expense_sync.hooks import registry
from expense_sync.org import guard
from expense_sync.rules import EMAIL_RE, MOBILE_RE
from expense_sync.settings import DEFAULT_ORG_MAX_DEACTIVATION
from expense_sync.store import loads as staged
from expense_sync.store import sqlfile, watermarks

STAGE = ["candidates", "index", "analyze", "orphans", "hold"]  # the SQL files' staging steps
# Rows inserted by one merge after which the canonical tables are re-analyzed, right after the insert:
# a first sync's later steps (a department's manager, a person's) join the 100 000 new crosswalk rows,
# and planned on the empty tables' statistics they took 33 s instead of 0.1 s (bench/peers).
ANALYZE_AFTER = 1000
KEEP_LOADS = 7  # staging keeps the last N merged loads per source and entity, for audit and replays
# What merging a load again returns, by the status the first merge left it in: nothing left to do.
REPEATS = {"merged": {"already_merged": True}, "superseded": {"superseded": True}}

ENTITIES = (
    # entity, sql file, temp table, steps applied after queueing, deactivation step (org/leaving.sql)
    ("org_unit", "org/merge_org_units", "org_in", ["insert_new", "link_new", "update_existing"], "deactivate_units"),
    (
        "employee",
        "org/merge_employees",
        "emp_in",
        ["positions", "insert_new", "deactivate_flagged", "update_existing", "unit_managers", "managers"],
        "deactivate_employees",
    ),
)


def withheld_sources(system: str) -> dict[str, str | None]:
    """For e-mail and mobile: the OA's field they are mapped from when the OA may withhold it (its
    absence from a record then means "unknown"), else ``None``."""
    withheld: frozenset[str] = getattr(registry.hook_class("oa", system), "withheld_fields", frozenset())
    spec = mapping.load(system, "employee")
    sources = {name: spec.fields[name].source if name in spec.fields else None for name in ("email", "mobile")}
    return {f"{name}_src": src if src in withheld else None for name, src in sources.items()}


def merge_directory(
    conn: psycopg.Connection,
    loads: dict[str, int],
    run_key: str,
    *,
    max_deactivation: float = DEFAULT_ORG_MAX_DEACTIVATION,
) -> dict[str, Any]:
    """Merge the org-unit and employee loads of one extraction; return counts per entity.

    ``max_deactivation``: the share of active departments or of active people one merge may
    deactivate; above it, nobody is deactivated until a person approves (:mod:`expense_sync.org.guard`).
    """
    counts: dict[str, Any] = {}
    held = None
    with conn.transaction():
        for entity, sql_name, temp_table, apply_steps, deactivate in ENTITIES:
            load_id = loads[entity]
            system, observed_at, status = staged.merging(conn, load_id)
            if status in staged.REPEATS:  # a cleared task merging again: nothing left to do
                counts[entity] = REPEATS[status]
                continue
            newest = watermarks.watermark(conn, system, entity)
            if newest is not None and observed_at <= newest:
                staged.supersede(conn, load_id)
                counts[entity] = {"superseded": True}
                continue
            params = {
                "load_id": load_id,
                "system": system,
                "observed_at": observed_at,
                "email_re": EMAIL_RE,
                "mobile_re": MOBILE_RE,
                "org_load": loads["org_unit"],
                "emp_load": loads["employee"],
                **withheld_sources(system),
            }
            if held is None:  # once, before anything is applied
                held = guard.stage_leaving(conn, params, max_deactivation, run_key)
            quarantined, cleared = staged.quarantine(
                conn, sql_name, params, entity=entity, temp_table=temp_table, run_key=run_key, stage=STAGE
            )
            inserted = apply_steps.index("insert_new") + 1
            applied = sqlfile.run(conn, sql_name, params, only=apply_steps[:inserted])
            if applied["insert_new"] > ANALYZE_AFTER:  # statistics that count the new rows, before the joins on them
                conn.execute(sqlfile.step("org/merge", "analyze_canonical").format(table=sql.Identifier("mdm", entity)))
            applied |= sqlfile.run(conn, sql_name, params, only=apply_steps[inserted:])
            applied |= sqlfile.run(conn, "org/leaving", params, only=[deactivate])
            counts[entity] = {
                "received": staged.count_rows(conn, temp_table),
                "created": applied["insert_new"],
                "updated": applied["update_existing"],
                "deactivated": applied[deactivate] + applied.get("deactivate_flagged", 0),
                "deactivation_held": held.get(entity, 0),
                "quarantined": quarantined,
                "quarantine_cleared": cleared,
            }
            staged.merged(conn, load_id, system, entity, observed_at, run_key, keep=KEEP_LOADS)
    return counts
