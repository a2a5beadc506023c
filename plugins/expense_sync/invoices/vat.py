"""The deductible input VAT (可抵扣进项税额) of one invoice, by its type's rule (invoice_types.yaml).

Money is Decimal, rounded half up to the cent per invoice. The transport formulas are those of
财政部 税务总局 海关总署公告2019年第39号 第六条: 航空 (票价 + 燃油附加费) ÷ (1 + 9 %) × 9 %, 铁路
票面金额 ÷ (1 + 9 %) × 9 %, 公路/水路 票面金额 ÷ (1 + 3 %) × 3 %; an electronic 普通发票 for passenger
transport deducts its printed tax. Not checked here: that the passenger is an employee of the company
(the rule's condition), which 合思's entity names but our org master cannot match by name alone.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from expense_sync.invoices.parse import ClaimInvoice

CENT = Decimal("0.01")
NINE, THREE = Decimal("0.09"), Decimal("0.03")


def _embedded(gross: Decimal, rate: Decimal) -> Decimal:
    return (gross / (1 + rate) * rate).quantize(CENT, ROUND_HALF_UP)


def rule_vat(invoice: ClaimInvoice, vat_rule: str) -> Decimal:
    """The input VAT ``invoice`` carries by its type's rule, on an expense that may deduct it (for
    ``transport_invoice_tax``: a passenger-transport expense). Which expense the line is — and so
    whether this amount is deducted at all — is decided in validation (claims/validate.sql), since a
    fee type's category may change between the intake and the voucher."""
    if invoice.problem:
        return Decimal(0)
    if vat_rule in ("invoice_tax", "transport_invoice_tax"):
        return invoice.tax or Decimal(0)
    if vat_rule == "air_rail_9":
        if invoice.source_type == "flightItinerary":
            return _embedded((invoice.fare or Decimal(0)) + (invoice.fuel or Decimal(0)), NINE)
        return _embedded(invoice.total or Decimal(0), NINE)
    if vat_rule == "road_water_3":
        return _embedded(invoice.total or Decimal(0), THREE)
    return Decimal(0)
