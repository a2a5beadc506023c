"""The budget check against the ERP (预算校验), in real time, for approvals and for claims.

The ERP's balance (:class:`~expense_sync.erp.budget.BudgetBalance`: budget − used − reserved) does
not know our own documents that are approved but not yet posted, nor the other documents of the same
batch: both are subtracted too (``held_by_us``), so two claims each within the budget but over it
together are not both let through. A balance is cached for ``ttl`` seconds within one check run and
never across a posting: :meth:`BudgetCheck.forget` is called after every voucher, and a run makes a
new :class:`BudgetCheck`. Every check is recorded in ``fin.budget_check`` for the auditors.

Over budget, the ERP's control decides first (``forbid``: over is over; ``none``: the ERP does not
control this budget, so nothing is over); ``warn`` follows the rule the Variable
``expense_sync_over_budget`` sets per document kind (:class:`OverBudgetRule`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

import psycopg

from expense_sync.erp.budget import BudgetBalance, BudgetKey, ErpBudget
from expense_sync.hooks.errors import VendorError
from expense_sync.store import sqlfile

log = logging.getLogger(__name__)

SQL = "approvals/budget"  # include/sql/approvals/budget.sql
Result = Literal["within", "over", "no_budget", "unavailable"]


@dataclass(frozen=True)
class OverBudgetRule:
    """What an over-budget document gets where the ERP only warns: an application (申请单) gets an
    extra 总监 node (``add_director``) or is held (``queue``); a claim is held (``queue``) or passes
    with the check recorded (``allow``)."""

    requisition: Literal["add_director", "queue"] = "add_director"
    expense: Literal["queue", "allow"] = "queue"


@dataclass(frozen=True)
class Verdict:
    key: BudgetKey
    amount: Decimal
    result: Result
    balance: BudgetBalance | None
    held_by_us: Decimal
    check_id: int

    @property
    def over(self) -> bool:
        return self.result == "over"

    @property
    def forbidden(self) -> bool:
        """Over a budget the ERP controls rigidly (刚性控制)."""
        return self.over and self.balance is not None and self.balance.control == "forbid"

    def describe(self) -> str:
        k = self.key
        where = "/".join(p for p in (k.company, k.cost_center, k.project, k.account) if p)
        if self.balance is None:
            return f"{where} {k.period}: {self.result}"
        b = self.balance
        return (
            f"{where} {b.budget_period}: budget {b.budget} − used {b.used} − reserved {b.reserved} − ours "
            f"{self.held_by_us} = {b.available - self.held_by_us} available, this document {self.amount} "
            f"({b.control} control, {b.source})"
        )


class BudgetCheck:
    """One run's budget checks against one ERP (see the module docstring)."""

    def __init__(self, conn: psycopg.Connection, erp: ErpBudget, *, ttl: float = 5.0) -> None:
        self.conn, self.erp, self.ttl = conn, erp, ttl
        self._cache: dict[BudgetKey, tuple[float, BudgetBalance | None]] = {}
        self._batch: dict[BudgetKey, Decimal] = {}  # what this run already let through, per key

    def balance(self, key: BudgetKey) -> BudgetBalance | None:
        hit = self._cache.get(key)
        if hit and time.monotonic() - hit[0] < self.ttl:
            return hit[1]
        value = self.erp.budget_balance(key)
        self._cache[key] = (time.monotonic(), value)
        return value

    def forget(self) -> None:
        """A voucher was posted: no cached balance may be used again."""
        self._cache.clear()
        self._batch.clear()

    def finest(self, key: BudgetKey) -> tuple[BudgetKey, BudgetBalance | None]:
        """The balance of the finest budget line the ERP keeps for ``key``: the cost center with its
        project and account, else without the account, else without the project, else the cost
        center as a whole (an ERP budgets at the level it is configured for)."""
        candidates = [
            key,
            dataclasses.replace(key, account=None),
            dataclasses.replace(key, project=None),
            dataclasses.replace(key, project=None, account=None),
        ]
        for candidate in dict.fromkeys(candidates):
            if (balance := self.balance(candidate)) is not None:
                return candidate, balance
        return key, None

    def check(self, subject: str, subject_key: str, key: BudgetKey, amount: Decimal, held_by_us: Decimal) -> Verdict:
        """Check ``amount`` against the balance of ``key``'s finest budget line, less what we hold and
        what this run let through; record the check. An ERP outage answers ``unavailable`` (the caller
        holds the document until the next run)."""
        result: Result
        try:
            key, balance = self.finest(key)
        except VendorError as err:
            log.warning("budget %s: the ERP did not answer (%s)", key, err)
            balance, result = None, "unavailable"
        else:
            held_by_us += self._batch.get(key, Decimal(0))
            if balance is None:
                result = "no_budget"
            elif balance.control != "none" and balance.available - held_by_us < amount:
                result = "over"
            else:
                result = "within"
        if result in ("within", "no_budget") or (result == "over" and balance and balance.control == "warn"):
            self._batch[key] = self._batch.get(key, Decimal(0)) + amount
        row = self.conn.execute(
            sqlfile.step(SQL, "record"),
            {
                "subject": subject,
                "subject_key": subject_key,
                "vendor": self.erp.vendor,
                "company": key.company,
                "cost_center": key.cost_center,
                "project": key.project,
                "account": key.account,
                "period": key.period,
                "budget": balance.budget if balance else None,
                "used": balance.used if balance else None,
                "reserved": balance.reserved if balance else None,
                "held": held_by_us,
                "amount": amount,
                "control": balance.control if balance else None,
                "result": result,
                "source": balance.source if balance else None,
            },
        ).fetchone()
        assert row is not None
        return Verdict(key, amount, result, balance, held_by_us, row[0])


