"""A 合思 flow (``flowDetails``) as the claim it stands for.

Money arrives as strings (``expenseMoney.standard``) and stays :class:`~decimal.Decimal`; a malformed
line amount is kept as ``None`` for validation to report. Times are epoch milliseconds, read in China
time; the claim date (``expenseDate``) decides the fiscal period, so it is never guessed. A document
that cannot be read as a claim at all (no total, no expense date, details or a detail's form of the
wrong type, no document number, an ``updateTime`` that is not a time) raises
:class:`MalformedDocument`, which names the field. The content hash covers what a voucher is made of
(lines, amounts, dimensions, date, currency), so an edit in 合思 bumps the claim's version.

Custom fields (cost center, project, OA instance) may sit on the claim header (``form``) as well
as on each line (``details[].feeTypeForm``), depending on how the tenant built its form template:
a line takes its own value, else the header's (the line wins when both are set), here and in
``include/sql/claims/validate.sql``. The OA instance is read from the header only.

The 申请单 (requisition) a claim reimburses is the header's ``expenseLink`` (one ID, rule 按申请事项整体
报销) or ``expenseLinks`` (IDs, rule 按申请明细分别报销); the intake keeps their 单据编号 (a travel
booking names its 申请单 by code), and a booking's accrual is reversed by the claim that names its
requisition (``expense_sync.accruals``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

CHINA = dt.timezone(dt.timedelta(hours=8))
APPROVED_STATES = frozenset({"paying", "PROCESSING", "paid", "archived"})
CANCELLED_STATES = frozenset({"rejected", "nullify", "draft"})
COST_CENTER_FIELD, PROJECT_FIELD, OA_FIELD = "u_costCenter", "u_project", "u_oaInstanceId"
AMOUNT_LIMIT = Decimal("1e16")  # what numeric(18,2) holds
FIRST_DAY, LAST_DAY = dt.date(2000, 1, 1), dt.date(2099, 12, 31)  # a claim date outside is garbage


class MalformedDocument(ValueError):
    """A 合思 document that cannot be read as a claim; ``field`` names the part at fault."""

    def __init__(self, flow: dict[str, Any], field: str, problem: str) -> None:
        form = flow.get("form")
        self.flow_id = str(flow.get("id") or "")
        self.claim_no = str((form.get("code") if isinstance(form, dict) else None) or self.flow_id)
        self.field = field
        super().__init__(f"{field}: {problem}")


def amount(money: Any) -> Decimal | None:
    """The amount of a 合思 money object (``{"standard": "33.00", …}``), or ``None`` if malformed
    or too large to book."""
    value = money.get("standard") if isinstance(money, dict) else money
    try:
        result = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return result if result.is_finite() and abs(result) < AMOUNT_LIMIT else None


def day(epoch_ms: Any) -> dt.date | None:
    """The China date of an epoch-milliseconds time, or ``None`` if malformed or not in 2000–2099."""
    if isinstance(epoch_ms, bool):
        return None
    try:
        result = dt.datetime.fromtimestamp(int(epoch_ms) / 1000, CHINA).date()
    except (TypeError, ValueError, OverflowError, OSError):
        return None
    return result if FIRST_DAY <= result <= LAST_DAY else None


def update_time(flow: dict[str, Any]) -> int | None:
    """A flow's ``updateTime`` (epoch ms; 0 when it has none), or ``None`` when it is garbage: not a
    whole number of milliseconds from 2000 to 2099 (the catch-up poll's watermark is made of it)."""
    value = flow.get("updateTime")
    if value is None:
        return 0
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or day(value) is None:
        return None
    return value


def _type_name(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__


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
    total: Decimal
    state: str
    active: bool
    oa_instance: str | None
    lines: tuple[ParsedLine, ...]
    raw: dict[str, Any]
    requisitions: tuple[str, ...] = ()  # the 申请单 IDs the claim is linked to (form.expenseLink[s])

    @property
    def period(self) -> str:
        return f"{self.claim_date:%Y-%m}"

    @property
    def approved(self) -> bool:
        return self.active and self.state in APPROVED_STATES

    def content_hash(self, company: str, invoices: Iterable[Any] = ()) -> str:
        """The hash of what the claim's voucher is made of; ``invoices`` (the claim's
        :class:`~expense_sync.invoices.parse.ClaimInvoice`) count when it has any, so that a
        replaced invoice (another tax split) is a new version while a claim without is hashed as before."""
        content: dict[str, Any] = {
            "company": company,
            "date": self.claim_date.isoformat(),
            "currency": self.currency,
            "lines": [{**asdict(line), "amount": str(line.amount)} for line in self.lines],
        }
        parts = [(invoice.line_no, invoice.seq, invoice.hash_part()) for invoice in invoices]
        if parts:
            content["invoices"] = parts
        return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def parse_flow(flow: dict[str, Any]) -> ParsedClaim:
    """The claim of a flow detail; raises :class:`MalformedDocument` when it cannot be one."""
    form = flow.get("form") or {}
    if not isinstance(form, dict):
        raise MalformedDocument(flow, "form", f"expected an object, got {_type_name(form)}")
    details = form.get("details") or []
    if not isinstance(details, list):
        raise MalformedDocument(flow, "details", f"expected a list, got {_type_name(details)}")
    lines = tuple(_line(flow, n, detail, form) for n, detail in enumerate(details, 1))
    money = form.get("expenseMoney")
    if not isinstance(money, dict):
        raise MalformedDocument(flow, "expenseMoney", f"expected a money object, got {_type_name(money)}")
    total = amount(money)
    if total is None:
        raise MalformedDocument(
            flow, "expenseMoney", f"{money.get('standard')!r} is not an amount below {AMOUNT_LIMIT:,.0f}"
        )
    claim_date = day(form.get("expenseDate"))
    if claim_date is None:
        raise MalformedDocument(
            flow, "expenseDate", f"{form.get('expenseDate')!r} is not a time (epoch ms) from {FIRST_DAY} to {LAST_DAY}"
        )
    code = form.get("code")
    if not isinstance(code, str) or not code.strip():  # the claim's number: the voucher's external ref
        raise MalformedDocument(flow, "code", f"{code!r} is not a document number (form.code)")
    if update_time(flow) is None:
        raise MalformedDocument(
            flow, "updateTime", f"{flow.get('updateTime')!r} is not a time (epoch ms) from {FIRST_DAY} to {LAST_DAY}"
        )
    return ParsedClaim(
        flow_id=str(flow["id"]),
        claim_no=code,
        submitter_id=str(form.get("submitterId") or flow.get("ownerId") or ""),
        title=str(form.get("title") or ""),
        claim_date=claim_date,
        currency=str(money.get("standardStrCode") or "CNY"),
        total=total,
        state=str(flow.get("state") or ""),
        active=bool(flow.get("active", True)),
        oa_instance=form.get(OA_FIELD) or None,
        lines=lines,
        raw=flow,
        requisitions=requisitions(form),
    )


def requisitions(form: dict[str, Any]) -> tuple[str, ...]:
    """The 申请单 IDs of a claim's header, in order, without repeats: ``expenseLink`` (a string) and
    ``expenseLinks`` (a list); anything else is no link."""
    links = form.get("expenseLinks")
    found = [form.get("expenseLink"), *(links if isinstance(links, list) else [])]
    return tuple(dict.fromkeys(str(x) for x in found if isinstance(x, str) and x.strip()))


def _line(flow: dict[str, Any], line_no: int, detail: Any, header: dict[str, Any]) -> ParsedLine:
    where = f"details[{line_no - 1}]"
    if not isinstance(detail, dict):
        raise MalformedDocument(flow, where, f"expected an object, got {_type_name(detail)}")
    fee_form = detail.get("feeTypeForm") or {}
    if not isinstance(fee_form, dict):
        raise MalformedDocument(flow, f"{where}.feeTypeForm", f"expected an object, got {_type_name(fee_form)}")
    return ParsedLine(
        line_no=line_no,
        fee_type_id=str(detail.get("feeTypeId") or ""),
        amount=amount(fee_form.get("amount")),
        cost_center_item=fee_form.get(COST_CENTER_FIELD) or header.get(COST_CENTER_FIELD) or None,
        project_item=fee_form.get(PROJECT_FIELD) or header.get(PROJECT_FIELD) or None,
        description=str(fee_form.get("consumptionReasons") or "")[:200],
    )
