"""The one land → merge pipeline of inbound master data (the OA's org, the ERP's chart).

1. :func:`land`: a new ``sync.load`` row, the vendor's records mapped into its staging table
   (COPY, streaming; a record that cannot be mapped is landed with its error, see
   :func:`staging_rows`), the load marked ``landed`` — in the extraction's transaction.
2. :func:`merging`: the merge takes the load (``FOR UPDATE``: one merge of a load at a time); a
   load merged already (or superseded) is a no-op — a task cleared after its commit merges nothing
   again; any other state than ``landed`` is an error.
3. :func:`quarantine`: the entity's candidates are staged with their quarantine reason, the bad ones
   queued and the items whose problem is gone cleared; the caller then applies the clean ones.
4. :func:`merged`: the load marked ``merged``, the watermark advanced (never backwards) and the
   staging of old loads pruned — in the merge's transaction, so a crash leaves all or nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Iterator
from typing import Any

import msgspec
import psycopg
from psycopg import sql

from expense_sync import mapping
from expense_sync.progress import tracked
from expense_sync.store import queue, sqlfile, watermarks
from expense_sync.store.db import copy_rows

SQL = "store/loads"
REPEATS = ("merged", "superseded")  # a load in one of these states has nothing left to merge
_RAW = msgspec.json.Encoder(order="sorted", enc_hook=str, decimal_format="string")


def raw_json(record: Any) -> bytes:
    """A record as it came, for staging's ``raw``: keys sorted (equal content, equal text), UTF-8 as is, a
    value JSON has no type for (a Decimal, a date) as its text. msgspec is several times faster than
    ``json.dumps`` here; a record it refuses (a key that is not text) takes ``json.dumps``."""
    try:
        return _RAW.encode(record)
    except (TypeError, msgspec.EncodeError):
        return json.dumps(record, ensure_ascii=False, sort_keys=True, default=str).encode()


def staging_rows(
    load_id: int, spec: mapping.MappingSpec, records: Iterable[dict[str, Any]], columns: tuple[str, ...]
) -> Iterator[tuple]:
    """Map vendor records to staging rows (``columns`` order).

    A record's ``raw`` entry, when it has one, is the vendor's record as it came; else the record
    itself is. A record listed again with the same content (a person in two departments) is
    skipped; the same key with *different* content is landed under a marked key with an error, so
    the merge quarantines it instead of one version silently winning.
    """
    seen: dict[str, bytes] = {}
    for n, record in enumerate(records):
        encoded = raw_json(record.pop("raw", None) or record)
        digest = hashlib.blake2b(encoded, digest_size=16).digest()
        try:
            key, values, error = spec.apply(record)
        except mapping.MappingError as err:
            key, values, error = f"?unkeyed-{n}", {}, str(err)
        if key in seen:
            if seen[key] == digest:
                continue
            key, error = f"{key}#dup{n}", f"the vendor listed {key} twice with different content"
        seen[key] = digest
        values |= {"load_id": load_id, "source_key": key, "mapping_error": error, "raw": encoded.decode()}
        yield tuple(map(values.get, columns))


def land(
    conn: psycopg.Connection,
    cur: psycopg.Cursor,
    system: str,
    entity: str,
    run_key: str,
    records: Iterable[dict[str, Any]],
    columns: tuple[str, ...],
    *,
    extracted_at: dt.datetime | None = None,
) -> dict[str, int]:
    """Land one entity's records as a new load in ``staging.<entity>``; returns its id and row count.
    Call it inside the extraction's transaction."""
    load_id = sqlfile.one(
        conn.execute(
            sqlfile.step(SQL, "new_load"),
            (system, entity, run_key, extracted_at or dt.datetime.now(dt.UTC)),
        )
    )[0]
    spec = mapping.load(system, entity)
    records = tracked(records, f"landing {system} {entity}")
    rows = copy_rows(cur, f"staging.{entity}", columns, staging_rows(load_id, spec, records, columns))
    conn.execute(sqlfile.step(SQL, "mark_landed"), (rows, load_id))
    return {"load_id": load_id, "rows": rows}


class SchemaDrift(RuntimeError):
    """The vendor's records no longer carry fields the mapping reads (a contract violation)."""


