"""Voucher state and number from the ERP, the number written back to 合思, the claim closed.

:func:`open_vouchers` is the one SELECT a pull makes when nothing is open (no vendor call then).

* :func:`pull_status`: each open claim voucher (``draft``/``submitted``) is read from the ERP
  (:meth:`ErpLedger.voucher_status`); its state, raw state and number are kept, and an audited or
  posted voucher moves its claim to ``voucher_audited``.
* :func:`write_back`: each audited/posted claim voucher not yet written back goes to 合思
  (``erpVoucher``) through the outbound ledger (entity ``voucher_writeback``, key = claim number).
  合思 accepts it only for ``paid`` documents (open-platform-docs flows/voucher-write-back.md): a
  refusal for that reason leaves the ledger row ``blocked`` and the claim ``voucher_audited``, tried
  again on the next pull (not an error) — unless the document is ``archived`` (after ``paid``, for
  good): then it is refused for ever and queued for a person (``write_back_refused``). On
  success, in one transaction: ledger ``done``, ``fin.voucher.written_back_at``, the claim ``closed``.
  The write-back overwrites, so an attempt with an unknown outcome is simply sent again. It goes
  through :func:`expense_sync.store.exactly_once.write_once`: an overlapping pull waits for the
  claim's lock, then finds it written back and skips it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter

import psycopg

from expense_sync.erp.ledger import ErpLedger
from expense_sync.hooks.ekuaibao import EkuaibaoHook, NotPaidError
from expense_sync.hooks.errors import VendorRequestError
from expense_sync.store import queue, sqlfile
from expense_sync.store.exactly_once import Outcome, Write, write_once

log = logging.getLogger(__name__)

WRITE_BACK = "voucher_writeback"
SQL = "claims/status"  # include/sql/claims/status.sql


def open_vouchers(conn: psycopg.Connection) -> list[tuple]:
    return conn.execute(sqlfile.step(SQL, "open_vouchers")).fetchall()


def pull_status(conn: psycopg.Connection, erp: ErpLedger, rows: list[tuple]) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for voucher_id, vendor, _ref, remote_id, _number, state, _period, _at, claim_id, _no, _flow in rows:
        if state not in ("draft", "submitted") or vendor != erp.vendor:
            continue
        status = erp.voucher_status(remote_id)
        counts["checked"] += 1
        with conn.transaction():
            conn.execute(
                sqlfile.step(SQL, "voucher_state"),
                (status.state, status.raw_state, status.number, voucher_id),
            )
            if status.state in ("audited", "posted"):
                conn.execute(sqlfile.step(SQL, "claim_audited"), (claim_id,))
                counts["audited"] += 1
            elif status.state in ("void", "error"):
                counts[status.state] += 1
    return dict(counts)


def write_back(conn: psycopg.Connection, expense: EkuaibaoHook, run_key: str | None) -> dict[str, int]:
    """Write the numbers of audited claim vouchers back to 合思; see the module docstring."""
    counts: Counter[str] = Counter()
    for (
        voucher_id,
        _vendor,
        _ref,
        _remote,
        number,
        state,
        period,
        created_at,
        claim_id,
        claim_no,
        flow_id,
    ) in open_vouchers(conn):
        if state in ("audited", "posted") and number:
            counts[_write_back_one(conn, expense, run_key, voucher_id, number, period, created_at, claim_id,
                                   claim_no, flow_id)] += 1  # fmt: skip
    return dict(counts)


def _write_back_one(
    conn: psycopg.Connection,
    expense: EkuaibaoHook,
    run_key: str | None,
    voucher_id: int,
    number: str,
    period: str,
    created_at: dt.datetime | None,
    claim_id: int,
    claim_no: str,
    flow_id: str,
) -> str:
    """Write one number back (through the exactly-once write); the count it adds to."""
    created_ms = int((created_at or dt.datetime.now(dt.UTC)).timestamp() * 1000)

    def record(conn: psycopg.Connection, _: list[Outcome]) -> None:
        conn.execute(sqlfile.step(SQL, "written_back"), (voucher_id,))
        conn.execute(sqlfile.step(SQL, "claim_closed"), (claim_id,))

    final: list[bool] = []  # a refusal for good (not "not paid yet")

    def refused(conn: psycopg.Connection, _key: str, _state: dict, err: VendorRequestError) -> str:
        if isinstance(err, NotPaidError):
            (state,) = sqlfile.one(conn.execute(sqlfile.step(SQL, "expense_state"), (claim_id,)))
            if state != "archived":
                return "blocked"  # not paid yet: tried again on the next pull
            # archived comes after paid and never goes back: 合思 will refuse it for ever
            final.append(True)
            err = VendorRequestError(f"{err.message} (the document is archived: write the number in 合思 by hand)")
        queue.open_item(
            conn,
            kind="quarantine",
            system="ekuaibao",
            entity="claim",
            record_key=claim_no,
            reason_code="write_back_refused",
            detail=str(err)[:500],
            run_key=run_key,
        )
        return "failed"

    def send(_: list) -> dict[str, str]:
        expense.write_back_voucher(flow_id, number, created_ms, period)
        return {claim_no: number}

    write = Write(
        target="ekuaibao",
        entity=WRITE_BACK,
        send=send,
        record=record,
        refused=refused,
    )
    payload = {"flow_id": flow_id, "voucher_no": number, "period": period}
    (outcome,) = write_once(conn, write, [(claim_no, payload)], run_key=run_key)
    if outcome.how == "refused":
        return "waiting_for_payment" if isinstance(outcome.error, NotPaidError) and not final else "refused"
    return "written_back" if outcome.how == "sent" else "written_back_elsewhere"
