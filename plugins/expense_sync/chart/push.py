"""Push cost centers and projects to 合思 as dimension items: exactly once, and never over a change
made in 合思 without saying so.

A record is looked at when its canonical row changed since the last push, when 合思's item changed
since the last read, when it has no sync state yet, or when its last write did not finish. Its ERP
view and its 合思 view (:mod:`expense_sync.chart.state`) are compared with what both sides agreed on
at the last sync:

* only the ERP changed → 合思 gets the ERP's value (create, update, enable or disable);
* only 合思 changed → the ERP is master: 合思 is restored, and the overwrite is recorded in the
  queue (``expense_side_edited``, resolved by ``system``) — never silently;
* both changed, to different values → a ``changed_both_sides`` conflict; nothing is written for
  the record until a person decides (:mod:`expense_sync.chart.decisions`);
* both changed to the same value → they agree again; nothing to write.

Every write goes through :func:`expense_sync.store.exactly_once.write_once`: a write whose outcome
is unknown is settled by looking the item up by its code before anything is sent again; a write's
success (ledger ``done``, crosswalk, sync state, queue) is recorded in one transaction; and one
process at a time pushes an entity (an advisory lock per entity, besides the write's per-key locks).
Items are created parents first, in batches of 100; a refused batch is retried one by one, and a
refusal is queued (``push_refused``) while the rest carries on.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter, defaultdict
from dataclasses import replace
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from expense_sync import mapping
from expense_sync.chart import state
from expense_sync.hooks.ekuaibao import EkuaibaoHook
from expense_sync.hooks.errors import VendorRequestError
from expense_sync.progress import Progress
from expense_sync.store import outbound, queue, sqlfile, watermarks
from expense_sync.store.exactly_once import Outcome, Write, settle, write_once
from expense_sync.store.locks import held

log = logging.getLogger(__name__)
TARGET = "ekuaibao"
BATCH = 100
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
SQL = "chart/push"
# the canonical table and its id column, per entity
TABLES = {
    "cost_center": {"table": sql.Identifier("mdm", "cost_center"), "id": sql.Identifier("cost_center_id")},
    "project": {"table": sql.Identifier("mdm", "project"), "id": sql.Identifier("project_id")},
}


class DimensionPush:
    """Cost centers and projects to 合思 dimension items (see the module docstring)."""

    def __init__(self, conn: psycopg.Connection, hook: EkuaibaoHook, run_key: str, dimensions: dict[str, str]):
        self.conn, self.hook, self.run_key, self.dimensions = conn, hook, run_key, dimensions
        self.counts: dict[str, Counter] = {entity: Counter() for entity in TABLES}

    # -- entry points -----------------------------------------------------------------------------
    def run(self, *, full: bool = False) -> dict[str, Any]:
        """Push what changed on either side; returns counts per entity."""
        for entity in TABLES:
            self.push(entity, full=full)
        return self.result()

    def push(self, entity: str, *, full: bool = False, codes: list[str] | None = None, force: bool = False) -> None:
        """Look at one entity's changed records (or exactly ``codes``; ``force`` writes the ERP's value)."""
        with held(self.conn, f"push/{TARGET}/{entity}"):  # one pusher per entity at a time
            self._push(entity, full=full, codes=codes, force=force)

    def _push(self, entity: str, *, full: bool, codes: list[str] | None, force: bool) -> None:
        dimension = self.dimensions[entity]
        self._settle_in_doubt(entity, dimension)
        since = watermarks.watermark(self.conn, TARGET, f"{entity}:push") or EPOCH
        expense_since = watermarks.watermark(self.conn, TARGET, f"{entity}:reconcile") or EPOCH
        expense_now = sqlfile.one(self.conn.execute(sqlfile.step(SQL, "newest_expense_change"), (dimension,)))[0]
        params = {
            "entity": entity,
            "codes": codes,
            "all": full or codes is not None,
            "since": since,
            "dimension": dimension,
            "expense_since": expense_since,
        }
        with self.conn.cursor(row_factory=dict_row) as cur:
            rows = cur.execute(sqlfile.step(SQL, "candidates").format(**TABLES[entity]), params).fetchall()
        self._load_remote(entity, dimension, rows)
        by_depth: dict[int, list[dict]] = defaultdict(list)
        for row in rows:
            by_depth[row["depth"]].append(row)
        progress = Progress(
            f"pushing {entity} to 合思", total=len(rows), extra=lambda: f"api calls {self.hook.stats['calls']}"
        )
        for depth in sorted(by_depth):
            creates = []
            for row in by_depth[depth]:
                if (create := self._reconcile(entity, row, force)) is not None:
                    creates.append(create)
                progress.tick()
            for i in range(0, len(creates), BATCH):
                self._create(entity, dimension, creates[i : i + BATCH])
        if codes is None:
            with self.conn.transaction():
                if rows:
                    newest = max(r["updated_at"] for r in rows)
                    if newest > since:
                        watermarks.set_watermark(self.conn, TARGET, f"{entity}:push", newest, run_key=self.run_key)
                if expense_now is not None and expense_now > expense_since:
                    stream = f"{entity}:reconcile"
                    watermarks.set_watermark(self.conn, TARGET, stream, expense_now, run_key=self.run_key)

    def result(self) -> dict[str, Any]:
        return {entity: dict(c) for entity, c in self.counts.items()} | {"api_calls": self.hook.stats["calls"]}

    # -- what 合思 holds --------------------------------------------------------------------------
    def _load_remote(self, entity: str, dimension: str, rows: list[dict]) -> None:
        """The crosswalk both ways, and 合思's items for these codes (as last read)."""
        pairs = self.conn.execute(
            sqlfile.step(SQL, "crosswalk_pairs").format(**TABLES[entity]), (entity, TARGET)
        ).fetchall()
        self.remote_of: dict[str, str] = dict(pairs)
        self.code_of: dict[str, str] = {remote: code for code, remote in pairs}
        self.items: dict[str, list[dict]] = defaultdict(list)
        with self.conn.cursor(row_factory=dict_row) as cur:
            found = cur.execute(
                sqlfile.step(SQL, "items_of_codes"),
                (dimension, [r["code"] for r in rows]),
            ).fetchall()
        for item in found:
            self.items[item["code"]].append(item)
            self.code_of.setdefault(item["remote_id"], item["code"])

    def _item(self, row: dict) -> dict | None:
        """合思's item for a record: the linked one, else an enabled one with its code, else any."""
        candidates = self.items.get(row["code"], [])
        linked = [i for i in candidates if i["remote_id"] == row["remote_id"]]
        found = linked or [i for i in candidates if i["active"]] or candidates
        return found[0] if found else None

    # -- deciding -----------------------------------------------------------------------------------
    def _reconcile(self, entity: str, row: dict, force: bool) -> tuple[dict, dict, str] | None:
        """Decide one record; do what needs no batch; return a create for the batch, else ``None``."""
        counts, key = self.counts[entity], row["code"]
        item = self._item(row)
        remote = row["remote_id"] or (item["remote_id"] if item else None)
        if remote and not row["remote_id"]:  # an item with our code already in 合思: adopt it
            _link(self.conn, entity, row["canonical_id"], remote)
            self.remote_of[key] = remote
            counts["adopted"] += 1
        erp = state.erp_view(row)
        expense = state.expense_view(item, self.code_of)
        erp_hash = state.view_hash(erp)
        # an item we know but did not read (created after the read) is as we left it
        expense_hash = state.view_hash(expense) if item or not remote else row["expense_hash"]
        first = row["erp_hash"] is None
        if first and not force and expense_hash == erp_hash:  # already alike in 合思 (adopted, or both absent)
            self._agreed(entity, key, erp_hash, "in_sync")
            return None
        erp_changed = first or erp_hash != row["erp_hash"]
        expense_changed = first or expense_hash != row["expense_hash"]
        unsettled = row["ledger_state"] not in (None, "done") or (row["ledger_state"] and not row["payload_hash"])
        if not force and not first and erp_changed and expense_changed:
            if erp_hash == expense_hash:  # both sides made the same change
                self._agreed(entity, key, erp_hash, "converged")
                return None
            self._conflict(entity, row, erp, expense, erp_hash, expense_hash, remote)
            return None
        if not (force or erp_changed or expense_changed or unsettled):
            counts["unchanged"] += 1
            return None
        restore = not force and expense_changed and expense is not None
        if remote is None:
            if not erp["active"]:  # never in 合思 and inactive: nothing to create
                self._agreed(entity, key, erp_hash, "skipped_inactive", expense_hash=state.view_hash(None))
                return None
            return row, erp, erp_hash
        self._write(entity, row, remote, erp, expense, erp_hash, restore=restore)
        return None

    def _agreed(self, entity: str, key: str, erp_hash: str, count: str, *, expense_hash: str | None = None) -> None:
        with self.conn.transaction():
            state.save(self.conn, entity, key, erp_hash, expense_hash or erp_hash)
            queue.clear_records(
                self.conn, kind="conflict", system=TARGET, entity=entity, keys=[key], run_key=self.run_key
            )
        self.counts[entity][count] += 1

    def _conflict(self, entity: str, row: dict, erp: dict, expense: dict | None, erp_hash: str, expense_hash: str,
                  remote: str | None) -> None:  # fmt: skip
        record = {
            "erp": erp,
            "expense": expense,
            "erp_hash": erp_hash,
            "expense_hash": expense_hash,
            "remote_id": remote,
        }
        with self.conn.transaction():
            reopen_if_changed(self.conn, entity, row["code"], "changed_both_sides", record, self.run_key)
            queue.open_item(
                self.conn,
                kind="conflict",
                system=TARGET,
                entity=entity,
                record_key=row["code"],
                reason_code="changed_both_sides",
                detail=describe(erp, expense),
                record=record,
                run_key=self.run_key,
            )
        self.counts[entity]["conflicts"] += 1

    # -- writing ------------------------------------------------------------------------------------
    def _payload(self, entity: str, row: dict) -> dict | None:
        """The item as 合思 wants it, or ``None`` when its parent is not in 合思 yet."""
        parent = self.remote_of.get(row["parent_code"]) if row["parent_code"] else ""
        if parent is None:
            return None
        return mapping.load(TARGET, entity).render({**row, "parent_remote_id": parent})

    def _fail(self, entity: str, key: str, reason: str, error: str, record: Any, *, ledger: str = "failed") -> None:
        outbound.fail_and_queue(
            self.conn, TARGET, entity, key, reason, error, record, run_key=self.run_key, state=ledger
        )
        self.counts[entity][ledger] += 1

    def _refusal(self, conn: psycopg.Connection, entity: str, key: str, state: dict, err: VendorRequestError) -> str:
        """A write 合思 refused: queued (inside the exactly-once write's transaction)."""
        queue.open_item(conn, kind="conflict", system=TARGET, entity=entity, record_key=key,
                        reason_code="push_refused", detail=err.message, record=state, run_key=self.run_key)  # fmt: skip
        self.counts[entity]["failed"] += 1
        return "failed"

    def _create_write(self, entity: str, dimension: str) -> Write:
        """How an item is created in 合思 (100 a call), and found by its code when in doubt."""
        return Write(
            target=TARGET,
            entity=entity,
            send=lambda intents: {
                item["code"]: item["id"]
                for item in self.hook.create_dimension_items(dimension, [state["payload"] for _, state in intents])
            },
            lookup=lambda keys: {
                k: item["id"] for k in keys if (item := pick(self.hook.find_dimension_items(dimension, k)))
            },
            refused=lambda conn, key, state, err: self._refusal(conn, entity, key, state, err),
            batch=BATCH,
        )

    def _write(self, entity: str, row: dict, remote: str, erp: dict, expense: dict | None, erp_hash: str, *,
               restore: bool) -> None:  # fmt: skip
        """Make 合思's item hold the ERP's view: enable, update, disable — only the calls needed."""
        key, counts = row["code"], self.counts[entity]
        payload = self._payload(entity, row)
        # what 合思 held is part of the intent: restoring a hand edit is a new write, not a repeat
        intent = {"view": erp, "payload": payload, "seen": state.view_hash(expense)}
        if payload is None:
            outbound.mark_sending(self.conn, TARGET, entity, [(key, intent)], self.run_key)
            self._fail(entity, key, "parent_not_in_expense", f"parent {row['parent_code']} is not in 合思", intent,
                       ledger="blocked")  # fmt: skip
            return
        same_fields = expense is not None and all(expense[k] == erp[k] for k in ("code", "name", "parent"))

        def send(_: list) -> dict[str, str]:
            if erp["active"] and (expense is None or not expense["active"]):
                self.hook.set_dimension_item_active(remote, True)
                counts["enabled"] += 1
            if not same_fields:
                self.hook.update_dimension_item(remote, payload)
                counts["updated"] += 1
            if not erp["active"] and (expense is None or expense["active"]):
                self.hook.set_dimension_item_active(remote, False)
                counts["disabled"] += 1
            return {key: remote}

        def record(conn: psycopg.Connection, _: list[Outcome]) -> None:
            state.save(conn, entity, key, erp_hash, erp_hash)
            queue.clear_records(conn, kind="conflict", system=TARGET, entity=entity, keys=[key], run_key=self.run_key)
            if restore:
                record_overwrite(conn, entity, key, erp, expense, self.run_key)
                counts["restored"] += 1

        write = Write(
            target=TARGET,
            entity=entity,
            send=send,
            record=record,
            refused=lambda conn, key, intent, err: self._refusal(conn, entity, key, intent, err),
        )
        write_once(self.conn, write, [(key, intent)], run_key=self.run_key)

    def _create(self, entity: str, dimension: str, batch: list[tuple[dict, dict, str]]) -> None:
        ready: dict[str, tuple[dict, str]] = {}
        intents = []
        for row, erp, erp_hash in batch:
            payload = self._payload(entity, row)
            if payload is None:
                outbound.mark_sending(self.conn, TARGET, entity, [(row["code"], {"view": erp})], self.run_key)
                self._fail(entity, row["code"], "parent_not_in_expense", f"parent {row['parent_code']} is not in 合思",
                           {"view": erp}, ledger="blocked")  # fmt: skip
            else:
                ready[row["code"]] = (row, erp_hash)
                intents.append((row["code"], {"view": erp, "payload": payload}))
        if not intents:
            return
        write = self._create_write(entity, dimension)
        write = replace(write, record=lambda conn, outcomes: self._created(
            conn, entity, [(ready[o.key][0], o.created_id, ready[o.key][1]) for o in outcomes]))  # fmt: skip
        for outcome in write_once(self.conn, write, intents, run_key=self.run_key):
            if outcome.how != "refused":
                self.counts[entity]["created" if outcome.how == "sent" else "adopted"] += 1

    def _created(self, conn: psycopg.Connection, entity: str, done: list[tuple[dict, str, str]]) -> None:
        """Record new items (inside the exactly-once write's transaction): crosswalk, sync state, and
        clear their conflicts."""
        for row, remote, _ in done:
            self.remote_of[row["code"]] = remote
            self.code_of[remote] = row["code"]
        with conn.cursor() as cur:
            links = [(entity, row["canonical_id"], TARGET, remote) for row, remote, _ in done]
            cur.executemany(sqlfile.step(SQL, "link"), links)
            states = [(entity, row["code"], h, h, None, None) for row, _, h in done]
            cur.executemany(sqlfile.step(state.SQL, "save"), states)
        queue.clear_records(
            conn, kind="conflict", system=TARGET, entity=entity, keys=[row["code"] for row, _, _ in done],
            run_key=self.run_key,
        )  # fmt: skip

    # -- in doubt: writes whose outcome is unknown -------------------------------------------------
    def _settle_in_doubt(self, entity: str, dimension: str) -> None:
        """Look up every write left 'sending' and record what 合思 holds (crosswalk included); the
        record is then compared again (its ledger hash is cleared)."""
        canonical_of = sqlfile.step(SQL, "canonical_id_of_code").format(**TABLES[entity])

        def record(conn: psycopg.Connection, outcomes: list[Outcome]) -> None:
            for outcome in outcomes:
                canonical = conn.execute(canonical_of, (outcome.key,)).fetchone()
                if canonical:
                    conn.execute(sqlfile.step(SQL, "link"), (entity, canonical[0], TARGET, outcome.remote_id))
                    self.counts[entity]["settled"] += 1

        settle(self.conn, replace(self._create_write(entity, dimension), record=record))


