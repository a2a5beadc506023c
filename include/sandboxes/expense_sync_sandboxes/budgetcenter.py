"""An ERP budget center (预算中心) the ERP sandboxes share: budgets per cost center and period, and who
holds each cost center (负责人, 预算控制人).

Each ERP sandbox renders it in its own wire shape (Kingdee ExecuteBillQuery forms, Yonyou JSON,
SAP OData) and works out the **used** figure itself from the vouchers it holds, so a posted claim
lowers the available balance. A budget line is for a company, a cost center and a month
(``YYYY-MM``), optionally finer by project and/or GL account; ``project``/``account`` ``None`` is the
cost center's budget as a whole. ``control`` is ``forbid`` (刚性), ``warn`` (柔性) or ``none``;
``reserved`` is an occupied amount the ERP holds beyond the vouchers (pre-allocated, approving).

Default data (deterministic from the seed): every cost center given has a monthly budget for every
month of last year and this year at the cost-center level, and holders picked from the OA sandboxes'
org data (:class:`expense_sync_sandboxes.orgdata.Directory` with the OA sandboxes' default sizes), so
that a holder's 工号 is a real person of the DingTalk and WeCom sandboxes: the owner a manager
(经理/主管/总监), the budget controller an accountant (会计/分析师), never the same person.

Control mutations (every ERP sandbox's ``POST /_sandbox/mutate``): ``seed_budget`` (``company``,
``cost_center``, ``period``, ``amount``, ``project``, ``account``, ``control``, ``reserved``; an
existing line for the same key is replaced) and ``set_cost_center_holders`` (``cost_center``,
``owner``, ``budget_controller``; ``None`` clears one).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from expense_sync_sandboxes.orgdata import Directory

CONTROLS = ("forbid", "warn", "none")
OWNER_TITLES = ("经理", "主管", "总监")
CONTROLLER_TITLES = ("会计", "分析师")
OPS = ("seed_budget", "set_cost_center_holders")


@dataclass
class BudgetLine:
    company: str
    cost_center: str
    period: str  # YYYY-MM
    amount: Decimal
    project: str | None = None
    account: str | None = None
    control: str = "forbid"
    reserved: Decimal = Decimal("0")

    @property
    def key(self) -> tuple[str, str, str, str | None, str | None]:
        return (self.company, self.cost_center, self.period, self.project, self.account)


@dataclass
class Holders:
    owner: str | None
    budget_controller: str | None


def _month(value: Any) -> str:
    text = str(value or "").strip()
    try:
        dt.date.fromisoformat(f"{text}-01")
    except ValueError:
        raise ValueError(f"period must be YYYY-MM, got {value!r}") from None
    return text


def org_people(seed: int, departments: int = 20, employees: int = 200) -> tuple[list[str], list[str]]:
    """The 工号 of the managers and accountants of the OA sandboxes reset with the same seed and
    sizes, in 工号 order."""
    people = sorted(Directory(seed, departments, employees).people.values(), key=lambda p: p.job_number)
    owners = [p.job_number for p in people if p.title in OWNER_TITLES]
    controllers = [p.job_number for p in people if p.title in CONTROLLER_TITLES]
    return owners, controllers


class BudgetCenter:
    """Budget lines by key and holders by cost center."""

    def __init__(
        self,
        seed: int,
        cost_centers: Iterable[tuple[str, str]],
        *,
        today: dt.date | None = None,
        org: tuple[int, int] = (20, 200),
    ) -> None:
        """``cost_centers``: (company, cost center) pairs to seed budgets and holders for; ``org``: the
        OA sandboxes' (departments, employees), so that the holders are people of that org."""
        rng = random.Random(seed)
        year = (today or dt.date.today()).year
        self.lines: dict[tuple, BudgetLine] = {}
        self.holders: dict[str, Holders] = {}
        owners, controllers = org_people(seed, *org)
        for i, (company, cost_center) in enumerate(cost_centers):
            amount = Decimal(rng.randrange(20, 81) * 1000)
            for y in (year - 1, year):
                for month in range(1, 13):
                    self._put(BudgetLine(company, cost_center, f"{y}-{month:02d}", amount))
            self.holders[cost_center] = Holders(owners[i % len(owners)], controllers[i % len(controllers)])

    def _put(self, line: BudgetLine) -> BudgetLine:
        self.lines[line.key] = line
        return line

    def find(
        self, company: str, cost_center: str, period: str, project: str | None = None, account: str | None = None
    ) -> BudgetLine | None:
        return self.lines.get((company, cost_center, period, project or None, account or None))

    def select(self, predicate) -> list[BudgetLine]:
        return sorted((line for line in self.lines.values() if predicate(line)), key=_order)

    # -- control mutations ------------------------------------------------------------------------
    def mutate(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        if op == "seed_budget":
            return self.seed_budget(**args)
        if op == "set_cost_center_holders":
            return self.set_cost_center_holders(**args)
        raise ValueError(f"unknown mutation {op!r}; known: {', '.join(OPS)}")

    def seed_budget(
        self,
        company: str,
        cost_center: str,
        period: str,
        amount: Any,
        project: str | None = None,
        account: str | None = None,
        control: str = "forbid",
        reserved: Any = 0,
    ) -> dict[str, Any]:
        if control not in CONTROLS:
            raise ValueError(f"control must be one of {', '.join(CONTROLS)}, got {control!r}")
        line = BudgetLine(
            str(company),
            str(cost_center),
            _month(period),
            Decimal(str(amount)),
            project or None,
            account or None,
            control,
            Decimal(str(reserved or 0)),
        )
        return describe(self._put(line))

    def set_cost_center_holders(
        self, cost_center: str, owner: str | None = None, budget_controller: str | None = None
    ) -> dict[str, Any]:
        self.holders[str(cost_center)] = Holders(owner or None, budget_controller or None)
        return {"cost_center": cost_center, **asdict(self.holders[str(cost_center)])}

    def dump(self) -> dict[str, Any]:
        return {
            "budgets": [describe(line) for line in sorted(self.lines.values(), key=_order)],
            "holders": {cc: asdict(h) for cc, h in sorted(self.holders.items())},
        }


def _order(line: BudgetLine) -> tuple:
    return (line.company, line.cost_center, line.period, line.project or "", line.account or "")


def describe(line: BudgetLine) -> dict[str, Any]:
    return {**asdict(line), "amount": str(line.amount), "reserved": str(line.reserved)}
