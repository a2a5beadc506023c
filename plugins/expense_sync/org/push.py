"""Push the canonical org delta to the expense system (合思), exactly once per change.

What is pushed is decided by the outbound ledger: a department or person is a candidate when its
canonical row changed since the last push, or its last write did not finish; it is written only
when the state the mapping file renders differs from what the ledger says 合思 holds. Hence a
re-run with nothing changed makes no write call.

Order matters in 合思: departments are created parents-first, people after their departments,
leavers are disabled before their departments, departments children-first. Every write goes
through the ledger (:mod:`expense_sync.store.outbound`); a write whose outcome is unknown is
resolved by looking the record up by its code before anything is sent again. Refusals (a person
with pending documents, a department that still has staff, a record 合思 rejects) go to the
exception queue and the rest carries on.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

import psycopg
from psycopg.rows import dict_row

from expense_sync import mapping
from expense_sync.hooks.ekuaibao import EkuaibaoHook
from expense_sync.hooks.errors import OutcomeUnknownError, VendorRequestError
from expense_sync.settings import MDM_CONN_ID
from expense_sync.store import outbound, queue, runs
from expense_sync.store.db import connect
from expense_sync.store.locks import held

log = logging.getLogger(__name__)
TARGET = "ekuaibao"
BATCH = 100
ANALYZE_FIRST = 2000  # new ledger rows after which (and after each doubling) the push re-analyzes
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

UNITS = """
WITH RECURSIVE tree AS (
    SELECT org_unit_id, 0 AS depth FROM mdm.org_unit WHERE parent_id IS NULL
    UNION ALL
    SELECT c.org_unit_id, t.depth + 1 FROM mdm.org_unit c JOIN tree t ON c.parent_id = t.org_unit_id
)
SELECT u.org_unit_id, u.code, u.name, u.sort_order, u.active, u.parent_id, t.depth, u.updated_at,
       o.state, o.payload_hash, o.payload
FROM mdm.org_unit u
JOIN tree t USING (org_unit_id)
LEFT JOIN sync.outbound o ON o.target_system = 'ekuaibao' AND o.entity = 'org_unit' AND o.business_key = u.code
WHERE %(full)s OR u.updated_at > %(since)s OR o.business_key IS NULL OR o.state <> 'done'
   OR o.payload_hash IS NULL
ORDER BY t.depth, u.code
"""

EMPLOYEES = """
SELECT e.employee_id, e.employee_no, e.name, e.email, e.mobile, e.org_unit_id, p.title AS position_title,
       e.active, e.updated_at, o.state, o.payload_hash, o.payload
FROM mdm.employee e
LEFT JOIN mdm.position p USING (position_id)
LEFT JOIN sync.outbound o ON o.target_system = 'ekuaibao' AND o.entity = 'employee'
                          AND o.business_key = e.employee_no
WHERE %(full)s OR e.updated_at > %(since)s OR o.business_key IS NULL OR o.state <> 'done'
   OR o.payload_hash IS NULL
