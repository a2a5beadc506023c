"""Post one voucher to the ERP exactly once, and record it in ``fin.voucher``.

Through the one exactly-once write (:func:`expense_sync.store.exactly_once.write_once`): the
intent (``sync.outbound`` row ``sending`` and the ``fin.voucher`` row ``sending``) is committed
before the ERP call. A row still
``sending`` when a later attempt starts is an unknown outcome: the voucher is looked up by its
external ref (``find_voucher``) and adopted if the ERP has it, sent again only if it does not.
A voucher already recorded as in the ERP is never sent again. The whole sequence runs under the
voucher's lock: a second process posting the same voucher at
the same time (an overlapping run, a zombie task beside its retry) waits, then finds it done. Claim
vouchers (claim_events) and month-end vouchers (rollups, reversals) both go through :func:`post_voucher`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg

from expense_sync.erp.ledger import ErpLedger
from expense_sync.erp.model import Voucher, VoucherLine, VoucherStatus
from expense_sync.hooks.errors import VendorRequestError
from expense_sync.store import sqlfile
from expense_sync.store.exactly_once import Outcome, Write, write_once

log = logging.getLogger(__name__)
ENTITY = "voucher"
SQL = "erp/posting"  # include/sql/erp/posting.sql
IN_ERP = ("draft", "submitted", "audited", "posted")


def lines_json(voucher: Voucher) -> list[dict[str, Any]]:
    """The voucher's lines as ``fin.voucher.lines`` keeps them (amounts as strings)."""
    return [
        {
            "account": line.account_code,
            "debit": str(line.debit),
            "credit": str(line.credit),
            "cost_center": line.cost_center,
            "project": line.project,
            "text": line.text,
        }
        for line in voucher.lines
    ]


def voucher_from_row(
    external_ref: str, company: str, period: str, posting_date: dt.date, lines: list[dict], description: str
) -> Voucher:
    """A :class:`Voucher` back from ``fin.voucher`` columns."""
    return Voucher(
        external_ref=external_ref,
        company=company,
        posting_date=posting_date,
        period=period,
        description=description,
        lines=tuple(
            VoucherLine(
                account_code=line["account"],
                debit=Decimal(line["debit"]),
                credit=Decimal(line["credit"]),
                cost_center=line.get("cost_center"),
                project=line.get("project"),
                text=line.get("text") or "",
            )
            for line in lines
        ),
    )


def reversal_of(voucher: Voucher) -> Voucher:
    """The reversing entry: the same lines with debits and credits swapped, ref ``<ref>-R1``."""
    return Voucher(
        external_ref=f"{voucher.external_ref}-R1",
        company=voucher.company,
        posting_date=voucher.posting_date,
        period=voucher.period,
        description=f"冲销 {voucher.external_ref}"[:80],
        lines=tuple(
            VoucherLine(
                account_code=line.account_code,
                debit=line.credit,
                credit=line.debit,
                cost_center=line.cost_center,
                project=line.project,
                text=f"冲销 {line.text}"[:80],
            )
            for line in voucher.lines
        ),
        currency=voucher.currency,
    )


@dataclass(frozen=True)
class Posted:
    voucher_id: int
    external_ref: str
    number: str | None
    state: str
    sent: bool  # False: it was in the ERP already (recorded, or adopted after a lookup)
    verified: bool = True  # False: the ERP's own answer was lost; what it holds was found by a look-up
    in_doubt: bool = False  # an earlier attempt had left it 'sending' (or refused): looked up first


def post_voucher(
    conn: psycopg.Connection,
    hook: ErpLedger,
    voucher: Voucher,
    *,
    kind: str,
    run_key: str | None,
    reverses: int | None = None,
    claim_id: int | None = None,
) -> Posted:
    """Make sure the ERP holds ``voucher`` once; returns its ``fin.voucher`` row as it stands.

    Raises ``VendorRequestError`` when the ERP refuses it (the row is then ``error``) and
    ``OutcomeUnknownError`` when its outcome stays unknown (the row stays ``sending``).
    """
    vendor, ref = hook.vendor, voucher.external_ref
    lines = lines_json(voucher)

    def intend(conn: psycopg.Connection, _: list) -> None:
        conn.execute(
            sqlfile.step(SQL, "intend"),
            (vendor, ref, kind, claim_id, reverses, voucher.company, voucher.period, voucher.posting_date,
             voucher.currency, voucher.total_debit, json.dumps(lines, ensure_ascii=False)),
        )  # fmt: skip

    def record(conn: psycopg.Connection, outcomes: list[Outcome]) -> None:
        status: VoucherStatus = outcomes[0].value
        conn.execute(
            sqlfile.step(SQL, "record"),
            (status.remote_id, status.number, status.state, status.raw_state, vendor, ref),
        )

    def refused(conn: psycopg.Connection, _key: str, _state: dict, err: VendorRequestError) -> str:
        conn.execute(
            sqlfile.step(SQL, "refused"),
            (str(err)[:500], vendor, ref),
        )
        return "failed"

    write = Write(
        target=vendor,
        entity=ENTITY,
        send=lambda _: {ref: hook.create_voucher(voucher)},
        lookup=lambda _: {ref: found} if (found := hook.find_voucher(ref, voucher.period)) else {},
        intend=intend,
        record=record,
        refused=refused,
        id_of=lambda status: status.remote_id,
    )
    intent = {"kind": kind, "period": voucher.period, "lines": lines}
    (outcome,) = write_once(conn, write, [(ref, intent)], run_key=run_key)
    if outcome.how == "refused":
        assert outcome.error is not None  # a refusal carries the vendor's error
        raise outcome.error
    voucher_id, number, state = sqlfile.one(conn.execute(sqlfile.step(SQL, "posted"), (vendor, ref)))
    log.info("voucher %s %s: %s %s", kind, ref, outcome.how, number)
    sent = outcome.how == "sent"
    return Posted(voucher_id, ref, number, state, sent=sent, verified=sent, in_doubt=outcome.in_doubt)
