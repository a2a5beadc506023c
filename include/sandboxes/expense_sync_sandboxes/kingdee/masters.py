"""K3Cloud's supplier (``BD_Supplier``) and tax-rate (``BD_TaxRate``) basedata, for ExecuteBillQuery.

Field keys: ``FSupplierId`` (internal id), ``FNumber``, ``FName``, ``FShortName``, ``FForbidStatus``
(A enabled / B forbidden), ``FDocumentStatus`` (C audited), ``FCreateOrgId``/``FUseOrgId``,
``FModifyDate``, ``FSOCIALCRECODE`` (统一社会信用代码, on the 基本信息 tab) and the bank entry's
``FBankCode`` (账号), ``FOpenBankName`` (开户银行), ``FBankIsDefault``; ``BD_TaxRate``: ``FID``,
``FNumber`` (``SL13_SYS``…), ``FName``, ``FTaxRate`` (in percent), ``FForbidStatus``,
``FDocumentStatus``. [I] (docs/vendors/kingdee.md "Suppliers and tax codes"): each supplier has one
bank entry, so its query answers one row (K3Cloud answers one row per entry row of an entity
queried); the exempt rate is ``MS_SYS`` 免税 with ``FTaxRate`` 0.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from expense_sync_sandboxes.kingdee.chart import ORG
from expense_sync_sandboxes.masters import MasterData

SUPPLIER_FORM, TAX_RATE_FORM = "BD_Supplier", "BD_TaxRate"
MODIFIED = dt.datetime(2025, 1, 6, 10, 30, 0)


def tax_number(code: str) -> str:
    return "MS_SYS" if code == "EX" else f"SL{code}_SYS"


def supplier_rows(masters: MasterData) -> list[dict[str, Any]]:
    rows = []
    for n, s in enumerate(sorted(masters.suppliers.values(), key=lambda s: s.code)):
        rows.append(
            {
                "Id": 300_001 + n,
                "FSupplierId": 300_001 + n,
                "FMasterId": 300_001 + n,
                "FNumber": f"VEN{s.code[1:]}",
                "FName": s.name,
                "FShortName": s.name[:6],
                "FForbidStatus": "A" if s.active else "B",
                "FDocumentStatus": "C",
                "FCreateOrgId": ORG,
                "FUseOrgId": ORG,
                "FModifyDate": MODIFIED + dt.timedelta(minutes=n),
                "FSOCIALCRECODE": s.credit_code,
                "FBankCode": s.bank_account,
                "FOpenBankName": s.bank_name,
                "FBankHolder": s.name,
                "FBankIsDefault": s.bank_account is not None,
            }
        )
    return rows


def tax_rate_rows(masters: MasterData) -> list[dict[str, Any]]:
    return [
        {
            "Id": 400_001 + n,
            "FID": 400_001 + n,
            "FNumber": tax_number(t.code),
            "FName": t.name,
            "FTaxRate": t.percent if t.percent is not None else Decimal("0"),
            "FForbidStatus": "A",
            "FDocumentStatus": "C",
            "FCreateOrgId": ORG,
            "FUseOrgId": ORG,
            "FModifyDate": MODIFIED,
        }
        for n, t in enumerate(masters.tax_rates.values())
    ]


def rows(masters: MasterData, form: str) -> tuple[list[dict[str, Any]], list[str]] | None:
    """The records and field keys of the supplier or tax-rate form, or ``None`` for another form."""
    if form.lower() == SUPPLIER_FORM.lower():
        records = supplier_rows(masters)
    elif form.lower() == TAX_RATE_FORM.lower():
        records = tax_rate_rows(masters)
    else:
        return None
    sample = supplier_rows(MasterData()) if form.lower() == SUPPLIER_FORM.lower() else tax_rate_rows(MasterData())
    return records, list(sample[0])
