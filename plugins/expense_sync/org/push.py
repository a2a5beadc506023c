"""Push the canonical org delta to the expense system (合思), exactly once per change.

What is pushed is decided by the outbound ledger: a department or person is a candidate when its
canonical row changed since the last push, or its last write did not finish; it is written only
when the state the mapping file renders differs from what the ledger says 合思 holds. Hence a
re-run with nothing changed makes no write call.

Order matters in 合思: departments are created parents-first, people after their departments,
leavers are disabled before their departments, departments children-first. Every write goes
through :func:`expense_sync.store.exactly_once.write_once` (per-key lock, intent, call, success
recorded with the crosswalk in one transaction); a write whose outcome is unknown is resolved by
looking the record up by its code before anything is sent again. Refusals (a person
with pending documents, a department that still has staff, a record 合思 rejects) go to the
exception queue and the rest carries on.

What 合思 holds is read (every department and staff, :class:`Held`) whenever a record's state in
合思 is not confirmed by the ledger: the first sync, a record adopted after a look-up, and every
record under ``full``. Such a record is compared with 合思's own, field by field, and written only
where they differ, in the same run: a department or person found by code is corrected (name,
department, parent, enabled) instead of adopted as it is, and one that already matches is recorded
as confirmed without a write. A field the middle platform does not know (NULL: the OA did not
disclose a mobile or an e-mail) is left out of the write and out of the comparison, so 合思's value
stays. Whenever 合思 was read, its enabled staff that the OA does not know at all (leavers from before
the first sync) are disabled, OA wins, but only after a complete OA read and within the deactivation
guard's share (:func:`expense_sync.org.guard.hold_ekuaibao_only`).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from expense_sync import mapping
from expense_sync.hooks.ekuaibao import EkuaibaoHook
from expense_sync.hooks.errors import VendorRequestError
from expense_sync.progress import Progress
from expense_sync.settings import DEFAULT_ORG_MAX_DEACTIVATION, MDM_CONN_ID
from expense_sync.store import outbound, queue, sqlfile, watermarks
from expense_sync.store.db import connect
from expense_sync.store.exactly_once import Outcome, Write, settle, write_once
from expense_sync.store.locks import held

log = logging.getLogger(__name__)
TARGET = "ekuaibao"
BATCH = 100
ANALYZE_FIRST = 2000  # new ledger rows after which (and after each doubling) the push re-analyzes
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

SQL = "org/push"
ONLY_IN_EKUAIBAO = "ekuaibao_only_staff"  # ledger entity of the disables of 合思-only staff


class Held:
    """What 合思 holds: every department and staff (enabled and disabled), by id and by code (an
    enabled record wins a code shared with disabled ones, as 合思 keeps codes unique among enabled)."""

    def __init__(self, hook: EkuaibaoHook):
        self.units, self.unit_by_id = _index(hook.all_departments())
        self.staff, self.staff_by_id = _index(hook.all_staffs())

    def unit(self, remote: str | None, code: str) -> dict | None:
        return (self.unit_by_id.get(remote) if remote else None) or self.units.get(code)

    def person(self, remote: str | None, code: str) -> dict | None:
        return (self.staff_by_id.get(remote) if remote else None) or self.staff.get(code)


def _index(records: list[dict]) -> tuple[dict[str, dict], dict[str, dict]]:
    by_code: dict[str, dict] = {}
    for record in records:
        code = record.get("code") or ""
        if code and (code not in by_code or (record.get("active") and not by_code[code].get("active"))):
            by_code[code] = record
    return by_code, {record["id"]: record for record in records}


def unit_differences(want: dict[str, Any], held: dict[str, Any]) -> list[str]:
    """The fields in which 合思's department differs from the state we want it to hold."""
    if not want["active"]:
        return ["active"] if held.get("active", True) else []
    payload = want["payload"]
    diffs = [f for f in ("code", "name", "parentId") if payload.get(f) != held.get(f)]
    if payload.get("order") is not None and payload["order"] != (held.get("order") or 0):
        diffs.append("order")
    return diffs + (["active"] if not held.get("active", True) else [])