@dataclass
class BudgetGate:
    """The check a claim passes right before its voucher: each cost center / project / GL account
    group of its lines against the ERP's balance, less our claims whose vouchers the ERP holds but does
    not count yet (unless ``counts_drafts``: the ERP's budget counts unaudited vouchers itself)."""

    check: BudgetCheck
    rule: OverBudgetRule
    counts_drafts: bool = False

    def over(self, conn: psycopg.Connection, claim_id: int, claim_no: str, company: str, period: str) -> str | None:
        """Why the claim may not be posted (the figures), or ``None``; the checks are recorded."""
        problems = []
        for cost_center, project, account, amount in conn.execute(sqlfile.step(SQL, "claim_groups"), (claim_id,)):
            key = BudgetKey(company, cost_center, period, project, account)
            held = Decimal(0)
            if not self.counts_drafts:
                row = conn.execute(
                    sqlfile.step(SQL, "held_claims"),
                    {"claim_id": claim_id, "company": company, "cost_center": cost_center, "project": project,
                     "account": account},
                ).fetchone()  # fmt: skip
                held = Decimal(row[0]) if row else Decimal(0)
            verdict = self.check.check("claim", claim_no, key, Decimal(amount), held)
            if verdict.result == "unavailable":
                problems.append(f"the ERP did not answer the budget check for {cost_center}; checked again next run")
            elif verdict.forbidden or (verdict.over and self.rule.expense == "queue"):
                problems.append(verdict.describe())
        return "; ".join(problems) or None


def over_budget_rule(raw: str | None = None) -> OverBudgetRule:
    """The rule from the Variable ``expense_sync_over_budget`` (JSON, e.g.
    ``{"requisition": "queue", "expense": "allow"}``); the defaults where it says nothing."""
    if raw is None:
        from airflow.sdk import Variable

        from expense_sync.settings import VAR_OVER_BUDGET

        raw = Variable.get(VAR_OVER_BUDGET, default="{}")
    data = json.loads(raw or "{}")
    allowed = {"requisition": ("add_director", "queue"), "expense": ("queue", "allow")}
    for kind, value in data.items():
        if kind not in allowed or value not in allowed[kind]:
            raise ValueError(f"over-budget rule {kind}={value!r}: one of {allowed}")
    return OverBudgetRule(**data)
