"""The one exactly-once write to another system: every outbound write goes through :func:`write_once`.

For each business key, under the key's lock (:func:`expense_sync.store.locks.held`, so a second
process writing the same key — an overlapping run, a zombie beside its retry, a second worker —
waits, then finds it done):

1. the ledger (:mod:`expense_sync.store.outbound`) says whether the key is done already; a key
   done with the same state (or, for a *create*, done at all) is not sent again;
2. a key an earlier attempt left unfinished (``sending``: a crash, a timeout, a 5xx; or refused)
   is, for a create, **looked up at the vendor by its business key first** and adopted if found:
   it is never created twice. An overwrite (update, enable, write-back) is simply sent again;
3. the intent is committed (ledger ``sending``, plus the caller's own intent rows) before the call;
4. the call is made — a batch of keys where the vendor takes batches. A refused batch is retried
   key by key so that only the refused record is held back; a create batch with an unknown outcome
   is looked up and the rest sent key by key; a key still unknown raises (the retry settles it);
5. the success is recorded in **one transaction** with the caller's side effects (crosswalk, sync
   state, voucher row, queue); a refusal likewise (ledger ``failed``/``blocked`` and the queue item).

The caller says how, in a :class:`Write`: the call, the look-up (its presence makes the write a
create), and what to record. :mod:`expense_sync.boundaries` names the two points around the call
where the kill tests stop the process.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import psycopg

from expense_sync import boundaries
from expense_sync.hooks.errors import OutcomeUnknownError, VendorRequestError
from expense_sync.store import outbound, sqlfile
from expense_sync.store.locks import held

log = logging.getLogger(__name__)

Intent = tuple[str, dict[str, Any]]  # (business key, the state we want the vendor to hold)
How = Literal["sent", "adopted", "already", "refused"]


@dataclass(frozen=True)
class Outcome:
    """What became of one key. ``value`` is what the call or the look-up answered for it."""

    key: str
    how: How  # sent by us; adopted (found by a look-up); already done before; refused by the vendor
    remote_id: str | None = None
    value: Any = None
    in_doubt: bool = False  # an earlier attempt had left it unfinished
    error: VendorRequestError | None = None

    @property
    def created_id(self) -> str:
        """The vendor's id of a record a create wrote (sent, adopted or done before): it always has one."""
        if self.remote_id is None:
            raise ValueError(f"{self.key}: the vendor named no id for the record it holds")
        return self.remote_id

    @property
    def verified(self) -> bool:
        """The vendor's own answer to our call (not a look-up, not an earlier run's record)."""
        return self.how == "sent"


@dataclass(frozen=True)
class Write:
    """How to write one entity to one system exactly once.

    ``send`` writes a batch of intents and answers a value per key (a remote id, or an object whose
    ``remote_id`` the ``id_of`` function reads); it raises ``VendorRequestError`` when the vendor
    refuses and ``OutcomeUnknownError`` when the outcome is unknown. ``lookup`` (given for creates)
    finds keys at the vendor: ``{key: value}`` for those it holds. ``intend`` adds the caller's
    intent rows to the intent's transaction; ``record`` its side effects of success (called with
    every sent or adopted outcome, in the transaction that marks them done); ``refused`` its side
    effects of a refusal, returning the ledger state (``failed``, or ``blocked`` for a refusal that
    a later run may overcome).
    """

    target: str
    entity: str
    send: Callable[[list[Intent]], dict[str, Any]]
    lookup: Callable[[list[str]], dict[str, Any]] | None = None
    intend: Callable[[psycopg.Connection, list[Intent]], None] | None = None
    record: Callable[[psycopg.Connection, list[Outcome]], None] | None = None
    refused: Callable[[psycopg.Connection, str, dict[str, Any], VendorRequestError], str] | None = None
    id_of: Callable[[Any], str | None] = lambda value: value
    batch: int = 100

    @property
    def creates(self) -> bool:
        return self.lookup is not None

    def lock_key(self, key: str) -> str:
        return f"{self.target}/{self.entity}/{key}"


def write_once(
    conn: psycopg.Connection, write: Write, intents: Sequence[Intent], *, run_key: str | None
) -> list[Outcome]:
    """Make the vendor hold each intent once (see the module docstring); one outcome per intent.

    ``conn`` is in autocommit mode (``store.db.connect``). Raises ``OutcomeUnknownError`` when a
    key's outcome stays unknown after a look-up (or for an overwrite): its ledger row stays
    ``sending`` and the next attempt settles it; the keys before it are recorded.
    """
    intents = list(dict(intents).items())  # one intent per key, the last wins
    if not intents:
        return []
    with held(conn, [write.lock_key(key) for key, _ in intents]):
        ledger = _ledger(conn, write, [key for key, _ in intents])
        outcomes: list[Outcome] = []
        todo: list[Intent] = []
        doubtful: list[Intent] = []
        for key, state in intents:
            row = ledger.get(key)
            if row is None:
                todo.append((key, state))
            elif row[0] == "done" and (row[1] == outbound.state_hash(state) or (write.creates and row[2])):
                outcomes.append(Outcome(key, "already", row[2]))
            elif write.creates and row[0] != "done":
                doubtful.append((key, state))
            else:
                todo.append((key, state))
        if doubtful:  # an earlier attempt did not finish: look before sending anything again
            adopted, rest = _adopt(conn, write, doubtful)
            outcomes += adopted
            todo += rest
        doubt = {key for key, _ in intents if key in ledger and ledger[key][0] != "done"}
        for i in range(0, len(todo), write.batch):
            outcomes += _send(conn, write, todo[i : i + write.batch], run_key, doubt)
    return outcomes