def check_drift(
    conn: psycopg.Connection, system: str, entity: str, load_id: int, *, may_lack: Iterable[str] = ()
) -> None:
    """Raise :class:`SchemaDrift` if a field the mapping reads, carried by the last merged load, is in
    no record of ``load_id`` (a renamed or removed field: merged, it would blank the field for
    everyone). For full listings only: a delta may lack an optional field by chance. ``may_lack``:
    fields the vendor documents it may withhold (WeCom's private fields), whose absence the merge
    reads as "unknown" and never writes blank."""
    previous = sqlfile.one(conn.execute(sqlfile.step(SQL, "previous_merged"), (system, entity, load_id)))[0]
    if previous is None:
        return
    found: dict[int, list[str]] = dict(
        conn.execute(
            sqlfile.step(SQL, "fields_per_load").format(table=sql.Identifier("staging", entity)),
            ([previous, load_id],),
        ).fetchall()
    )
    if load_id not in found or previous not in found:
        return  # nothing listed now (the merge's own guards judge an empty listing) or nothing to compare
    spec = mapping.load(system, entity)
    mapped = {spec.key.split(".")[0]} | {f.source.split(".")[0] for f in spec.fields.values() if f.source}
    gone = sorted((mapped & set(found[previous])) - set(found[load_id]) - set(may_lack))
    if gone:
        raise SchemaDrift(
            f"{system} {entity}: no record carries {', '.join(gone)} any more (the previous listing did): "
            "the vendor's API changed; nothing was landed, the mapping must follow it"
        )


def merging(conn: psycopg.Connection, load_id: int) -> tuple[str, dt.datetime, str]:
    """Take a load for merging (inside the merge's transaction): its source system, extraction time
    and status. The status is ``landed``, or one of :data:`REPEATS` (nothing to do); else it raises."""
    system, extracted_at, status = sqlfile.one(conn.execute(sqlfile.step(SQL, "take_for_merge"), (load_id,)))
    if status != "landed" and status not in REPEATS:
        raise RuntimeError(f"load {load_id} is {status}, not landed")
    return system, extracted_at, status


def supersede(conn: psycopg.Connection, load_id: int) -> None:
    """An extraction older than one merged already: never merged (the newest word wins)."""
    conn.execute(sqlfile.step(SQL, "supersede"), (load_id,))


def quarantine(
    conn: psycopg.Connection,
    sql_name: str,
    params: dict[str, Any],
    *,
    entity: str,
    temp_table: str,
    run_key: str,
    stage: list[str],
    full_snapshot: bool = True,
) -> tuple[int, int]:
    """Stage the entity's candidates (``stage``: the SQL file's staging steps), queue the bad ones and
    clear the items whose problem is gone; returns (queued, cleared)."""
    sqlfile.run(conn, sql_name, params, only=stage)
    system = params["system"]
    return queue.sync_from(
        conn,
        kind="quarantine",
        system=system,
        entity=entity,
        table=sql.Identifier(temp_table),
        run_key=run_key,
        detail_col="detail",
        full_snapshot=full_snapshot,
    )


def merged(
    conn: psycopg.Connection,
    load_id: int,
    system: str,
    entity: str,
    watermark: dt.datetime | None,
    run_key: str,
    *,
    keep: int,
) -> None:
    """Mark the load merged, advance the watermark (never backwards) and prune old staging."""
    conn.execute(sqlfile.step(SQL, "mark_merged"), (load_id,))
    previous = watermarks.watermark(conn, system, entity)
    if watermark is not None and (previous is None or watermark > previous):
        watermarks.set_watermark(conn, system, entity, watermark, run_key=run_key, load_id=load_id)
    prune(conn, system, entity, keep=keep)


def prune(conn: psycopg.Connection, system: str, entity: str, *, keep: int) -> None:
    """Drop staged loads older than the last ``keep`` merged ones (their rows cascade)."""
    conn.execute(sqlfile.step(SQL, "prune"), (system, entity, system, entity, keep))


def count_rows(conn: psycopg.Connection, table: str) -> int:
    """The number of rows of a (temporary) table, by name."""
    return int(sqlfile.one(conn.execute(sqlfile.step(SQL, "count_rows").format(table=sql.Identifier(table))))[0])
