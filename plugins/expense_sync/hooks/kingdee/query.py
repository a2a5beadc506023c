"""ExecuteBillQuery: one form's rows in ``FieldKeys`` order, paged by ``StartRow``/``Limit``.

Wire facts (rows 13-18 of ``docs/vendors/kingdee.md``) and what stays inferred are in that file."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from expense_sync.hooks.errors import VendorRequestError
from expense_sync.hooks.kingdee.session import KingdeeSession
from expense_sync.hooks.paginate import OffsetPaginator, PageParams

QUERY = "DynamicFormService.ExecuteBillQuery"


class RowPaginator(OffsetPaginator):
    """ExecuteBillQuery's ``StartRow``/``Limit``: a bare array of rows and no total.

    The server may cut ``Limit`` silently, so a page shorter than asked is the last one only when it
    is also shorter than the largest page served so far; an empty page always ends the listing.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(offset_param="StartRow", limit_param="Limit", limit=limit, items_path="", total_path=None)

    def first(self) -> PageParams:
        self._largest = 0
        return super().first()

    def advance(self, params: PageParams, body: Any, items: list) -> PageParams | None:
        if not items or len(items) < self._largest:
            return None
        self._largest = len(items)
        return {**params, "StartRow": params["StartRow"] + len(items)}


def quote(value: str) -> str:
    """A FilterString literal."""
    return "'" + value.replace("'", "''") + "'"


def nest(row: dict[str, Any]) -> dict[str, Any]:
    """A row keyed by field key as the objects the keys name (``FParentID.FNumber`` → ``{"FParentID":
    {"FNumber": …}}``), so a mapping's dotted path is the field key itself."""
    record: dict[str, Any] = {}
    for key, value in row.items():
        *parents, leaf = key.split(".")
        node = record
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return record


class KingdeeQuery(KingdeeSession):
    """Reads any form through ExecuteBillQuery, as dicts keyed by field key."""

    def _query_body(self, form_id: str, fields: Sequence[str], filter_string: str, order_string: str) -> dict:
        return {
            "FormId": form_id,
            "FieldKeys": ",".join(fields),
            "FilterString": filter_string,
            "OrderString": order_string,
            "TopRowCount": 0,
            "StartRow": 0,
            "Limit": self.settings.page_size,
            "SubSystemId": "",
        }

    def _rows(self, fields: Sequence[str], rows: Any) -> Iterator[dict[str, Any]]:
        if not isinstance(rows, list):
            raise VendorRequestError(f"ExecuteBillQuery answered {type(rows).__name__}, not rows", vendor=self.vendor)
        for row in rows:
            if not isinstance(row, list) or len(row) != len(fields):
                raise VendorRequestError(
                    f"ExecuteBillQuery row does not match FieldKeys: {row!r}"[:300], vendor=self.vendor
                )
            yield dict(zip(fields, row, strict=True))

    def query(
        self,
        form_id: str,
        fields: Sequence[str],
        filter_string: str = "",
        order_string: str = "",
        *,
        read_ahead: bool = False,
    ) -> Iterator[dict[str, Any]]:
        """Every row of an ExecuteBillQuery, page after page, as dicts keyed by field key.

        ``read_ahead``: the next page is asked for while the caller reads this one
        (:meth:`~expense_sync.hooks.paginate.Paginator.pages`), for a caller that makes no other call
        on this hook until the rows are all read."""
        body = self._query_body(form_id, fields, filter_string, order_string)

        def fetch(page: PageParams) -> Any:
            return self.call(QUERY, {"data": {**body, **page}})

        for rows in RowPaginator(self.settings.page_size).pages(fetch, read_ahead=read_ahead):
            yield from self._rows(fields, rows)

    def query_first(
        self, form_id: str, fields: Sequence[str], filter_string: str, order_string: str = ""
    ) -> dict[str, Any] | None:
        """The first row of a query, in one call (``TopRowCount`` 1)."""
        body = {**self._query_body(form_id, fields, filter_string, order_string), "TopRowCount": 1, "Limit": 1}
        rows = list(self._rows(fields, self.call(QUERY, {"data": body})))
        return rows[0] if rows else None
