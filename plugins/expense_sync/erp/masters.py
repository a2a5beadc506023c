"""Canonical ERP masters beside the chart: suppliers (供应商) and tax codes (税码/税率).

Every ERP hook reads its vendor's supplier and tax-rate archives and hands them over as these types
(``suppliers()`` / ``tax_codes()``), so the middle platform never sees a vendor shape. Wire facts per
ERP: ``docs/vendors/<erp>.md`` ("Suppliers and tax codes")."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

# GB 32100-2015 统一社会信用代码: 18 characters over this alphabet (no I, O, S, V, Z); the 18th is a
# check character over the first 17 with these weights (3^(i) mod 31).
CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_code_check_char(body: str) -> str:
    """The check character of the first 17 characters of a unified social credit code."""
    if len(body) != 17 or any(ch not in CREDIT_CODE_ALPHABET for ch in body):
        raise ValueError(f"not the 17 leading characters of a credit code: {body!r}")
    total = sum(CREDIT_CODE_ALPHABET.index(ch) * w for ch, w in zip(body, CREDIT_CODE_WEIGHTS, strict=True))
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def valid_credit_code(code: str) -> bool:
    """Whether ``code`` is a well-formed 18-character unified social credit code whose check
    character (GB 32100-2015, §5) is right. Case-sensitive: the standard spells letters upper case."""
    if len(code) != 18 or any(ch not in CREDIT_CODE_ALPHABET for ch in code):
        return False
    return credit_code_check_char(code[:17]) == code[17]


@dataclass(frozen=True)
class Supplier:
    """One supplier of the ERP's supplier master.

    :param code: the ERP's supplier number (the business key)
    :param credit_code: the 统一社会信用代码 (or tax registration number) as the ERP holds it, unchecked
    :param active: enabled and not blocked in the ERP
    :param bank_account: the default bank account number, when the ERP lists one
    :param remote_id: the ERP's internal id (Kingdee FSupplierId, Yonyou id, SAP Supplier)
    """

    code: str
    name: str
    credit_code: str | None
    active: bool
    bank_account: str | None
    remote_id: str

    @property
    def credit_code_valid(self) -> bool:
        return self.credit_code is not None and valid_credit_code(self.credit_code)


@dataclass(frozen=True)
class TaxCode:
    """One tax code / VAT rate of the ERP.

    :param rate: the rate as a fraction (``Decimal("0.13")`` for 13 %); ``None`` for an exempt code
    :param exempt: 免税 (exempt), as opposed to a 0 % rate (零税率)
    """

    code: str
    name: str
    rate: Decimal | None
    exempt: bool
    active: bool
    remote_id: str

    def __post_init__(self) -> None:
        if self.rate is not None and not isinstance(self.rate, Decimal):
            raise TypeError("tax rates are Decimal")
        if self.exempt != (self.rate is None):
            raise ValueError(f"tax code {self.code}: an exempt code has no rate, any other has one")
        if self.rate is not None and not Decimal(0) <= self.rate < 1:
            raise ValueError(f"tax code {self.code}: rate {self.rate} is not a fraction in [0, 1)")


def percent(value: object) -> Decimal:
    """A rate the ERP states in percent (``13``, ``"13.00"``) as a fraction (``Decimal("0.13")``)."""
    return (Decimal(str(value)) / 100).normalize()
