"""The seeded supplier and tax-rate masters every ERP sandbox serves, each in its vendor's shape.

Vendor-neutral: each ERP sandbox (``kingdee/masters.py``, ``yonyou/masters.py``, ``sap/masters.py``)
turns these into its own records. The suppliers are the kinds of sellers an expense claim's invoices
name (airlines, China Railway, hotels, a taxi company, a restaurant, telecoms); their unified social
credit codes carry a correct GB 32100-2015 check character (computed here), except ``S013``'s,
whose check character is wrong on purpose (:data:`INVALID_SUPPLIER`, seeded only when a test asks
for it); ``S012`` is disabled. The organisation-code bodies are
made up: none is a real company's registration.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_code(body: str) -> str:
    """``body`` (17 characters) with its GB 32100-2015 check character appended."""
    total = sum(ALPHABET.index(ch) * w for ch, w in zip(body, WEIGHTS, strict=True))
    return body + ALPHABET[(31 - total % 31) % 31]


def wrong_check(code: str) -> str:
    """The code with a check character that does not match."""
    return code[:17] + ALPHABET[(ALPHABET.index(code[17]) + 1) % len(ALPHABET)]


@dataclass(frozen=True)
class SeedSupplier:
    code: str
    name: str
    credit_code: str | None
    bank_name: str | None
    bank_account: str | None
    active: bool = True


@dataclass(frozen=True)
class SeedTaxRate:
    code: str  # a vendor-neutral key; each sandbox names its codes its vendor's way
    name: str
    percent: Decimal | None  # None: exempt (免税)


SUPPLIERS: tuple[SeedSupplier, ...] = (
    SeedSupplier(
        "S001", "中国国际航空股份有限公司", credit_code("91110000M0003X7A4"), "中国银行北京分行", "320156780012"
    ),
    SeedSupplier(
        "S002", "中国东方航空股份有限公司", credit_code("91310000MA0001QB2"), "工商银行上海分行", "1001203309000123456"
    ),
    SeedSupplier(
        "S003", "中国南方航空股份有限公司", credit_code("91440000MA0002HN8"), "建设银行广州分行", "44050110004500001234"
    ),
    SeedSupplier(
        "S004",
        "中国铁路北京局集团有限公司",
        credit_code("91110000MA001TL56"),
        "工商银行北京分行",
        "0200001109026500010",
    ),
    SeedSupplier(
        "S005",
        "中国铁路上海局集团有限公司",
        credit_code("91310000MA002TL73"),
        "交通银行上海分行",
        "310066726018170012345",
    ),
    SeedSupplier(
        "S006", "上海锦江国际酒店有限公司", credit_code("91310000MA1HJ0J27"), "招商银行上海分行", "121909876510001"
    ),
    SeedSupplier(
        "S007", "华住酒店管理有限公司", credit_code("91310115MA1HJ8H35"), "浦发银行上海分行", "98290078801000001234"
    ),
    SeedSupplier(
        "S008", "北京银建出租汽车有限公司", credit_code("91110105MA00YJ2C8"), "北京银行朝阳支行", "20000001234500012345"
    ),
    SeedSupplier(
        "S009",
        "北京全聚德餐饮管理有限公司",
        credit_code("91110101MA01QJD47"),
        "工商银行前门支行",
        "0200000309020112345",
    ),
    SeedSupplier(
        "S010", "中国移动通信集团北京有限公司", credit_code("91110000MA01YD0B6"), "中国银行西单支行", "340456789012"
    ),
    SeedSupplier(
        "S011",
        "中国电信股份有限公司上海分公司",
        credit_code("91310000MA1DX0T55"),
        "建设银行上海分行",
        "31050161393600001234",
    ),
    SeedSupplier(
        "S012",
        "如家酒店管理（北京）有限公司",
        credit_code("91110108MA01RJ3H2"),
        "民生银行北京分行",
        "0101014170012345",
        False,
    ),
)

# seeded only on request (``add_supplier`` or a reset with ``invalid_supplier``): every run that meets
# it queues it, which the tests of other flows need not see
INVALID_SUPPLIER = SeedSupplier(
    "S013",
    "北京顺达商旅服务有限公司",
    wrong_check(credit_code("91110106MA02TD7K9")),
    "农业银行丰台支行",
    "11200101040012345",
)

TAX_RATES: tuple[SeedTaxRate, ...] = (
    SeedTaxRate("13", "13%增值税", Decimal("13")),
    SeedTaxRate("09", "9%增值税", Decimal("9")),
    SeedTaxRate("06", "6%增值税", Decimal("6")),
    SeedTaxRate("05", "5%征收率", Decimal("5")),
    SeedTaxRate("03", "3%征收率", Decimal("3")),
    SeedTaxRate("01", "1%征收率", Decimal("1")),
    SeedTaxRate("00", "0%零税率", Decimal("0")),
    SeedTaxRate("EX", "免税", None),
)


class MasterData:
    """One sandbox's suppliers and tax rates (a fresh copy per reset), with the seeding hook tests use."""

    def __init__(self, *, invalid_supplier: bool = False) -> None:
        seeded = (*SUPPLIERS, INVALID_SUPPLIER) if invalid_supplier else SUPPLIERS
        self.suppliers: dict[str, SeedSupplier] = {s.code: s for s in seeded}
        self.tax_rates: dict[str, SeedTaxRate] = {t.code: t for t in TAX_RATES}
        self.version = 0  # moved by every change: a sandbox rebuilds its vendor records on a new version

    def add_supplier(
        self,
        code: str,
        name: str,
        credit_code: str | None = None,
        *,
        bank_name: str | None = None,
        bank_account: str | None = None,
        active: bool = True,
    ) -> SeedSupplier:
        """Add (or replace) a supplier."""
        supplier = SeedSupplier(code, name, credit_code, bank_name, bank_account, active)
        self.suppliers[code] = supplier
        self.version += 1
        return supplier

    def set_supplier_active(self, code: str, active: bool) -> SeedSupplier:
        """Disable or enable a supplier."""
        supplier = self.suppliers[code] = replace(self.suppliers[code], active=active)
        self.version += 1
        return supplier

    def remove_supplier(self, code: str) -> None:
        """Delete a supplier (it is gone from every listing)."""
        del self.suppliers[code]
        self.version += 1

    # -- the control API (POST /_sandbox/mutate) ----------------------------------------------------
    OPS = ("add_supplier", "disable_supplier", "enable_supplier", "remove_supplier")

    def mutate(self, op: str, args: dict) -> dict:
        """``add_supplier`` (code, name, credit_code, bank_name, bank_account, active),
        ``disable_supplier`` / ``enable_supplier`` / ``remove_supplier`` (code)."""
        if op == "add_supplier":
            supplier = self.add_supplier(**args)
        elif op in ("disable_supplier", "enable_supplier"):
            supplier = self.set_supplier_active(args["code"], op == "enable_supplier")
        elif op == "remove_supplier":
            self.remove_supplier(args["code"])
            return {"removed": args["code"]}
        else:
            raise ValueError(f"unknown master-data mutation {op!r}")
        return {"code": supplier.code, "active": supplier.active}