ORDER BY e.employee_no
"""


def _crosswalk(conn: psycopg.Connection, entity: str) -> dict[int, str]:
    return dict(
        conn.execute(
            "SELECT canonical_id, external_id FROM mdm.crosswalk WHERE entity = %s AND system = %s",
            (entity, TARGET),
        ).fetchall()
    )


def _link(conn: psycopg.Connection, entity: str, pairs: Iterable[tuple[int, str]]) -> None:
    """Record the 合思 ids of canonical records (inside the caller's transaction)."""
    pairs = list(pairs)
    if pairs:
        conn.execute(
            """INSERT INTO mdm.crosswalk (entity, canonical_id, system, external_id)
               SELECT %s, c, %s, r FROM unnest(%s::bigint[], %s::text[]) AS t(c, r)
               ON CONFLICT (entity, canonical_id, system) DO UPDATE
                  SET external_id = EXCLUDED.external_id, updated_at = now()""",
            (entity, TARGET, [c for c, _ in pairs], [r for _, r in pairs]),
        )


class DirectoryPush:
    """One push of the org delta to 合思 (see the module docstring)."""

    def __init__(
        self,
        conn: psycopg.Connection,
        hook: EkuaibaoHook,
        run_key: str,
        *,
        full: bool = False,
        conn_id: str = MDM_CONN_ID,
    ):
        self.conn, self.hook, self.run_key, self.full, self.conn_id = conn, hook, run_key, full, conn_id
        self.unit_spec = mapping.load(TARGET, "org_unit")
        self.staff_spec = mapping.load(TARGET, "employee")
        self.counts: dict[str, Counter] = {"org_unit": Counter(), "employee": Counter()}
        self._new_rows, self._analyze_at = 0, ANALYZE_FIRST
        self._lock = threading.Lock()
        self._local = threading.local()
        self._worker_conns: list[psycopg.Connection] = []

    @property
    def db(self) -> psycopg.Connection:
        """This thread's connection: the task's own in the main thread, one per writer thread."""
        if threading.current_thread() is threading.main_thread():
            return self.conn
        if getattr(self._local, "conn", None) is None:
            self._local.conn = connect(self.conn_id)
            with self._lock:
                self._worker_conns.append(self._local.conn)
        return self._local.conn

    def _tally(self, entity: str, key: str, n: int) -> None:
        with self._lock:
            self.counts[entity][key] += n

    # -- helpers ----------------------------------------------------------------------------------
    def _fail(self, entity: str, key: str, reason_code: str, error: str, record: Any, *, state: str = "failed") -> None:
        with self.db.transaction():
            outbound.mark_failed(self.db, TARGET, entity, key, error, state=state)
            queue.open_item(
                self.db,
                kind="conflict",
                system=TARGET,
                entity=entity,
                record_key=key,
                reason_code=reason_code,
                detail=error,
                record=record,
                run_key=self.run_key,
            )
        self._tally(entity, state, 1)

    def _done(
        self,
        entity: str,
        done: list[tuple[str, str | None]],
        links: Iterable[tuple[int, str]] = (),
        *,
        verified: bool = True,
    ) -> None:
        """Record a success in one transaction: the 合思 ids, the ledger, and the record's conflicts
        cleared. Committed asynchronously: if it is lost, the ledger still says 'sending' and the
        next attempt settles it by lookup."""
        links = list(links)
        with self.db.transaction():
            self.db.execute("SET LOCAL synchronous_commit = off")
            _link(self.db, entity, links)
            outbound.mark_done(self.db, TARGET, entity, done, verified=verified)
            if verified:
                queue.clear_records(
                    self.db,
                    kind="conflict",
                    system=TARGET,
                    entity=entity,
                    keys=[key for key, _ in done],
                    run_key=self.run_key,
                )
        with self._lock:
            self._new_rows += len(links)
            due = self._new_rows >= self._analyze_at
            if due:
                self._analyze_at *= 2
        if due:
            # A first sync grows the ledger and the crosswalk from nothing faster than autovacuum
            # analyzes them; stale statistics would make every later batch hash the whole ledger.
            self.db.execute("ANALYZE sync.outbound, mdm.crosswalk")

    @staticmethod
    def _was_active(row: dict) -> bool | None:
        """Whether 合思 has the record enabled, as far as the ledger *confirms* it (else ``None``).

        The ledger's payload is what we last intended; it is 合思's state only once the write is
        ``done`` and verified (a refused or in-doubt write leaves it unconfirmed).
        """
        if row.get("state") != "done" or row.get("payload_hash") is None or row.get("payload") is None:
            return None
        return bool(row["payload"].get("active"))

    def _unchanged(self, row: dict, state: dict) -> bool:
        return row.get("state") == "done" and row.get("payload_hash") == outbound.state_hash(state)

    # -- the push ---------------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        with held(self.conn, f"push/{TARGET}/directory"):  # one directory push at a time
            return self._run()

    def _run(self) -> dict[str, Any]:
        corp = self.hook.corporation()
        self._resolve_in_doubt()
        unit_since = runs.watermark(self.db, TARGET, "org_unit:push") or EPOCH
        staff_since = runs.watermark(self.db, TARGET, "employee:push") or EPOCH
        with self.db.cursor(row_factory=dict_row) as cur:
            units = cur.execute(UNITS, {"full": self.full, "since": unit_since}).fetchall()
        self.unit_remote = _crosswalk(self.db, "org_unit")
        self.staff_remote = _crosswalk(self.db, "employee")
        roots = self.db.execute("SELECT org_unit_id FROM mdm.org_unit WHERE parent_id IS NULL").fetchall()
        if len(roots) != 1:
            raise RuntimeError(f"the org tree has {len(roots)} roots; refusing to push")
        root_id = roots[0][0]
        self._push_units([u for u in units if u["active"] or u["org_unit_id"] == root_id], root_id, corp)
        # Staff stream through a server-side cursor (held across the ledger's commits): memory stays
        # flat however many candidates the first sync of a large company has.
        with self.db.cursor("push_staff", row_factory=dict_row, withhold=True) as cur:
            cur.itersize = 2000
            cur.execute(EMPLOYEES, {"full": self.full, "since": staff_since})
            staff_watermark = self._push_staff(cur, workers=self.hook.settings.concurrency)
        self._disable_units([u for u in units if not u["active"] and u["org_unit_id"] != root_id])

        with self.db.transaction():
            if units:
                runs.set_watermark(
                    self.db, TARGET, "org_unit:push", max(u["updated_at"] for u in units), run_key=self.run_key
                )
            if staff_watermark:
                runs.set_watermark(self.db, TARGET, "employee:push", staff_watermark, run_key=self.run_key)
        return {entity: dict(c) for entity, c in self.counts.items()} | {"api_calls": self.hook.stats["calls"]}

    # -- in doubt: writes whose outcome is unknown -------------------------------------------------
    def _resolve_in_doubt(self) -> None:
        """Look up every write left 'sending' by an earlier attempt and record what 合思 holds."""
        for key, _, remote_id in outbound.in_doubt(self.db, TARGET, "org_unit"):
            found = self.hook.get_department(remote_id or key)
            self._settle("org_unit", key, found["id"] if found and found.get("active", True) else None)
        staff_keys = [key for key, _, _ in outbound.in_doubt(self.db, TARGET, "employee")]
        found = {s["code"]: s["id"] for s in self.hook.find_staffs("CODE", staff_keys)} if staff_keys else {}
        for key in staff_keys:
            self._settle("employee", key, found.get(key))

    def _settle(self, entity: str, key: str, remote_id: str | None) -> None:
        table = "mdm.org_unit" if entity == "org_unit" else "mdm.employee"
        column = "code" if entity == "org_unit" else "employee_no"
        canonical = self.db.execute(f"SELECT {entity}_id FROM {table} WHERE {column} = %s", (key,)).fetchone()
        if remote_id and canonical:
            self._done(entity, [(key, remote_id)], [(canonical[0], remote_id)], verified=False)
            self._tally(entity, "adopted", 1)
        else:  # never arrived: forget the hash so the record is sent again
            self._done(entity, [(key, None)], verified=False)

    # -- departments ------------------------------------------------------------------------------
    def _unit_state(self, unit: dict) -> dict:
        parent = self.unit_remote.get(unit["parent_id"]) if unit["parent_id"] else ""
        payload = self.unit_spec.render({**unit, "parent_remote_id": parent})
        return {"payload": payload, "active": unit["active"]}

    def _push_units(self, units: list[dict], root_id: int, corp: str) -> None:
        by_depth: dict[int, list[dict]] = defaultdict(list)
        for unit in units:
            by_depth[unit["depth"]].append(unit)
        for depth in sorted(by_depth):
            creates = []
            for unit in by_depth[depth]:
                key, remote = unit["code"], self.unit_remote.get(unit["org_unit_id"])
                if unit["org_unit_id"] == root_id:
                    remote = corp  # the tenant's root department is the corporation itself
                    state = {"payload": {"root": True}, "active": True}
                    if not self._unchanged(unit, state):
                        outbound.mark_sending(self.db, TARGET, "org_unit", [(key, state)], self.run_key)
                        self._done("org_unit", [(key, corp)], [(root_id, corp)])
                        self.unit_remote[root_id] = corp
                    continue
                state = self._unit_state(unit)
                if self._unchanged(unit, state):
                    self._tally("org_unit", "unchanged", 1)
                elif not state["payload"].get("parentId"):
                    self._fail(
                        "org_unit",
                        key,
                        "push_refused",
                        "its parent department is not in 合思 yet",
                        state,
                        state="blocked",
                    )
                elif remote is None:
                    creates.append((unit, state))
                else:
                    self._update_unit(unit, key, remote, state)
            for i in range(0, len(creates), BATCH):
                self._create_units(creates[i : i + BATCH])

    def _update_unit(self, unit: dict, key: str, remote: str, state: dict) -> None:
        outbound.mark_sending(self.db, TARGET, "org_unit", [(key, state)], self.run_key)
        try:
            if self._was_active(unit) is not True:  # disabled, or not known to be enabled
                self.hook.set_department_active(remote, True)
                self._tally("org_unit", "enabled", 1)
            self.hook.update_department(remote, state["payload"])
        except VendorRequestError as err:
            self._fail("org_unit", key, "push_refused", err.message, state)
            return
        self._done("org_unit", [(key, remote)])
        self._tally("org_unit", "updated", 1)

    def _create_units(self, batch: list[tuple[dict, dict]]) -> None:
        intents = [(unit["code"], state) for unit, state in batch]
        outbound.mark_sending(self.db, TARGET, "org_unit", intents, self.run_key)
        try:
            created = self.hook.create_departments([state["payload"] for _, state in batch])
        except (VendorRequestError, OutcomeUnknownError) as err:
            # Which of the batch exist now is unknown: look each up, then send the rest one by one.
            log.warning("batch department create failed (%s); settling one by one", err)
            for unit, state in batch:
                self._create_unit_alone(unit, state)
            return
        by_code = {item["code"]: item["id"] for item in created}
        done = [(unit["code"], by_code[unit["code"]]) for unit, _ in batch]
        self._done("org_unit", done, [(unit["org_unit_id"], by_code[unit["code"]]) for unit, _ in batch])
        for unit, _ in batch:
            self.unit_remote[unit["org_unit_id"]] = by_code[unit["code"]]
        self._tally("org_unit", "created", len(batch))

    def _create_unit_alone(self, unit: dict, state: dict) -> None:
        key = unit["code"]
        existing = self.hook.get_department(key)
        try:
            remote = existing["id"] if existing else self.hook.create_department(state["payload"])["id"]
        except VendorRequestError as err:
            self._fail("org_unit", key, "push_refused", err.message, state)
            return
        self._done("org_unit", [(key, remote)], [(unit["org_unit_id"], remote)], verified=existing is None)
        self.unit_remote[unit["org_unit_id"]] = remote
        self._tally("org_unit", "created" if existing is None else "adopted", 1)

    def _disable_units(self, units: list[dict]) -> None:
        for unit in sorted(units, key=lambda u: -u["depth"]):
            key, remote = unit["code"], self.unit_remote.get(unit["org_unit_id"])
            state = {"payload": self._unit_state(unit)["payload"], "active": False}
            if self._unchanged(unit, state):
                continue
            if remote is None or self._was_active(unit) is False:
                outbound.record_done(self.db, TARGET, "org_unit", key, state, remote, self.run_key)
                continue
            outbound.mark_sending(self.db, TARGET, "org_unit", [(key, state)], self.run_key)
            try:
                self.hook.set_department_active(remote, False)
            except VendorRequestError as err:
                code = "unit_has_staff" if err.status == 412 else "push_refused"
                self._fail("org_unit", key, code, err.message, state, state="blocked")
                continue
            self._done("org_unit", [(key, remote)])
            self._tally("org_unit", "disabled", 1)

    # -- staff ------------------------------------------------------------------------------------
    def _push_staff(self, staff: Iterable[dict], *, workers: int) -> dt.datetime | None:
        """Push the staff candidates, 100 a call per kind of write, on ``workers`` writer threads
        (each with its own PostgreSQL connection, all sharing the connection's rate limit and
        token); return the newest change seen. Records are independent of each other here: their
        departments were all pushed before."""
        creates, updates, disables = [], [], []
        newest = None
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="push")
        in_flight: set[Future] = set()
        finished: list[Future] = []

        def flush(force: bool = False) -> None:
            for pending, send in (
                (creates, self._create_staff),
                (updates, self._update_staff),
                (disables, self._disable_staff),
            ):
                if pending and (force or len(pending) >= BATCH):
                    if len(in_flight) >= 2 * workers:  # back-pressure: read on only as writers free up
                        done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                        in_flight.difference_update(done)
                        finished.extend(done)
                    in_flight.add(pool.submit(send, pending[:]))
                    pending.clear()

        for person in staff:
            newest = max(newest or person["updated_at"], person["updated_at"])
            key, remote = person["employee_no"], self.staff_remote.get(person["employee_id"])
            unit_remote = self.unit_remote.get(person["org_unit_id"])
            state = {
                "payload": self.staff_spec.render({**person, "org_unit_remote_id": unit_remote}),
                "active": person["active"],
            }
            if self._unchanged(person, state):
                self._tally("employee", "unchanged", 1)
            elif remote is None and not person["active"]:
                outbound.record_done(self.db, TARGET, "employee", key, state, None, self.run_key)
            elif remote is not None and not person["active"]:
                if self._was_active(person) is False:  # already disabled in 合思; nothing to send
                    outbound.record_done(self.db, TARGET, "employee", key, state, remote, self.run_key)
                else:
                    disables.append((person, key, remote, state))
            elif not unit_remote:
                self._fail("employee", key, "push_refused", "the department is not in 合思", state, state="blocked")
            elif not state["payload"].get("cellphone"):
                self._fail("employee", key, "missing_mobile", "no mobile number", state)
            elif remote is None:
                creates.append((person, state))
            else:
                updates.append((person, key, remote, state))
            flush()
        flush(force=True)
        pool.shutdown(wait=True)
        for conn in self._worker_conns:
            conn.close()
        self._worker_conns.clear()
        for future in [*finished, *in_flight]:  # a failure fails the task (the ledger knows where it got)
            future.result()
        return newest

    def _create_staff(self, batch: list[tuple[dict, dict]]) -> None:
        outbound.mark_sending(self.db, TARGET, "employee", [(p["employee_no"], s) for p, s in batch], self.run_key)
        try:
            created = self.hook.create_staffs([state["payload"] for _, state in batch])
        except (VendorRequestError, OutcomeUnknownError) as err:
            log.warning("batch staff create failed (%s); settling one by one", err)
            existing = {s["code"]: s["id"] for s in self.hook.find_staffs("CODE", [p["employee_no"] for p, _ in batch])}
            for person, state in batch:
                self._create_staff_alone(person, state, existing.get(person["employee_no"]))
            return
        by_code = {item["code"]: item["id"] for item in created}
        done = [(p["employee_no"], by_code[p["employee_no"]]) for p, _ in batch]
        self._done("employee", done, [(p["employee_id"], by_code[p["employee_no"]]) for p, _ in batch])
        self._tally("employee", "created", len(batch))

    def _create_staff_alone(self, person: dict, state: dict, existing: str | None) -> None:
        key = person["employee_no"]
        try:
            remote = existing or self.hook.create_staffs([state["payload"]])[0]["id"]
        except VendorRequestError as err:
            self._fail("employee", key, "push_refused", err.message, state)
            return
        self._done("employee", [(key, remote)], [(person["employee_id"], remote)], verified=existing is None)
        self._tally("employee", "created" if existing is None else "adopted", 1)

    def _update_staff(self, batch: list[tuple[dict, str, str, dict]]) -> None:
        """Update changed staff (re-enabling anyone not known to be enabled), 100 a call; a refused
        batch is retried one by one so that only the refused record is held back."""
        outbound.mark_sending(self.db, TARGET, "employee", [(key, state) for _, key, _, state in batch], self.run_key)
        try:
            enable = [remote for person, _, remote, _ in batch if self._was_active(person) is not True]
            if enable:
                self.hook.set_staff_active(enable, True)
            self.hook.update_staffs([{"id": remote, **state["payload"]} for _, _, remote, state in batch])
        except VendorRequestError as err:
            if len(batch) > 1:
                log.warning("batch staff update refused (%s); sending one by one", err)
                for item in batch:
                    self._update_staff([item])
                return
            self._fail("employee", batch[0][1], "push_refused", err.message, batch[0][3])
            return
        self._done("employee", [(key, remote) for _, key, remote, _ in batch])
        if enable:
            self._tally("employee", "enabled", len(enable))
        self._tally("employee", "updated", len(batch))

    def _disable_staff(self, batch: list[tuple[dict, str, str, dict]]) -> None:
        """Disable leavers, 100 a call; 合思 refuses the whole call when anyone in it still has
        pending documents, so a refused batch is retried one by one to hold back only those."""
        outbound.mark_sending(self.db, TARGET, "employee", [(key, state) for _, key, _, state in batch], self.run_key)
        try:
            self.hook.set_staff_active([remote for _, _, remote, _ in batch], False)
        except VendorRequestError as err:
            if len(batch) > 1:
                for item in batch:
                    self._disable_staff([item])
                return
            code = "pending_documents" if err.status == 403 else "push_refused"
            self._fail("employee", batch[0][1], code, err.message, batch[0][3], state="blocked")
            return
        self._done("employee", [(key, remote) for _, key, remote, _ in batch])
        self._tally("employee", "disabled", len(batch))


def push_directory(conn: psycopg.Connection, hook: EkuaibaoHook, run_key: str, *, full: bool = False) -> dict[str, Any]:
    """Push what changed in the canonical org tables to 合思; return counts."""
    return DirectoryPush(conn, hook, run_key, full=full).run()
