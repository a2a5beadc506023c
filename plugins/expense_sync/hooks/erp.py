"""The ERP hooks behind one contract, so that switching Kingdee ↔ Yonyou ↔ SAP is configuration.

Each ERP hook (``hooks/kingdee.py``, ``hooks/yonyou.py``, ``hooks/sap.py``) subclasses
:class:`expense_sync.hooks.base.VendorHook` and implements :class:`ErpLedger` in its vendor's
real API; :func:`erp_hook` returns the configured one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator
from typing import Any, Protocol

from expense_sync.erp.model import Balance, ChartKind, ChartRecord, Voucher, VoucherStatus
from expense_sync.settings import ERP_CONN_IDS


class ErpLedger(Protocol):
    vendor: str
    stats: Any

    def chart(self, kind: ChartKind, since: dt.datetime | None = None) -> Iterator[ChartRecord]:
        """Records of one chart; only those changed since ``since`` when the API can filter so
        (otherwise all of them: the caller compares)."""

    def supports_changed_since(self, kind: ChartKind) -> bool:
        """Whether :meth:`chart` honours ``since`` for this kind."""

    def create_voucher(self, voucher: Voucher) -> VoucherStatus:
        """Create the voucher (a draft where the ERP has drafts). Not idempotent: the caller
        records its intent first and, on an unknown outcome, calls :meth:`find_voucher`."""

    def find_voucher(self, external_ref: str, period: str) -> VoucherStatus | None:
        """The voucher carrying ``external_ref`` in ``period``, or ``None``."""

    def voucher_status(self, remote_id: str) -> VoucherStatus:
        """The current state and number of one voucher."""

    def balances(self, company: str, period: str) -> list[Balance]:
        """The period's movements per account and, where the ERP keeps them, cost center/project."""

    def period_vouchers(self, company: str, period: str, known_refs: Collection[str] = ()) -> list[VoucherStatus]:
        """Every voucher of the company's book in ``period``, one status each, with the external ref it
        carries (``known_refs``: our refs, for ERPs that carry a shortened form of them)."""


def erp_hook(vendor: str) -> ErpLedger:
    """The hook of the configured ERP on its connection (``erp_kingdee`` / ``erp_yonyou`` / ``erp_sap``)."""
    if vendor == "kingdee":
        from expense_sync.hooks.kingdee import KingdeeHook as hook
    elif vendor == "yonyou":
        from expense_sync.hooks.yonyou import YonyouHook as hook
    elif vendor == "sap":
        from expense_sync.hooks.sap import SapHook as hook
    else:
        raise ValueError(f"unknown ERP vendor {vendor!r}")
    return hook(ERP_CONN_IDS[vendor])
