"""YonBIP's two list answers, read strictly: the ``querybd`` family's bare ``data`` list with ``total``
(``querybd/multidimext``, ``querybd/accbook``), and the pager ``data.{pageIndex, pageSize,
recordCount, pageCount, recordList}`` (``accsubjectByPager``, ``queryVouchers``).

Either shape is accepted on any list call, page after page. Anything else (no ``data``, a
``recordList`` that is not a list, no count) is a :class:`~expense_sync.hooks.errors.ContractError`
naming the field, never an empty page: an empty page would end the read and drop the rest of the
chart or ledger silently. Shapes and sources: ``docs/vendors/yonyou.md`` ("YonBIP: list answers").
"""

from __future__ import annotations

from typing import Any

from expense_sync.hooks.contract import required
from expense_sync.hooks.errors import ContractError
from expense_sync.hooks.paginate import PageNumberPaginator, PageParams

VENDOR = "yonyou"


def listing(body: Any, endpoint: str) -> tuple[list, int]:
    """The records of one list answer and the total the vendor reports for the whole list."""
    data = required(body, "data", vendor=VENDOR, endpoint=endpoint)
    if isinstance(data, list):
        total = required(body, "total", vendor=VENDOR, endpoint=endpoint)
        return data, _count(total, "total", endpoint)
    records = required(data, "recordList", vendor=VENDOR, endpoint=endpoint)
    if not isinstance(records, list):
        raise ContractError(
            f"field 'data.recordList' is a {type(records).__name__}, not a list", vendor=VENDOR, endpoint=endpoint
        )
    total = required(data, "recordCount", vendor=VENDOR, endpoint=endpoint)
    return records, _count(total, "data.recordCount", endpoint)


def _count(value: Any, name: str, endpoint: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ContractError(f"field {name!r} is {value!r}, not a count", vendor=VENDOR, endpoint=endpoint) from None


class YonbipPaginator(PageNumberPaginator):
    """``pageIndex``/``pageSize`` paging over either list shape, until the reported total is read
    (or a page comes back empty: the total may shrink while we read)."""

    def __init__(self, *, endpoint: str, size: int) -> None:
        super().__init__(size=size)
        self.endpoint = endpoint

    def items(self, body: Any) -> list:
        return listing(body, self.endpoint)[0]

    def advance(self, params: PageParams, body: Any, items: list) -> PageParams | None:
        if not items:
            return None
        self._seen += len(items)
        if self._seen >= listing(body, self.endpoint)[1]:
            return None
        return {**params, self.page_param: params[self.page_param] + 1}