def pick(items: list[dict]) -> dict | None:
    """The enabled item among those with one code, else any."""
    return next((i for i in items if i.get("active")), items[0] if items else None)


def _link(conn: psycopg.Connection, entity: str, canonical_id: int, remote_id: str) -> None:
    with conn.transaction():
        conn.execute(sqlfile.step(SQL, "link"), (entity, canonical_id, TARGET, remote_id))


def describe(erp: dict, expense: dict | None) -> str:
    """What differs between the two sides, for people."""
    if expense is None:
        return "not in 合思"
    labels = {"code": "编码", "name": "名称", "parent": "上级", "active": "启用"}
    diffs = [f"{labels[k]}: ERP {erp[k]!r} / 合思 {expense[k]!r}" for k in labels if erp[k] != expense[k]]
    return "; ".join(diffs) or "same values"


def reopen_if_changed(conn: psycopg.Connection, entity: str, key: str, reason: str, record: dict, run_key: str) -> None:
    """A deferred conflict whose values changed since is open again (and will be asked again)."""
    reopened = conn.execute(
        sqlfile.step(SQL, "reopen_if_changed"),
        (TARGET, entity, key, reason, record["erp_hash"], record["expense_hash"]),
    ).fetchall()
    for (item_id,) in reopened:
        queue.add_event(conn, item_id, queue.SYSTEM_ACTOR, "reopened", {"run_key": run_key})


def record_overwrite(
    conn: psycopg.Connection, entity: str, key: str, erp: dict, expense: dict | None, run_key: str
) -> None:
    """Leave a trace of a 合思 value replaced by the ERP's (a resolved queue item, actor ``system``)."""
    with conn.transaction():  # a savepoint inside the write's own transaction
        item_id = queue.open_item(
            conn,
            kind="conflict",
            system=TARGET,
            entity=entity,
            record_key=key,
            reason_code="expense_side_edited",
            detail=describe(erp, expense),
            record={"erp": erp, "expense": expense},
            run_key=run_key,
        )
        queue.resolve_item(
            conn,
            item_id,
            decision="take_erp",
            actor=queue.SYSTEM_ACTOR,
            note="the ERP is master: 合思 was changed by hand and has been restored",
            action="auto_resolved",
        )


def push_dimensions(
    conn: psycopg.Connection, hook: EkuaibaoHook, run_key: str, dimensions: dict[str, str], *, full: bool = False
) -> dict[str, Any]:
    """Push what changed in the canonical cost centers and projects to 合思; returns counts."""
    return DimensionPush(conn, hook, run_key, dimensions).run(full=full)
