"""A 合思 flow (``flowDetails``) as the claim it stands for.

Money arrives as strings (``expenseMoney.standard``) and stays :class:`~decimal.Decimal`; a malformed
amount is kept as ``None`` for validation to report. Times are epoch milliseconds, read in China
time (the claim date decides the fiscal period). The content hash covers what a voucher is made of
(lines, amounts, dimensions, date, currency), so an edit in 合思 bumps the claim's version.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

CHINA = dt.timezone(dt.timedelta(hours=8))
APPROVED_STATES = frozenset({"paying", "PROCESSING", "paid", "archived"})
CANCELLED_STATES = frozenset({"rejected", "nullify", "draft"})
COST_CENTER_FIELD, PROJECT_FIELD, OA_FIELD = "u_costCenter", "u_project", "u_oaInstanceId"


def amount(money: Any) -> Decimal | None:
    """The amount of a 合思 money object (``{"standard": "33.00", …}``), or ``None`` if malformed."""
    value = money.get("standard") if isinstance(money, dict) else money
    try:
        result = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return result if result.is_finite() else None


def day(epoch_ms: Any) -> dt.date | None:
    try:
        return dt.datetime.fromtimestamp(int(epoch_ms) / 1000, CHINA).date()
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class ParsedLine:
    line_no: int
    fee_type_id: str
    amount: Decimal | None
    cost_center_item: str | None
    project_item: str | None
    description: str


@dataclass(frozen=True)
class ParsedClaim:
    flow_id: str
    claim_no: str
    submitter_id: str
    title: str
    claim_date: dt.date
    currency: str
    total: Decimal | None
    state: str
    active: bool
    oa_instance: str | None
    lines: tuple[ParsedLine, ...]
    raw: dict[str, Any]

    @property
    def period(self) -> str:
        return f"{self.claim_date:%Y-%m}"

    @property
    def approved(self) -> bool:
        return self.active and self.state in APPROVED_STATES

    def content_hash(self, company: str) -> str:
        content = {
            "company": company,
            "date": self.claim_date.isoformat(),
            "currency": self.currency,
            "lines": [{**asdict(line), "amount": str(line.amount)} for line in self.lines],
        }
        return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def parse_flow(flow: dict[str, Any]) -> ParsedClaim:
    form = flow.get("form") or {}
    lines = []
    for n, detail in enumerate(form.get("details") or [], 1):
        fee_form = detail.get("feeTypeForm") or {}
        lines.append(
            ParsedLine(
                line_no=n,
                fee_type_id=str(detail.get("feeTypeId") or ""),
                amount=amount(fee_form.get("amount")),
                cost_center_item=fee_form.get(COST_CENTER_FIELD) or None,
                project_item=fee_form.get(PROJECT_FIELD) or None,
                description=str(fee_form.get("consumptionReasons") or "")[:200],
            )
        )
    money = form.get("expenseMoney") or {}
    claim_date = day(form.get("expenseDate")) or day(form.get("submitDate")) or day(flow.get("createTime"))
    return ParsedClaim(
        flow_id=str(flow["id"]),
        claim_no=str(form.get("code") or flow["id"]),
        submitter_id=str(form.get("submitterId") or flow.get("ownerId") or ""),
        title=str(form.get("title") or ""),
        claim_date=claim_date or dt.datetime.now(CHINA).date(),
        currency=str(money.get("standardStrCode") or "CNY"),
        total=amount(money),
        state=str(flow.get("state") or ""),
        active=bool(flow.get("active", True)),
        oa_instance=form.get(OA_FIELD) or None,
        lines=tuple(lines),
        raw=flow,
    )
