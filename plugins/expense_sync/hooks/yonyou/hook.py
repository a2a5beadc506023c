"""The Yonyou hook: YonBIP's open API (``variant: "bip"``) or NC Cloud's (``"ncc"``) behind :class:`ErpLedger`.

It composes :mod:`.wire` (gateway and token), :mod:`.chart`, :mod:`.vouchers`, :mod:`.budget` and
:mod:`.ncc`; the connection and the wire are described in ``docs/vendors/yonyou.md``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator
from decimal import Decimal
from functools import cached_property
from typing import Any

import requests

from expense_sync.erp.model import Balance, ChartKind, PeriodLedger, Voucher, VoucherStatus
from expense_sync.hooks.errors import ConfigurationError
from expense_sync.hooks.yonyou import chart, prerequisites
from expense_sync.hooks.yonyou.budget import YonyouBudget
from expense_sync.hooks.yonyou.masters import YonyouMasters
from expense_sync.hooks.yonyou.ncc import NccApi
from expense_sync.hooks.yonyou.settings import YonyouSettings
from expense_sync.hooks.yonyou.vouchers import BipVouchers
from expense_sync.hooks.yonyou.wire import Gateway

NCC_READS_NOTHING = "the NC Cloud variant of erp_yonyou posts and reads vouchers only"


class YonyouHook(YonyouMasters, YonyouBudget):
    """YonBIP open API (``variant: "bip"``, default) or NC Cloud's OpenAPI (``"ncc"``), one ERP contract;
    the budget center (:class:`expense_sync.erp.budget.ErpBudget`) through YonBIP only."""

    parse_float = Decimal  # amounts arrive as JSON numbers: read them as Decimal, never float

    default_conn_name = "erp_yonyou"
    hook_name = "用友 Yonyou"
    vendor = "yonyou"
    role = "erp"
    quota_qps = 10.0  # requests per second per app; the vendor documents none [I]
    max_voucher_lines = 1000  # lines one voucher may carry (the rollup splits above it)
    default_company = "0001"  # accbookCode of the bundled sandbox
    default_posting_accounts = {
        "employee_payable": "224101",
        "clearing": "224109",
        "input_vat": "22210101",
        "accrued_liabilities": "224103",
        "travel_expense": "660201",
    }
    settings_model = YonyouSettings

    settings: YonyouSettings  # narrowed from the base

    @cached_property
    def ncc(self) -> NccApi | None:
        return NccApi(self) if self.settings.variant == "ncc" else None

    @cached_property
    def gateway(self) -> Gateway:
        return Gateway(self)

    @cached_property
    def bip(self) -> BipVouchers:
        return BipVouchers(self)

    def _bip_only(self, what: str) -> None:
        if self.ncc:
            raise ConfigurationError(f"{NCC_READS_NOTHING}: {what} through a YonBIP connection", vendor=self.vendor)

    def prerequisites(self) -> list[str]:
        """The auxiliary accounting types our voucher lines name exist in the tenant, and a maker is
        set (YonBIP). NC Cloud documents no query of its types: not checked, said so."""
        if self.ncc:
            raise ConfigurationError(
                "NC Cloud documents no query of its auxiliary accounting types: check "
                f"{self.settings.cost_center_aux_code!r} and {self.settings.project_aux_code!r} by hand",
                vendor=self.vendor,
            )
        return prerequisites.missing(self)

    # -- transport ----------------------------------------------------------------------------------
    @property
    def endpoints(self) -> tuple[str, str]:
        """The tenant's gateway and token base URLs (YonBIP)."""
        return self.gateway.endpoints

    def url(self, path: str) -> str:
        if "://" in path:
            return path
        base = self.base_url if self.ncc else self.endpoints[0]
        return f"{base}/{path.lstrip('/')}"

    def fetch_token(self) -> tuple[str, float]:
        return self.ncc.fetch_token() if self.ncc else self.gateway.fetch_token()

    def authorize(self, request: dict[str, Any]) -> None:
        (self.ncc or self.gateway).authorize(request)

    def check_body(self, response: requests.Response, body: Any, endpoint: str) -> None:
        (self.ncc or self.gateway).check_body(response, body, endpoint)

    # -- chart --------------------------------------------------------------------------------------
    def supports_changed_since(self, kind: ChartKind) -> bool:
        return self.ncc is None and kind in chart.CHARTS

    def chart(self, kind: ChartKind, since: dt.datetime | None = None) -> Iterator[dict[str, Any]]:
        """The chart's records as YonBIP lists them, ``ts`` made aware (mapped by the YAML files)."""
        if self.ncc:
            raise ConfigurationError(
                f"{NCC_READS_NOTHING} (NC Cloud's archive query paths are not known): read the chart "
                "through a YonBIP connection",
                vendor=self.vendor,
            )
        yield from chart.read(self, kind, since)

    # -- vouchers -----------------------------------------------------------------------------------
    def create_voucher(self, voucher: Voucher) -> VoucherStatus:
        return (self.ncc or self.bip).create_voucher(voucher)

    def find_voucher(self, external_ref: str, period: str) -> VoucherStatus | None:
        return (self.ncc or self.bip).find_voucher(external_ref, period)

    def voucher_status(self, remote_id: str) -> VoucherStatus:
        return (self.ncc or self.bip).voucher_status(remote_id)

    def balances(self, company: str, period: str) -> list[Balance]:
        self._bip_only("read ledger balances")
        return self.bip.balances(company, period)

    def period_vouchers(self, company: str, period: str, known_refs: Collection[str] = ()) -> list[VoucherStatus]:
        """Every voucher of the book ``company`` in ``period`` (``queryVouchers``, paged)."""
        self._bip_only("list a period's vouchers")
        return self.bip.period_vouchers(company, period, known_refs)

    def period_ledger(self, company: str, period: str, known_refs: Collection[str] = ()) -> PeriodLedger:
        """Two ``queryVouchers`` reads: the balances count only the configured states
        (``balance_statuses``), the list every voucher whatever its state."""
        return PeriodLedger(self.balances(company, period), self.period_vouchers(company, period, known_refs))