def settle(conn: psycopg.Connection, write: Write) -> list[Outcome]:
    """Settle every key an earlier attempt left ``sending``: look it up (``write`` is a create) and
    adopt what the vendor holds. A run calls it first, so that what it then decides sees the vendor's
    records; keys not found stay in doubt and :func:`write_once` looks at them again before sending."""
    keys = [key for key, _, _ in outbound.in_doubt(conn, write.target, write.entity)]
    if not keys:
        return []
    with held(conn, [write.lock_key(key) for key in keys]):
        still = [k for k, row in _ledger(conn, write, keys).items() if row[0] == "sending"]
        return _adopt(conn, write, [(key, {}) for key in still])[0] if still else []


def _ledger(conn: psycopg.Connection, write: Write, keys: list[str]) -> dict[str, tuple[str, str | None, str | None]]:
    rows = conn.execute(
        sqlfile.step("store/outbound", "ledger_of_keys"),
        (write.target, write.entity, keys),
    ).fetchall()
    return {key: (state, payload_hash, remote_id) for key, state, payload_hash, remote_id in rows}


def _adopt(conn: psycopg.Connection, write: Write, intents: list[Intent]) -> tuple[list[Outcome], list[Intent]]:
    """Look the keys up at the vendor; record those it holds as adopted; return them and the rest."""
    assert write.lookup is not None  # only a create is adopted, and a create can be looked up
    found = write.lookup([key for key, _ in intents])
    adopted = [Outcome(k, "adopted", write.id_of(v), v, in_doubt=True) for k, _ in intents if (v := found.get(k))]
    _record(conn, write, adopted)
    return adopted, [(k, s) for k, s in intents if not found.get(k)]


def _send(
    conn: psycopg.Connection, write: Write, chunk: list[Intent], run_key: str | None, doubt: set[str]
) -> list[Outcome]:
    with conn.transaction():
        outbound.mark_sending(conn, write.target, write.entity, chunk, run_key)
        if write.intend:
            write.intend(conn, chunk)
    boundaries.reached(boundaries.BEFORE_CALL)
    try:
        answers = write.send(chunk)
    except OutcomeUnknownError as err:
        if not write.creates:
            raise  # an overwrite: the row stays 'sending' and the retry sends it again
        log.warning("%s/%s: %d writes of unknown outcome (%s); looking them up", write.target, write.entity,
                    len(chunk), err)  # fmt: skip
        adopted, rest = _adopt(conn, write, chunk)
        if rest and len(chunk) == 1:
            raise  # still unknown: the row stays 'sending', the retry looks again
        return adopted + [o for item in rest for o in _send(conn, write, [item], run_key, doubt)]
    except VendorRequestError as err:
        if len(chunk) > 1:  # hold back only the refused records
            log.warning("%s/%s: batch of %d refused (%s); sending one by one", write.target, write.entity,
                        len(chunk), err)  # fmt: skip
            adopted, rest = _adopt(conn, write, chunk) if write.creates else ([], chunk)  # a part may have landed
            return adopted + [o for item in rest for o in _send(conn, write, [item], run_key, doubt)]
        key, state = chunk[0]
        with conn.transaction():
            ledger_state = write.refused(conn, key, state, err) if write.refused else "failed"
            outbound.mark_failed(conn, write.target, write.entity, key, str(err), state=ledger_state)
        return [Outcome(key, "refused", in_doubt=key in doubt, error=err)]
    boundaries.reached(boundaries.AFTER_CALL)
    sent = [Outcome(k, "sent", write.id_of(answers.get(k)), answers.get(k), in_doubt=k in doubt) for k, _ in chunk]
    _record(conn, write, sent)
    return sent


def _record(conn: psycopg.Connection, write: Write, outcomes: list[Outcome]) -> None:
    """Ledger ``done`` and the caller's side effects, in one transaction. An adopted record (found,
    not written by this call) keeps no state hash, so the next run compares it and updates it."""
    if not outcomes:
        return
    with conn.transaction():
        # Committed asynchronously: a lost commit leaves the ledger 'sending', which the next attempt
        # settles like a crash after the call (a create is looked up, an overwrite sent again).
        conn.execute(sqlfile.step("store/outbound", "commit_asynchronously"))
        for verified in (True, False):
            done = [(o.key, o.remote_id) for o in outcomes if o.verified is verified]
            outbound.mark_done(conn, write.target, write.entity, done, verified=verified)
        if write.record:
            write.record(conn, outcomes)
