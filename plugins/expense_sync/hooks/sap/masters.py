"""Suppliers and tax codes of the ERP contract, over OData v2.

* Suppliers: ``API_BUSINESS_PARTNER``'s ``A_Supplier``, then its business partners' tax numbers of the
  credit-code category (``A_BusinessPartnerTaxNumber``, ``BPTaxType`` = the extras'
  ``credit_code_tax_type``, CN5 by default) and bank details (``A_BusinessPartnerBank``), each set
  read once and joined on the number (a supplier's business partner has its number [I]). Active =
  neither posting- nor purchasing-blocked nor marked for deletion. The bank account is
  ``BankAccount`` followed by ``BankAccountReferenceText`` (SAP's 18 characters plus the reference,
  how longer Chinese account numbers are kept [I]), of the lowest ``BankIdentification``.
* Tax codes: no released OData API exists for the tax-code master in S/4HANA Cloud; the extras name
  the installation's custom CDS view (``tax_code_service`` / ``tax_code_entity_set``) with the fields
  ``TaxCode``, ``TaxCodeName``, ``TaxRate`` (percent), ``TaxIsExempt``, ``TaxCodeIsInactive`` [I].

What is confirmed and what inferred: ``docs/vendors/sap.md`` ("Suppliers and tax codes")."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from expense_sync.erp.masters import Supplier, TaxCode, percent
from expense_sync.hooks.contract import required
from expense_sync.hooks.sap.client import SapClient
from expense_sync.hooks.sap.odata import literal

BUSINESS_PARTNER = "API_BUSINESS_PARTNER"
SUPPLIERS, TAX_NUMBERS, BANKS = "A_Supplier", "A_BusinessPartnerTaxNumber", "A_BusinessPartnerBank"
SUPPLIER_FIELDS = "Supplier,SupplierName,SupplierFullName,PostingIsBlocked,PurchasingIsBlocked,DeletionIndicator"


def _text(value: Any) -> str | None:
    return str(value).strip() or None if value is not None else None


class SapMasters(SapClient):
    """``suppliers()`` and ``tax_codes()``."""

    def _by_partner(self, entity_set: str, params: dict[str, str]) -> dict[str, dict]:
        """One row per business partner (the first in key order) of a partner-keyed entity set."""
        endpoint = f"GET {BUSINESS_PARTNER}/{entity_set}"
        rows: dict[str, dict] = {}
        for row in self.odata_rows(BUSINESS_PARTNER, entity_set, params):
            rows.setdefault(str(required(row, "BusinessPartner", vendor=self.vendor, endpoint=endpoint)), row)
        return rows

    def suppliers(self) -> Iterator[Supplier]:
        """Every supplier, in number order, with its credit code and bank account."""
        category = literal(self.settings.credit_code_tax_type)
        tax_numbers = self._by_partner(TAX_NUMBERS, {"$filter": f"BPTaxType eq {category}"})
        banks = self._by_partner(BANKS, {"$orderby": "BusinessPartner,BankIdentification"})
        endpoint = f"GET {BUSINESS_PARTNER}/{SUPPLIERS}"
        params = {"$select": SUPPLIER_FIELDS, "$orderby": "Supplier"}
        for row in self.odata_rows(BUSINESS_PARTNER, SUPPLIERS, params):
            number = str(required(row, "Supplier", vendor=self.vendor, endpoint=endpoint))
            name = _text(row.get("SupplierFullName")) or required(
                row, "SupplierName", vendor=self.vendor, endpoint=endpoint
            )
            blocked = any(
                required(row, flag, vendor=self.vendor, endpoint=endpoint)
                for flag in ("PostingIsBlocked", "PurchasingIsBlocked", "DeletionIndicator")
            )
            tax = tax_numbers.get(number, {})
            bank = banks.get(number)
            account = None
            if bank is not None:
                account = _text((bank.get("BankAccount") or "") + (bank.get("BankAccountReferenceText") or ""))
            yield Supplier(
                code=number,
                name=str(name),
                credit_code=_text(tax.get("BPTaxNumber")) or _text(tax.get("BPTaxLongNumber")),
                active=not blocked,
                bank_account=account,
                remote_id=number,
            )

    def tax_codes(self) -> list[TaxCode]:
        """The tax codes of the configured tax procedure."""
        service, entity_set = self.settings.tax_code_service, self.settings.tax_code_entity_set
        endpoint = f"GET {service}/{entity_set}"
        params = {
            "$filter": f"TaxCalculationProcedure eq {literal(self.settings.tax_procedure)}",
            "$orderby": "TaxCode",
        }
        codes = []
        for row in self.odata_rows(service, entity_set, params):
            code = str(required(row, "TaxCode", vendor=self.vendor, endpoint=endpoint))
            exempt = bool(required(row, "TaxIsExempt", vendor=self.vendor, endpoint=endpoint))
            rate = required(row, "TaxRate", vendor=self.vendor, endpoint=endpoint, nullable=exempt)
            codes.append(
                TaxCode(
                    code=code,
                    name=str(required(row, "TaxCodeName", vendor=self.vendor, endpoint=endpoint)),
                    rate=None if exempt else percent(Decimal(str(rate))),
                    exempt=exempt,
                    active=not required(row, "TaxCodeIsInactive", vendor=self.vendor, endpoint=endpoint),
                    remote_id=f"{self.settings.tax_procedure}/{code}",
                )
            )
        return codes
