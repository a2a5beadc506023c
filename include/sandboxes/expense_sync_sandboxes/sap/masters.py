"""Suppliers and tax codes over OData v2, as ``docs/vendors/sap.md`` ("Suppliers and tax codes") says.

* ``API_BUSINESS_PARTNER``: ``A_Supplier`` (``Supplier``, ``SupplierName``, ``SupplierFullName``,
  ``PostingIsBlocked``, ``PurchasingIsBlocked``, ``DeletionIndicator``, ``TaxNumber1``…) [V: names from
  the service's entity types], ``A_BusinessPartnerTaxNumber`` (``BusinessPartner``, ``BPTaxType``,
  ``BPTaxNumber``, ``BPTaxLongNumber``) [V] and ``A_BusinessPartnerBank`` (``BusinessPartner``,
  ``BankIdentification``, ``BankName``, ``BankAccount``…) [V]; trimmed to the properties read here.
  A supplier's business partner has the supplier's number (CVI with the same number range) [I]; its
  unified social credit code is a tax number of category ``CN5`` [I]; a disabled supplier is
  posting- and purchasing-blocked.
* Tax codes: S/4HANA Cloud releases no OData API for the tax-code master; an installation exposes a
  custom CDS view (``YY1_TAXCODE_CDS`` / ``YY1_TaxCode``: procedure ``TAXCN``, ``TaxCode``,
  ``TaxType``, ``TaxCodeName``, ``TaxRate`` in percent, ``TaxIsExempt``, ``TaxCodeIsInactive``) [I:
  the whole view is this sandbox's and the connection's choice, named in the extras].
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from expense_sync_sandboxes.masters import MasterData
from expense_sync_sandboxes.sap.edm import EntitySet, Prop, Service
from expense_sync_sandboxes.sap.services import SERVICES, b, s

SUPPLIER = EntitySet(
    "A_Supplier",
    ("Supplier",),
    (
        s("Supplier", 10, key=True),
        s("SupplierName", 80, upper=False),
        s("SupplierFullName", 220, upper=False),
        s("SupplierAccountGroup", 4),
        b("PostingIsBlocked"),
        b("PurchasingIsBlocked"),
        b("DeletionIndicator"),
        s("TaxNumber1", 16),
        s("TaxNumber2", 11),
        s("BusinessPartnerPanNumber", 40),
    ),
    label="Supplier",
)
TAX_NUMBER = EntitySet(
    "A_BusinessPartnerTaxNumber",
    ("BusinessPartner", "BPTaxType"),
    (
        s("BusinessPartner", 10, key=True),
        s("BPTaxType", 4, key=True),
        s("BPTaxNumber", 20),
        s("BPTaxLongNumber", 60),
        s("AuthorizationGroup", 4),
    ),
    label="Business Partner Tax Number",
)
BANK = EntitySet(
    "A_BusinessPartnerBank",
    ("BusinessPartner", "BankIdentification"),
    (
        s("BusinessPartner", 10, key=True),
        s("BankIdentification", 4, key=True),
        s("BankCountryKey", 3),
        s("BankName", 60, upper=False),
        s("BankNumber", 15),
        s("BankAccount", 18),
        s("BankAccountHolderName", 60, upper=False),
        s("BankAccountReferenceText", 20, upper=False),
        s("IBAN", 34),
    ),
    label="Business Partner Bank",
)
BUSINESS_PARTNER_SERVICE = Service("API_BUSINESS_PARTNER", (SUPPLIER, TAX_NUMBER, BANK))

TAX_CODE = EntitySet(
    "YY1_TaxCode",
    ("TaxCalculationProcedure", "TaxCode"),
    (
        s("TaxCalculationProcedure", 6, key=True),
        s("TaxCode", 2, key=True),
        s("TaxType", 1),
        s("TaxCodeName", 50, upper=False),
        Prop("TaxRate", "Edm.Decimal", precision=7, scale=3),
        b("TaxIsExempt"),
        b("TaxCodeIsInactive"),
    ),
    label="Tax Code (custom CDS view)",
)
TAX_CODE_SERVICE = Service("YY1_TAXCODE_CDS", (TAX_CODE,))
SERVICES.update({svc.path: svc for svc in (BUSINESS_PARTNER_SERVICE, TAX_CODE_SERVICE)})

CREDIT_CODE_TAX_TYPE = "CN5"
TAX_CODES = {"13": "J1", "09": "J2", "06": "J3", "05": "J4", "03": "J5", "01": "J6", "00": "J0", "EX": "JE"}


def supplier_number(code: str) -> str:
    return f"{1_000_000_000 + int(code[1:]):010d}" if code[1:].isdigit() else code.upper()


def tables(masters: MasterData) -> dict[str, list[dict[str, Any]]]:
    """The rows of the supplier, tax-number, bank and tax-code entity sets."""
    suppliers, tax_numbers, banks = [], [], []
    for sup in sorted(masters.suppliers.values(), key=lambda x: x.code):
        number = supplier_number(sup.code)
        blocked = not sup.active
        suppliers.append(
            {
                "Supplier": number,
                "SupplierName": sup.name[:80],
                "SupplierFullName": sup.name,
                "SupplierAccountGroup": "SUPL",
                "PostingIsBlocked": blocked,
                "PurchasingIsBlocked": blocked,
                "DeletionIndicator": False,
                "TaxNumber1": "",
                "TaxNumber2": "",
                "BusinessPartnerPanNumber": "",
            }
        )
        if sup.credit_code:
            tax_numbers.append(
                {
                    "BusinessPartner": number,
                    "BPTaxType": CREDIT_CODE_TAX_TYPE,
                    "BPTaxNumber": sup.credit_code,
                    "BPTaxLongNumber": "",
                    "AuthorizationGroup": "",
                }
            )
        if sup.bank_account:
            banks.append(
                {
                    "BusinessPartner": number,
                    "BankIdentification": "0001",
                    "BankCountryKey": "CN",
                    "BankName": sup.bank_name,
                    "BankNumber": "",
                    "BankAccount": sup.bank_account[:18],
                    "BankAccountHolderName": sup.name[:60],
                    "BankAccountReferenceText": sup.bank_account[18:],
                    "IBAN": "",
                }
            )
    tax_codes = [
        {
            "TaxCalculationProcedure": "TAXCN",
            "TaxCode": TAX_CODES[t.code],
            "TaxType": "V",
            "TaxCodeName": f"进项税 {t.name}",
            "TaxRate": t.percent if t.percent is not None else Decimal("0"),
            "TaxIsExempt": t.percent is None,
            "TaxCodeIsInactive": False,
        }
        for t in masters.tax_rates.values()
    ]
    return {
        "A_Supplier": suppliers,
        "A_BusinessPartnerTaxNumber": tax_numbers,
        "A_BusinessPartnerBank": banks,
        "YY1_TaxCode": tax_codes,
    }
