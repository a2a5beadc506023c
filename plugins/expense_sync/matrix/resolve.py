"""The approval nodes of one document, from the matrix in force: what the approval engine asks.

:func:`nodes_for` answers ``[(role, (employee_no, …)), …]`` in chain order, or raises
:class:`ChainError` with a reason code the exception queue knows (``store/queue.py`` REASONS): the
document is then queued with the reason, never sent with a hole in its chain nor approved silently.

- ``approval_chain_missing``: no matrix, no chain for the cost center and amount, a vacant role, or a
  submitter without a manager for 主管;
- ``approver_unknown``: an approver (or the submitter) the middle platform does not know;
- ``approver_inactive``: an approver who left;
- ``self_approval``: the submitter holds a role and has no manager to hand it to.

Nobody approves their own document: where the submitter holds a role, the node goes one level up, to
the submitter's own manager.
"""

from __future__ import annotations

from decimal import Decimal

import psycopg

from expense_sync.matrix.derive import SUBMITTER_MANAGER
from expense_sync.store import sqlfile

SQL = "matrix/resolve"  # include/sql/matrix/resolve.sql
REASON_CODES = ("approval_chain_missing", "approver_inactive", "approver_unknown", "self_approval")


class ChainError(Exception):
    """The document's approval chain cannot be built; ``reason_code`` says why (see the module)."""

    def __init__(self, reason_code: str, detail: str) -> None:
        super().__init__(f"{reason_code}: {detail}")
        self.reason_code = reason_code
        self.detail = detail


def _employee(conn: psycopg.Connection, employee_no: str) -> tuple[str, bool, str | None] | None:
    return conn.execute(sqlfile.step(SQL, "employee"), {"employee_no": employee_no}).fetchone()


def nodes_for(
    conn: psycopg.Connection,
    *,
    company: str | None,
    cost_center: str,
    category: str | None,
    amount: Decimal,
    submitter_employee_no: str,
    over_budget: bool = False,
) -> list[tuple[str, tuple[str, ...]]]:
    """The approval nodes for a document of ``amount`` on ``cost_center``; over budget, 总监 is added
    when the band does not already have them. Raises :class:`ChainError`."""
    version = sqlfile.one(conn.execute(sqlfile.step(SQL, "in_force")))[0]
    where = f"cost center {cost_center}, amount {amount}, category {category or 'any'}"
    if version is None:
        raise ChainError("approval_chain_missing", "no approval matrix has been derived")
    steps = conn.execute(
        sqlfile.step(SQL, "chain"),
        {"version": version, "cost_center": cost_center, "company": company, "category": category, "amount": amount},
    ).fetchall()
    if not steps:
        raise ChainError("approval_chain_missing", f"no chain in matrix v{version} for {where}")
    chain = [(role, approver, rule) for _seq, role, approver, rule in steps]
    if over_budget and all(role != "总监" for role, _a, _r in chain):
        directors = [
            a for (a,) in conn.execute(sqlfile.step(SQL, "director"), {"version": version, "cost_center": cost_center})
        ]
        chain.append(("总监", directors[0] if len(directors) == 1 else None, None))
    submitter = _employee(conn, submitter_employee_no)
    if submitter is None:
        raise ChainError("approver_unknown", f"the submitter {submitter_employee_no} is not in the middle platform")
    nodes: list[tuple[str, tuple[str, ...]]] = []
    for role, approver, rule in chain:
        if rule == SUBMITTER_MANAGER:
            approver = submitter[2]
            if approver is None:
                raise ChainError(
                    "approval_chain_missing", f"{role}: the submitter {submitter_employee_no} has no manager"
                )
        elif approver is None:
            raise ChainError("approval_chain_missing", f"nobody holds {role} for {where} (matrix v{version})")
        if approver == submitter_employee_no:  # never one's own approver: one level up
            approver = submitter[2]
            if approver is None or approver == submitter_employee_no:
                raise ChainError(
                    "self_approval", f"{submitter_employee_no} holds {role} for {where} and has no manager"
                )
        person = _employee(conn, approver)
        if person is None:
            raise ChainError("approver_unknown", f"{role} {approver} is not in the middle platform ({where})")
        if not person[1]:
            raise ChainError("approver_inactive", f"{role} {approver} has left ({where})")
        nodes.append((role, (approver,)))
    return nodes