def staff_differences(want: dict[str, Any], held: dict[str, Any]) -> list[str]:
    """The fields in which 合思's staff differs from the state we want it to hold. A field left out
    of the payload (unknown to the middle platform) is no difference; ``userid`` is not compared (the
    update endpoints do not take it: 合思 keeps the one given at creation)."""
    if not want["active"]:
        return ["active"] if held.get("active") else []
    payload = want["payload"]
    diffs = [f for f in ("name", "code", "defaultDepartment") if payload.get(f) != held.get(f)]
    if "cellphone" in payload and payload["cellphone"] != held.get("cellphone"):
        diffs.append("cellphone")
    if "email" in payload:  # 合思 lower-cases the login e-mail and keeps the display one as given
        shown = {(held.get(f) or "").lower() for f in ("email", "showEmail")}
        if payload["email"].lower() not in shown:
            diffs.append("email")
    if sorted(payload.get("departments") or []) != sorted(held.get("departments") or []):
        diffs.append("departments")
    post = (payload.get("staffCustomForm") or {}).get("postType")
    if post is not None and post != (held.get("staffCustomForm") or {}).get("postType"):
        diffs.append("postType")
    return diffs + ([] if held.get("active") else ["active"])


def _crosswalk(conn: psycopg.Connection, entity: str) -> dict[int, str]:
    return dict(conn.execute(sqlfile.step(SQL, "crosswalk"), (entity, TARGET)).fetchall())


