"""A claim's invoices as 合思 gives them, read into the canonical :class:`ClaimInvoice`.

A claim line names its invoices in ``feeTypeForm.invoiceForm`` (``{"type": "exist", "invoices":
[{"invoiceId", "itemIds", "taxAmount"}]}``, get-forms-details.md); the invoice itself is an entity
of 合思's invoice platform, one object per type (``invoice``, ``train``, ``flightItinerary``…,
get-entity-invoice.md), whose fields are named ``E_system_<entity name>_<field>``. What cannot be
read (no entity, an amount that is not one, a type the dictionary does not know) is kept with its
``problem``, for validation to queue; nothing here raises on one invoice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from expense_sync.claims.parse import amount, day
from expense_sync.invoices.types import ekuaibao_type

# object id → (entity name in its field names, {canonical field: 合思 field suffix})
FIELDS: dict[str, tuple[str, dict[str, str]]] = {
    "invoice": (
        "发票主体",
        {
            "category": "发票类别",
            "code": "发票代码",
            "number": "发票号码",
            "date": "发票日期",
            "net": "发票金额",
            "tax": "税额",
            "total": "价税合计",
            "buyer_tax_id": "购买方纳税人识别号",
            "seller_name": "销售方名称",
            "seller_tax_id": "销售方纳税人识别号",
            "verified": "验真",
        },
    ),
    "train": ("火车票", {"number": "序列码", "alt_number": "号码", "date": "乘车时间", "total": "金额"}),
    "flightItinerary": (
        "航空运输电子客票行程单",
        {"number": "电子客票号码", "date": "填开日期", "total": "金额", "fare": "票价", "fuel": "燃油附加费"},
    ),
    "taxi": ("出租车票", {"code": "发票代码", "number": "发票号码", "date": "上车时间", "total": "金额"}),
    "passengerCar": ("客运汽车发票", {"code": "发票代码", "number": "发票号码", "date": "时间", "total": "金额"}),
    "fixed": ("定额发票", {"code": "发票代码", "number": "号码", "total": "金额"}),
    "tolls": ("过路费发票", {"code": "发票代码", "number": "发票号码", "date": "时间", "total": "金额"}),
    "machinePrint": (
        "机打发票",
        {
            "code": "发票代码",
            "number": "发票号码",
            "date": "时间",
            "total": "金额",
            "tax": "税额",
            "buyer_tax_id": "购买方税号",
            "seller_name": "销售方名称",
            "seller_tax_id": "销售方税号",
        },
    ),
    "other": ("其他", {"date": "日期", "total": "金额"}),
    "shopping": ("消费小票", {"date": "时间", "total": "金额"}),
    "medical": ("医疗发票", {"code": "票据代码", "number": "票据号码", "date": "开票日期", "total": "金额合计"}),
    "noTaxIncome": ("非税收入类票据", {}),
}
MONEY = ("net", "tax", "total", "fare", "fuel")
DETAIL = "E_system_发票明细_"  # the 发票明细 rows of a VAT invoice (get-entity-invoic-details-batch.md)
EXEMPT_RATES = ("免税", "不征税", "0%")


@dataclass(frozen=True)
class InvoiceItem:
    """One 发票明细 row: its amount, VAT rate (0.13 for "13%"; None when unreadable) and tax."""

    amount: Decimal | None
    rate: Decimal | None
    tax: Decimal | None

    def as_json(self) -> dict[str, str | None]:
        return {name: None if value is None else str(value) for name, value in vars(self).items()}


def rate_of(text: Any) -> Decimal | None:
    """``"13%"`` → 0.13; 免税 / 不征税 → 0; anything else → None."""
    value = str(text or "").strip()
    if value in EXEMPT_RATES:
        return Decimal(0)
    if value.endswith("%"):
        try:
            return (Decimal(value[:-1]) / 100).normalize()
        except ArithmeticError:
            return None
    return None


def invoice_items(rows: list[dict[str, Any]]) -> tuple[InvoiceItem, ...]:
    return tuple(
        InvoiceItem(
            amount(row.get(f"{DETAIL}金额")), rate_of(row.get(f"{DETAIL}税率")), amount(row.get(f"{DETAIL}税额"))
        )
        for row in rows
        if isinstance(row, dict)
    )


@dataclass(frozen=True)
class ClaimInvoice:
    """One invoice of one claim line, as the middle platform keeps it (``fin.claim_invoice``)."""

    line_no: int
    seq: int
    invoice_id: str
    source_type: str
    category: str | None
    invoice_type: str | None
    invoice_key: str
    invoice_code: str | None
    invoice_no: str | None
    invoice_date: dt.date | None
    seller_name: str | None
    seller_tax_id: str | None
    buyer_tax_id: str | None
    net: Decimal | None
    tax: Decimal | None
    total: Decimal | None
    fare: Decimal | None
    fuel: Decimal | None
    verified: bool | None
    claimed_deductible: Decimal | None
    problem: str | None
    raw: dict[str, Any] | None
    items: tuple[InvoiceItem, ...] = ()

    def hash_part(self) -> dict[str, Any]:
        """What of the invoice a voucher is made of (the claim's content hash covers it)."""
        return {
            "key": self.invoice_key,
            "type": self.invoice_type,
            **{name: None if getattr(self, name) is None else str(getattr(self, name)) for name in MONEY},
            "date": None if self.invoice_date is None else self.invoice_date.isoformat(),
            "problem": self.problem,
            "items": [item.as_json() for item in self.items],
        }


def invoice_refs(detail: dict[str, Any]) -> list[dict[str, Any]]:
    """The invoices a claim line names (``invoiceForm.invoices``); none unless its type is ``exist``."""
    form = (detail.get("feeTypeForm") or {}).get("invoiceForm") or {}
    if not isinstance(form, dict) or form.get("type") != "exist":
        return []
    return [ref for ref in form.get("invoices") or [] if isinstance(ref, dict) and ref.get("invoiceId")]


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value).strip()
    return text or None


