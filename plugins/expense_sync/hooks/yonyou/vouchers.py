"""YonBIP voucher calls: ``addVoucher``, ``queryVouchers``, ``queryVoucherById``, and the balances
summed from ``queryVouchers`` lines. Paths, fields and idempotency: ``docs/vendors/yonyou.md``
("YonBIP: vouchers and balances")."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from functools import cached_property
from typing import TYPE_CHECKING, Any

from expense_sync.erp.model import Balance, Voucher, VoucherStatus, sum_balances
from expense_sync.hooks.contract import required
from expense_sync.hooks.errors import VendorRequestError
from expense_sync.hooks.yonyou import ledger
from expense_sync.hooks.yonyou.pages import YonbipPaginator

if TYPE_CHECKING:
    from expense_sync.hooks.yonyou.hook import YonyouHook

ACCBOOK_PATH = "/yonbip/fi/fipub/basedoc/querybd/accbook"
ADD_VOUCHER_PATH = "/yonbip/fi/ficloud/openapi/voucher/addVoucher"
QUERY_VOUCHERS_PATH = "/yonbip/fi/ficloud/openapi/voucher/queryVouchers"
VOUCHER_BY_ID_PATH = "/yonbip/EFI/openapi/voucher/queryVoucherById"
DUPLICATE_CODES = frozenset({"310504", "310074"})
VOUCHER_PAGE_SIZE = 1000  # queryVouchers' maximum


class BipVouchers:
    """The YonBIP general ledger of a :class:`~expense_sync.hooks.yonyou.YonyouHook`."""

    def __init__(self, hook: YonyouHook) -> None:
        self.hook = hook

    def create_voucher(self, voucher: Voucher) -> VoucherStatus:
        if voucher.currency != "CNY":
            raise VendorRequestError(
                f"voucher {voucher.external_ref} is in {voucher.currency}: the ERP contract "
                "carries no exchange rate, only CNY books are supported",
                vendor=self.hook.vendor,
            )
        body = ledger.add_voucher_body(voucher, self.hook.settings)
        try:
            answer = self.hook.request("POST", ADD_VOUCHER_PATH, json=body, idempotent=False)
        except VendorRequestError as err:
            if err.code not in DUPLICATE_CODES:
                raise
            found = self._find(voucher.external_ref, voucher.period, [voucher.company])
            if found is None:
                raise
            return found
        data = required(answer, "data", vendor=self.hook.vendor, endpoint=ledger.ADD_VOUCHER)
        return ledger.status_from_saved(data, voucher)

    def find_voucher(self, external_ref: str, period: str) -> VoucherStatus | None:
        return self._find(external_ref, period, self.books)

    def voucher_status(self, remote_id: str) -> VoucherStatus:
        answer = self.hook.request("POST", VOUCHER_BY_ID_PATH, json={"voucherId": remote_id})
        return ledger.status_from_detail(
            required(answer, "data", vendor=self.hook.vendor, endpoint=ledger.VOUCHER_BY_ID)
        )

    def balances(self, company: str, period: str) -> list[Balance]:
        settings = self.hook.settings
        pages = self._vouchers(company, period, statuses=settings.balance_statuses)
        lines = (line for page in pages for record in page for line in ledger.movements(record, settings))
        return sum_balances(company, period, lines)

    def period_vouchers(self, company: str, period: str, known_refs: Collection[str] = ()) -> list[VoucherStatus]:
        found: dict[str, VoucherStatus] = {}
        for page in self._vouchers(company, period):
            for record in page:
                status = ledger.status_from_header(self._header(record))
                found.setdefault(status.remote_id, status)
        return list(found.values())

    def _vouchers(
        self, book: str, period: str, *, statuses: list[str] | None = None, src_system: str | None = None
    ) -> Iterator[list[dict]]:
        """Pages of ``queryVouchers`` records of one book and period (paging sits in ``pager``)."""
        body: dict[str, Any] = {"accbookCode": book, "periodStart": period, "periodEnd": period}
        if statuses:
            body["voucherStatusList"] = list(statuses)
        if src_system:
            body["srcSystemCode"] = src_system
        paginator = YonbipPaginator(endpoint=ledger.QUERY_VOUCHERS, size=VOUCHER_PAGE_SIZE)
        yield from paginator.pages(
            lambda page: self.hook.request("POST", QUERY_VOUCHERS_PATH, json={**body, "pager": page})
        )

    def _find(self, external_ref: str, period: str, books: list[str]) -> VoucherStatus | None:
        for book in books:
            for page in self._vouchers(book, period, src_system=self.hook.settings.src_system_code):
                for record in page:
                    header = self._header(record)
                    if ledger.header_ref(header) == external_ref:
                        return ledger.status_from_header(header)
        return None

    def _header(self, record: Any) -> dict[str, Any]:
        return required(record, "header", vendor=self.hook.vendor, endpoint=ledger.QUERY_VOUCHERS)

    @cached_property
    def books(self) -> list[str]:
        """Book codes to search for a voucher: the configured one first, then every book of the tenant."""
        endpoint = f"POST {ACCBOOK_PATH}"
        paginator = YonbipPaginator(endpoint=endpoint, size=1000)
        pages = self.hook.paginate(
            "POST", ACCBOOK_PATH, paginator, json={"fields": ["id", "code", "name"]}, paging_in="json"
        )
        codes = [
            str(required(book, "code", vendor=self.hook.vendor, endpoint=endpoint)) for page in pages for book in page
        ]
        return list(dict.fromkeys(filter(None, [self.hook.settings.accbook_code, *codes])))