def _link(conn: psycopg.Connection, entity: str, pairs: Iterable[tuple[int, str]]) -> None:
    """Record the 合思 ids of canonical records (inside the caller's transaction)."""
    pairs = list(pairs)
    if pairs:
        conn.execute(
            sqlfile.step(SQL, "link"),
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
        max_deactivation: float = DEFAULT_ORG_MAX_DEACTIVATION,
        approved: Iterable[str] = (),
    ):
        self.conn, self.hook, self.run_key, self.full, self.conn_id = conn, hook, run_key, full, conn_id
        self.max_deactivation = max_deactivation
        self.approved = set(approved)  # 合思-only staff codes a person approved disabling
        self._held: Held | None = None
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
        if not n:
            return
        with self._lock:
            self.counts[entity][key] += n

    # -- helpers ----------------------------------------------------------------------------------
    def _fail(self, entity: str, key: str, reason_code: str, error: str, record: Any, *, state: str = "failed") -> None:
        outbound.fail_and_queue(
            self.db, TARGET, entity, key, reason_code, error, record, run_key=self.run_key, state=state
        )
        self._tally(entity, state, 1)

    def _write(
        self,
        entity: str,
        intents: list[tuple[str, dict]],
        send: Callable[[list[tuple[str, dict]]], dict[str, Any]],
        *,
        canonical: dict[str, int] | None = None,
        lookup: Callable[[list[str]], dict[str, str]] | None = None,
        refusal: Callable[[VendorRequestError], tuple[str, str]] = lambda err: ("push_refused", "failed"),
    ) -> list[Outcome]:
        """Write through the exactly-once primitive; a success records the 合思 ids (crosswalk) and
        clears the record's conflicts in the same transaction; a refusal is queued with its reason
        (``refusal`` names the reason code and the ledger state)."""
        canonical = canonical or {}

        def record(conn: psycopg.Connection, outcomes: list[Outcome]) -> None:
            _link(
                conn, entity, [(canonical[o.key], o.remote_id) for o in outcomes if o.key in canonical and o.remote_id]
            )
            verified = [o.key for o in outcomes if o.verified]
            if verified:
                queue.clear_records(conn, kind="conflict", system=TARGET, entity=entity, keys=verified,
                                    run_key=self.run_key)  # fmt: skip

        def refused(conn: psycopg.Connection, key: str, state: dict, err: VendorRequestError) -> str:
            reason, ledger = refusal(err)
            queue.open_item(conn, kind="conflict", system=TARGET, entity=entity, record_key=key, reason_code=reason,
                            detail=err.message, record=state, run_key=self.run_key)  # fmt: skip
            self._tally(entity, ledger, 1)
            return ledger

        write = Write(TARGET, entity, send, lookup=lookup, record=record, refused=refused, batch=BATCH)
        outcomes = write_once(self.db, write, intents, run_key=self.run_key)
        self._analyze_if_due(sum(o.key in canonical and o.how in ("sent", "adopted") for o in outcomes))
        return outcomes

    def _analyze_if_due(self, new_rows: int) -> None:
        with self._lock:
            self._new_rows += new_rows
            due = self._new_rows >= self._analyze_at
            if due:
                self._analyze_at *= 2
        if due:
            # A first sync grows the ledger and the crosswalk from nothing faster than autovacuum
            # analyzes them; stale statistics would make every later batch hash the whole ledger.
            self.db.execute(sqlfile.step(SQL, "analyze_ledger"))

    def _find_units(self, keys: list[str]) -> dict[str, str]:
        """Enabled 合思 departments by code."""
        found = {key: self.hook.get_department(key, by="code") for key in keys}
        return {key: unit["id"] for key, unit in found.items() if unit and unit.get("active", True)}

    def _find_staff(self, keys: list[str]) -> dict[str, str]:
        """Enabled 合思 staff by code."""
        return {s["code"]: s["id"] for s in self.hook.find_staffs("CODE", keys)} if keys else {}

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

    @property
    def held(self) -> Held:
        """What 合思 holds, read once per run at the first record that needs comparing."""
        if self._held is None:
            self._held = Held(self.hook)
        return self._held

    def _compares(self, row: dict) -> bool:
        """Whether this record is compared with 合思's own: always under ``full``, else when the
        ledger does not confirm what 合思 holds (never written by us, or adopted after a look-up)."""
        return self.full or row.get("payload_hash") is None

    def _confirm(self, entity: str, key: str, state: dict, remote: str, canonical_id: int) -> None:
        """合思 already holds ``state``: link the record and record it done, without a write."""
        with self.db.transaction():
            _link(self.db, entity, [(canonical_id, remote)])
        outbound.record_done(self.db, TARGET, entity, key, state, remote, self.run_key)
        self._tally(entity, "confirmed", 1)

    def _differs(self, entity: str, key: str, diffs: list[str]) -> None:
        """合思 differs from the wanted state in ``diffs``: unvouch the ledger so that the correction
        is written (the ledger may say 合思 holds it: a hand edit in 合思 since)."""
        log.info("%s %s: 合思 differs in %s", entity, key, ", ".join(diffs))
        self.db.execute(sqlfile.step(SQL, "unconfirm"), (entity, key))

    def _adopt_held(self, entity: str, canonical_id: int, remote: str, known: dict[int, str]) -> None:
        """Link a record found in 合思 by code (or by its linked id) before it is corrected."""
        if known.get(canonical_id) != remote:
            with self.db.transaction():
                _link(self.db, entity, [(canonical_id, remote)])
            known[canonical_id] = remote
            self._tally(entity, "adopted", 1)

    # -- the push ---------------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        with held(self.conn, f"push/{TARGET}/directory"):  # one directory push at a time
            return self._run()

    def _run(self) -> dict[str, Any]:
        corp = self.hook.corporation()
        self._resolve_in_doubt()
        unit_since = watermarks.watermark(self.db, TARGET, "org_unit:push") or EPOCH
        staff_since = watermarks.watermark(self.db, TARGET, "employee:push") or EPOCH
        with self.db.cursor(row_factory=dict_row) as cur:
            units = cur.execute(sqlfile.step(SQL, "units"), {"full": self.full, "since": unit_since}).fetchall()
        self.unit_remote = _crosswalk(self.db, "org_unit")
        self.staff_remote = _crosswalk(self.db, "employee")
        roots = self.db.execute(sqlfile.step(SQL, "roots")).fetchall()
        if len(roots) != 1:
            raise RuntimeError(f"the org tree has {len(roots)} roots; refusing to push")
        root_id = roots[0][0]
        self._push_units([u for u in units if u["active"] or u["org_unit_id"] == root_id], root_id, corp)
        # Staff stream through a server-side cursor (held across the ledger's commits): memory stays
        # flat however many candidates the first sync of a large company has.
        with self.db.cursor("push_staff", row_factory=dict_row, withhold=True) as cur:
            cur.itersize = 2000
            cur.execute(sqlfile.step(SQL, "employees"), {"full": self.full, "since": staff_since})
            staff_watermark = self._push_staff(cur, workers=self.hook.settings.concurrency)
        self._disable_units([u for u in units if not u["active"] and u["org_unit_id"] != root_id])
        self._disable_ekuaibao_only()

        with self.db.transaction():
            if units:
                watermarks.set_watermark(
                    self.db, TARGET, "org_unit:push", max(u["updated_at"] for u in units), run_key=self.run_key
                )
            if staff_watermark:
                watermarks.set_watermark(self.db, TARGET, "employee:push", staff_watermark, run_key=self.run_key)
        return {entity: dict(c) for entity, c in self.counts.items()} | {"api_calls": self.hook.stats["calls"]}

    # -- in doubt: writes whose outcome is unknown -------------------------------------------------
    def _resolve_in_doubt(self) -> None:
        """Look up every write left 'sending' by an earlier attempt and record what 合思 holds."""
        for entity, column, find in (
            ("org_unit", "code", self._find_units),
            ("employee", "employee_no", self._find_staff),
        ):
            ids_by_key = sqlfile.step(SQL, "ids_by_key").format(
                key=sql.Identifier(column), id=sql.Identifier(f"{entity}_id"), table=sql.Identifier("mdm", entity)
            )

            def record(conn: psycopg.Connection, outcomes: list[Outcome], entity=entity, ids_by_key=ids_by_key):
                ids: dict[str, int] = dict(conn.execute(ids_by_key, ([o.key for o in outcomes],)).fetchall())
                _link(conn, entity, [(ids[o.key], o.created_id) for o in outcomes if o.key in ids])

            adopted = settle(self.db, Write(TARGET, entity, send=_no_send, lookup=find, record=record))
            self._tally(entity, "adopted", len(adopted))

    # -- departments ------------------------------------------------------------------------------
    def _unit_state(self, unit: dict) -> dict[str, Any]:
        parent = self.unit_remote.get(unit["parent_id"]) if unit["parent_id"] else ""
        payload = self.unit_spec.render({**unit, "parent_remote_id": parent})
        return {"payload": payload, "active": unit["active"]}

    def _push_units(self, units: list[dict], root_id: int, corp: str) -> None:
        by_depth: dict[int, list[dict]] = defaultdict(list)
        for unit in units:
            by_depth[unit["depth"]].append(unit)
        progress = Progress(
            "pushing departments to 合思", total=len(units), extra=lambda: f"api calls {self.hook.stats['calls']}"
        )
        for depth in sorted(by_depth):
            creates = []
            for unit in by_depth[depth]:
                progress.tick()
                key, remote = unit["code"], self.unit_remote.get(unit["org_unit_id"])
                if unit["org_unit_id"] == root_id:
                    remote = corp  # the tenant's root department is the corporation itself
                    state: dict[str, Any] = {"payload": {"root": True}, "active": True}
                    if not self._unchanged(unit, state):  # nothing to send: the root is the tenant
                        outbound.record_done(self.db, TARGET, "org_unit", key, state, corp, self.run_key)
                        with self.db.transaction():
                            _link(self.db, "org_unit", [(root_id, corp)])
                        self.unit_remote[root_id] = corp
                    continue
                state = self._unit_state(unit)
                compares = self._compares(unit)
                if not compares and self._unchanged(unit, state):
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
                elif compares and (held := self.held.unit(remote, key)) is not None:
                    self._adopt_held("org_unit", unit["org_unit_id"], held["id"], self.unit_remote)
                    if not (diffs := unit_differences(state, held)):
                        self._confirm("org_unit", key, state, held["id"], unit["org_unit_id"])
                    else:
                        self._differs("org_unit", key, diffs)
                        self._update_unit(unit, key, held["id"], state, enable=not held.get("active", True))
                elif remote is None:
                    creates.append((unit, state))
                else:
                    self._update_unit(unit, key, remote, state)
            for i in range(0, len(creates), BATCH):
                self._create_units(creates[i : i + BATCH])

    def _update_unit(self, unit: dict, key: str, remote: str, state: dict, *, enable: bool | None = None) -> None:
        if enable is None:
            enable = self._was_active(unit) is not True  # disabled, or not known to be enabled

        def send(_: list) -> dict[str, str]:
            if enable:
                self.hook.set_department_active(remote, True)
            self.hook.update_department(remote, state["payload"])
            return {key: remote}

        for outcome in self._write("org_unit", [(key, state)], send):
            if outcome.how == "sent":
                self._tally("org_unit", "updated", 1)
                self._tally("org_unit", "enabled", int(enable))

    def _create_units(self, batch: list[tuple[dict, dict]]) -> None:
        def send(intents: list[tuple[str, dict]]) -> dict[str, str]:
            created = self.hook.create_departments([state["payload"] for _, state in intents])
            return {item["code"]: item["id"] for item in created}

        canonical = {unit["code"]: unit["org_unit_id"] for unit, _ in batch}
        intents = [(unit["code"], state) for unit, state in batch]
        for outcome in self._write("org_unit", intents, send, canonical=canonical, lookup=self._find_units):
            if outcome.remote_id:
                self.unit_remote[canonical[outcome.key]] = outcome.remote_id
            if outcome.how != "refused":
                self._tally("org_unit", "created" if outcome.how == "sent" else "adopted", 1)

    def _disable_units(self, units: list[dict]) -> None:
        for unit in sorted(units, key=lambda u: -u["depth"]):
            key, remote = unit["code"], self.unit_remote.get(unit["org_unit_id"])
            state = {"payload": self._unit_state(unit)["payload"], "active": False}
            compares = self._compares(unit)
            if not compares and self._unchanged(unit, state):
                continue
            if compares:
                held = self.held.unit(remote, key)
                remote = held["id"] if held else None
                if held is None or not held.get("active", True):  # 合思 holds none, or a disabled one
                    outbound.record_done(self.db, TARGET, "org_unit", key, state, remote, self.run_key)
                    continue
                self._differs("org_unit", key, ["active"])
            if remote is None or self._was_active(unit) is False:
                outbound.record_done(self.db, TARGET, "org_unit", key, state, remote, self.run_key)
                continue

            def send(_: list, remote: str = remote, key: str = key) -> dict[str, str]:
                self.hook.set_department_active(remote, False)
                return {key: remote}

            refusal = lambda err: ("unit_has_staff" if err.status == 412 else "push_refused", "blocked")  # noqa: E731
            for outcome in self._write("org_unit", [(key, state)], send, refusal=refusal):
                if outcome.how == "sent":
                    self._tally("org_unit", "disabled", 1)

    # -- staff ------------------------------------------------------------------------------------
    def _push_staff(self, staff: Iterable[dict], *, workers: int) -> dt.datetime | None:
        """Push the staff candidates, 100 a call per kind of write, on ``workers`` writer threads
        (each with its own PostgreSQL connection, all sharing the connection's rate limit and
        token); return the newest change seen. Records are independent of each other here: their
        departments were all pushed before."""
        creates: list[Any] = []  # (person, state) pairs
        updates: list[Any] = []  # (person, key, remote id, state)
        disables: list[Any] = []
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

        progress = Progress("pushing staff to 合思", extra=lambda: f"api calls {self.hook.stats['calls']}")
        for person in staff:
            progress.tick()
            newest = max(newest or person["updated_at"], person["updated_at"])
            key, remote = person["employee_no"], self.staff_remote.get(person["employee_id"])
            unit_remote = self.unit_remote.get(person["org_unit_id"])
            state = {
                "payload": self.staff_spec.render({**person, "org_unit_remote_id": unit_remote}),
                "active": person["active"],
            }
            compares = self._compares(person)
            held = self.held.person(remote, key) if compares else None
            if not compares and self._unchanged(person, state):
                self._tally("employee", "unchanged", 1)
            elif held is not None:
                self._adopt_held("employee", person["employee_id"], held["id"], self.staff_remote)
                diffs = staff_differences(state, held)
                if diffs:
                    self._differs("employee", key, diffs)
                if not diffs:
                    self._confirm("employee", key, state, held["id"], person["employee_id"])
                elif not person["active"]:
                    disables.append((person, key, held["id"], state))
                elif not unit_remote:
                    self._fail("employee", key, "push_refused", "the department is not in 合思", state, state="blocked")
                else:
                    updates.append((person, key, held["id"], state, not held.get("active")))
            elif remote is None and not person["active"]:
                outbound.record_done(self.db, TARGET, "employee", key, state, None, self.run_key)
            elif remote is not None and not person["active"]:
                if self._was_active(person) is False:  # already disabled in 合思; nothing to send
                    outbound.record_done(self.db, TARGET, "employee", key, state, remote, self.run_key)
                else:
                    disables.append((person, key, remote, state))
            elif not unit_remote:
                self._fail("employee", key, "push_refused", "the department is not in 合思", state, state="blocked")
            elif remote is None and not state["payload"].get("cellphone"):  # 合思 creates no one without
                self._fail("employee", key, "missing_mobile", "no mobile number", state)
            elif remote is None:
                creates.append((person, state))
            else:  # re-enable anyone not known to be enabled
                updates.append((person, key, remote, state, self._was_active(person) is not True))
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
        def send(intents: list[tuple[str, dict]]) -> dict[str, str]:
            created = self.hook.create_staffs([state["payload"] for _, state in intents])
            return {item["code"]: item["id"] for item in created}

        canonical = {p["employee_no"]: p["employee_id"] for p, _ in batch}
        intents = [(p["employee_no"], state) for p, state in batch]
        for outcome in self._write("employee", intents, send, canonical=canonical, lookup=self._find_staff):
            if outcome.how != "refused":
                self._tally("employee", "created" if outcome.how == "sent" else "adopted", 1)

    def _update_staff(self, batch: list[tuple[dict, str, str, dict, bool]]) -> None:
        """Update changed staff (re-enabling those flagged), 100 a call; a refused batch is retried
        one by one so that only the refused record is held back."""
        remote_of = {key: remote for _, key, remote, _, _ in batch}
        enable_keys = {key for _, key, _, _, enable in batch if enable}

        def send(intents: list[tuple[str, dict]]) -> dict[str, str]:
            enable = [remote_of[key] for key, _ in intents if key in enable_keys]
            if enable:
                self.hook.set_staff_active(enable, True)
            self.hook.update_staffs([{"id": remote_of[key], **state["payload"]} for key, state in intents])
            return {key: remote_of[key] for key, _ in intents}

        for outcome in self._write("employee", [(key, state) for _, key, _, state, _ in batch], send):
            if outcome.how == "sent":
                self._tally("employee", "updated", 1)
                self._tally("employee", "enabled", int(outcome.key in enable_keys))

    def _disable_staff(self, batch: list[tuple[dict, str, str, dict]], entity: str = "employee") -> None:
        """Disable leavers, 100 a call; 合思 refuses the whole call when anyone in it still has
        pending documents, so a refused batch is retried one by one to hold back only those."""
        remote_of = {key: remote for _, key, remote, _ in batch}

        def send(intents: list[tuple[str, dict]]) -> dict[str, str]:
            self.hook.set_staff_active([remote_of[key] for key, _ in intents], False)
            return {key: remote_of[key] for key, _ in intents}

        refusal = lambda err: ("pending_documents" if err.status == 403 else "push_refused", "blocked")  # noqa: E731
        for outcome in self._write(entity, [(key, state) for _, key, _, state in batch], send, refusal=refusal):
            if outcome.how == "sent":
                self._tally("employee", "disabled", 1)

    # -- 合思-only staff ---------------------------------------------------------------------------
    def _disable_ekuaibao_only(self) -> None:
        """Disable the enabled (internal, coded) 合思 staff the OA does not know at all, when 合思 was
        read this run (or a person approved disabling some). Only after a complete OA read, and only
        within the deactivation guard's share; those above it wait for a person."""
        if self._held is None and not self.approved:
            return
        from expense_sync.org import guard  # guard pushes after an approval: imported late

        staff = [s for s in self.held.staff_by_id.values() if s.get("active") and not s.get("external")]
        codes = [s["code"] for s in staff if s.get("code")]
        people = sqlfile.one(self.db.execute(sqlfile.step(SQL, "active_people")))[0]
        read = self.db.execute(sqlfile.step(SQL, "oa_read")).fetchone()
        complete = bool(read and read[0])
        params = {"codes": codes, "load_id": read[1] if read else None}
        unknown = {code for (code,) in self.db.execute(sqlfile.step(SQL, "ekuaibao_only"), params)}
        only = sorted((s for s in staff if s.get("code") in unknown), key=lambda s: s["code"])
        self._tally("employee", "only_in_ekuaibao", len(only))
        if not only:
            guard.hold_ekuaibao_only(self.db, [], people, self.max_deactivation, self.run_key)
            return
        if not complete:  # a partial OA read names nobody a leaver
            log.warning("%d staff only in 合思 left enabled: the OA read was not complete", len(only))
            self._tally("employee", "only_in_ekuaibao_kept", len(only))
            return
        approved = [s for s in only if s["code"] in self.approved]
        rest = [s for s in only if s["code"] not in self.approved]
        if rest and guard.hold_ekuaibao_only(
            self.db, [s["code"] for s in rest], people + len(only), self.max_deactivation, self.run_key
        ):  # the share of the enabled staff 合思 holds once the OA's people are pushed
            self._tally("employee", "only_in_ekuaibao_held", len(rest))
            rest = []
        batch: list[tuple[dict, str, str, dict]] = [
            ({}, s["code"], s["id"], {"payload": {"code": s["code"]}, "active": False}) for s in approved + rest
        ]
        for i in range(0, len(batch), BATCH):
            self._disable_staff(batch[i : i + BATCH], entity=ONLY_IN_EKUAIBAO)


def _no_send(_: list) -> dict:
    raise AssertionError("settling looks up; it never sends")


def push_directory(
    conn: psycopg.Connection,
    hook: EkuaibaoHook,
    run_key: str,
    *,
    full: bool = False,
    max_deactivation: float = DEFAULT_ORG_MAX_DEACTIVATION,
    approved: Iterable[str] = (),
) -> dict[str, Any]:
    """Push what changed in the canonical org tables to 合思; return counts. ``approved``: 合思-only
    staff codes a person approved disabling above the guard's share."""
    return DirectoryPush(conn, hook, run_key, full=full, max_deactivation=max_deactivation, approved=approved).run()