def parse_invoice(line_no: int, seq: int, ref: dict[str, Any], found: dict[str, Any] | None) -> ClaimInvoice:
    """One invoice of a line: ``ref`` from the line's ``invoiceForm``, ``found`` what 合思's invoice
    API returned for it (``{"invoiceType", "entity", "details"}``, or None when it returned nothing;
    ``details`` the invoice's 发票明细 rows, where its VAT rates are)."""
    invoice_id = str(ref["invoiceId"])
    object_id = str((found or {}).get("invoiceType") or "")
    entity = (found or {}).get("entity")
    claimed = amount(ref.get("taxAmount")) if ref.get("taxAmount") is not None else None
    values: dict[str, Any] = {}
    problem = None
    if not isinstance(entity, dict):
        problem = "合思 returned no invoice for this id"
    else:
        prefix, fields = FIELDS.get(object_id, ("", {}))
        values = {name: entity.get(f"E_system_{prefix}_{suffix}") for name, suffix in fields.items()}
        for name in MONEY:
            if values.get(name) is not None:
                parsed = amount(values[name])
                if parsed is None:
                    problem = f"{name} {values[name]!r} is not an amount"
                values[name] = parsed
        if values.get("date") is not None:
            values["date"] = day(values["date"])
    category = _text(values.get("category"))
    kind = ekuaibao_type(object_id, category) if entity is not None else None
    if problem is None and kind is None:
        problem = f"合思 invoice type {object_id or '?'}{'/' + category if category else ''} is not in the dictionary"
    code, number = _text(values.get("code")), _text(values.get("number")) or _text(values.get("alt_number"))
    key = f"{kind.code if kind else object_id}:{code or ''}:{number}" if number else f"ekuaibao:{invoice_id}"
    verified = values.get("verified")
    return ClaimInvoice(
        line_no=line_no,
        seq=seq,
        invoice_id=invoice_id,
        source_type=object_id,
        category=category,
        invoice_type=kind.code if kind else None,
        invoice_key=key,
        invoice_code=code,
        invoice_no=number,
        invoice_date=values.get("date"),
        seller_name=_text(values.get("seller_name")),
        seller_tax_id=_text(values.get("seller_tax_id")),
        buyer_tax_id=_text(values.get("buyer_tax_id")),
        net=values.get("net"),
        tax=values.get("tax"),
        total=values.get("total"),
        fare=values.get("fare"),
        fuel=values.get("fuel"),
        verified=verified if isinstance(verified, bool) else None,
        claimed_deductible=claimed,
        problem=problem,
        raw=entity if isinstance(entity, dict) else None,
        items=invoice_items((found or {}).get("details") or []),
    )


def claim_invoices(flow: dict[str, Any], found: dict[str, dict[str, Any]]) -> tuple[ClaimInvoice, ...]:
    """Every invoice of a 合思 flow, line by line; ``found`` maps invoice id → what 合思 returned."""
    details = (flow.get("form") or {}).get("details") or []
    return tuple(
        parse_invoice(line_no, seq, ref, found.get(str(ref["invoiceId"])))
        for line_no, detail in enumerate(details, 1)
        if isinstance(detail, dict)
        for seq, ref in enumerate(invoice_refs(detail), 1)
    )
