"""The supplier (``BD_Supplier``) and tax-rate (``BD_TaxRate``) masters through ExecuteBillQuery.

A supplier row carries its bank entry's fields, so a supplier with several bank rows comes back once
per row: the rows of one ``FNumber`` are folded into one supplier, its default account kept (else
the first). Active = ``FForbidStatus`` A and ``FDocumentStatus`` C (audited). ``FTaxRate`` is in
percent. Field keys and what stays inferred: ``docs/vendors/kingdee.md`` ("Suppliers and tax codes")."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from itertools import groupby
from typing import Any

from expense_sync.erp.masters import Supplier, TaxCode, percent
from expense_sync.hooks.contract import required
from expense_sync.hooks.kingdee.query import KingdeeQuery, quote

SUPPLIER_FORM, TAX_RATE_FORM = "BD_Supplier", "BD_TaxRate"
SUPPLIER_FIELDS = (
    "FSupplierId", "FNumber", "FName", "FSOCIALCRECODE", "FForbidStatus", "FDocumentStatus", "FBankCode",
    "FBankIsDefault",
)  # fmt: skip
TAX_RATE_FIELDS = ("FID", "FNumber", "FName", "FTaxRate", "FForbidStatus", "FDocumentStatus")
EXEMPT_MARK = "免税"  # [I] K3Cloud has no exempt flag on BD_TaxRate: the rate's name says it


def _active(row: dict[str, Any], endpoint: str) -> bool:
    forbid = required(row, "FForbidStatus", vendor="kingdee", endpoint=endpoint)
    return forbid == "A" and required(row, "FDocumentStatus", vendor="kingdee", endpoint=endpoint) == "C"


def _text(value: Any) -> str | None:
    return str(value).strip() or None if value is not None else None


class KingdeeMasters(KingdeeQuery):
    """``suppliers()`` and ``tax_codes()`` of the ERP contract."""

    def _org_filter(self) -> str:
        org = self.settings.org_number
        return f"FUseOrgId.FNumber={quote(org)}" if org else ""

    def suppliers(self) -> Iterator[Supplier]:
        """Every supplier of the use org, page by page, in number order."""
        endpoint = f"ExecuteBillQuery {SUPPLIER_FORM}"
        rows = self.query(SUPPLIER_FORM, SUPPLIER_FIELDS, self._org_filter(), "FNumber ASC")
        for number, group in groupby(rows, key=lambda row: required(row, "FNumber", vendor="kingdee")):
            entries = list(group)
            row = next((r for r in entries if r.get("FBankIsDefault")), entries[0])
            yield Supplier(
                code=str(number),
                name=str(required(row, "FName", vendor="kingdee", endpoint=endpoint)),
                credit_code=_text(required(row, "FSOCIALCRECODE", vendor="kingdee", endpoint=endpoint, nullable=True)),
                active=_active(row, endpoint),
                bank_account=_text(row.get("FBankCode")),
                remote_id=str(required(row, "FSupplierId", vendor="kingdee", endpoint=endpoint)),
            )

    def tax_codes(self) -> list[TaxCode]:
        """Every tax rate of the use org."""
        endpoint = f"ExecuteBillQuery {TAX_RATE_FORM}"
        codes = []
        for row in self.query(TAX_RATE_FORM, TAX_RATE_FIELDS, self._org_filter(), "FNumber ASC"):
            name = str(required(row, "FName", vendor="kingdee", endpoint=endpoint))
            exempt = EXEMPT_MARK in name
            rate = required(row, "FTaxRate", vendor="kingdee", endpoint=endpoint)
            codes.append(
                TaxCode(
                    code=str(required(row, "FNumber", vendor="kingdee", endpoint=endpoint)),
                    name=name,
                    rate=None if exempt else percent(Decimal(str(rate))),
                    exempt=exempt,
                    active=_active(row, endpoint),
                    remote_id=str(required(row, "FID", vendor="kingdee", endpoint=endpoint)),
                )
            )
        return codes
