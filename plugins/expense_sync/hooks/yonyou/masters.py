"""The YonBIP supplier archive (供应商档案) and tax rates (税目税率), as the ERP contract's masters.

* suppliers: ``POST /yonbip/digitalModel/vendor/listV3`` (供应商档案批量详情查询), paged by
  ``pageIndex``/``pageSize`` in the pager answer, with the bank rows (``vendorbanksNeedQuery``) and
  the business info per org (``vendorextendNeedQueryAll``): ``creditcode`` is the 统一社会信用代码,
  the default ``vendorbanks`` row's ``account`` the bank account; a supplier is active unless one of
  its ``vendorextendList`` rows is frozen (``freezestatus`` other than "0") [I: the archive has no
  one "停用" flag in the documented answer];
* tax rates: ``GET /yonbip/digitalModel/taxrate/findByTime`` (税目税率根据时间查询, marked 废弃 but
  documented with its answer; no time bounds: every rate): ``ntaxrate`` in percent, ``taxfree``
  免税, ``enable`` 1 enabled (0 initial, 2 disabled), ``dr`` 1 deleted (left out).

The documented answers are ``tests/fixtures/vendor_docs/yonyou/vendor_list_v3.json`` and
``taxrate_find_by_time.json``; what stays inferred: ``docs/vendors/yonyou.md`` ("Suppliers and tax codes")."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from expense_sync.erp.masters import Supplier, TaxCode, percent
from expense_sync.hooks.base import VendorHook
from expense_sync.hooks.contract import required
from expense_sync.hooks.errors import ContractError, EntityUnavailableError
from expense_sync.hooks.yonyou.pages import YonbipPaginator

if TYPE_CHECKING:
    from expense_sync.hooks.yonyou.settings import YonyouSettings

VENDOR_LIST = "/yonbip/digitalModel/vendor/listV3"
TAX_RATES = "/yonbip/digitalModel/taxrate/findByTime"
VENDOR_QUERY = {"vendorbanksNeedQuery": True, "vendorextendNeedQueryAll": True}


def _text(value: Any) -> str | None:
    """A plain value, or the Chinese of a multilingual one (``{"zh_CN": …}`` with ``i18ndoc``)."""
    if isinstance(value, dict):
        value = value.get("zh_CN") or next(iter(value.values()), None)
    return str(value).strip() or None if value is not None else None


def supplier(raw: Any) -> Supplier:
    endpoint = f"POST {VENDOR_LIST}"
    if not isinstance(raw, dict):
        raise ContractError(f"a supplier record is a {type(raw).__name__}", vendor="yonyou", endpoint=endpoint)
    banks = raw.get("vendorbanks") or []
    bank = next((b for b in banks if b.get("defaultbank")), banks[0] if banks else None)
    frozen = [e for e in raw.get("vendorextendList") or [] if str(e.get("freezestatus", "0")) != "0"]
    name = _text(required(raw, "name", vendor="yonyou", endpoint=endpoint))
    if name is None:
        raise ContractError("field 'name' is blank", vendor="yonyou", endpoint=endpoint)
    return Supplier(
        code=str(required(raw, "code", vendor="yonyou", endpoint=endpoint)),
        name=name,
        credit_code=_text(raw.get("creditcode")),
        active=not frozen,
        bank_account=_text(bank.get("account")) if bank else None,
        remote_id=str(required(raw, "id", vendor="yonyou", endpoint=endpoint)),
    )


def tax_code(raw: Any) -> TaxCode:
    endpoint = f"GET {TAX_RATES}"
    exempt = bool(required(raw, "taxfree", vendor="yonyou", endpoint=endpoint))
    rate = required(raw, "ntaxrate", vendor="yonyou", endpoint=endpoint, nullable=exempt)
    return TaxCode(
        code=str(required(raw, "code", vendor="yonyou", endpoint=endpoint)),
        name=_text(required(raw, "name", vendor="yonyou", endpoint=endpoint)) or "",
        rate=None if exempt else percent(rate),
        exempt=exempt,
        active=str(required(raw, "enable", vendor="yonyou", endpoint=endpoint)) == "1",
        remote_id=str(required(raw, "id", vendor="yonyou", endpoint=endpoint)),
    )


class YonyouMasters(VendorHook):
    """``suppliers()`` and ``tax_codes()`` of the ERP contract (YonBIP only)."""

    settings: YonyouSettings

    def _bip_masters(self, what: str) -> None:
        if self.settings.variant == "ncc":
            raise EntityUnavailableError(
                f"the NC Cloud variant of erp_yonyou reads no {what} (its archive queries are not known)",
                vendor=self.vendor,
            )

    def suppliers(self) -> Iterator[Supplier]:
        """Every supplier of the tenant, page by page."""
        self._bip_masters("suppliers")
        paginator = YonbipPaginator(endpoint=f"POST {VENDOR_LIST}", size=self.settings.page_size)
        for page in self.paginate("POST", VENDOR_LIST, paginator, json=dict(VENDOR_QUERY), paging_in="json"):
            for raw in page:
                yield supplier(raw)

    def tax_codes(self) -> list[TaxCode]:
        """Every tax rate not deleted."""
        self._bip_masters("tax codes")
        body = self.request("GET", TAX_RATES)
        rows = required(body, "data", vendor="yonyou", endpoint=f"GET {TAX_RATES}")
        if not isinstance(rows, list):
            raise ContractError("field 'data' is not a list", vendor="yonyou", endpoint=f"GET {TAX_RATES}")
        return [tax_code(raw) for raw in rows if str(raw.get("dr", 0)) != "1"]
