"""Paginators: one small class per paging style, all behind one generator.

A paginator knows how to ask for the first page, where the records sit in a response, and what to
ask for next. :meth:`Paginator.pages` drives it and applies the guards every style needs:

* a hard page cap (``max_pages``): hitting it raises, it never truncates silently;
* a repeated-page stop: asking for the same page twice, or being served the same non-empty page
  twice in a row, raises :class:`PaginationError` instead of looping forever.

Nothing here does I/O: the hook passes a ``fetch(page_params) -> body`` callable (``read_ahead``
calls it on a thread of its own, one page ahead of the caller).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from typing import Any

from expense_sync.hooks.errors import PaginationError

PageParams = dict[str, Any]


def dig(body: Any, path: str) -> Any:
    """Follow a dotted path (``"result.list"``) into a JSON body; ``""`` is the body itself."""
    if path and "." not in path:  # one key, as most mapped fields are: no split per record
        return body.get(path) if isinstance(body, dict) else None
    node = body
    for part in filter(None, path.split(".")):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


class Paginator(ABC):
    """Base of every paging style. Subclasses implement :meth:`first` and :meth:`advance`."""

    items_path: str = ""
    max_pages: int = 100_000

    @abstractmethod
    def first(self) -> PageParams:
        """The paging parameters of the first request."""

    @abstractmethod
    def advance(self, params: PageParams, body: Any, items: list) -> PageParams | None:
        """The paging parameters of the next request, or ``None`` after the last page."""

    def items(self, body: Any) -> list:
        found = dig(body, self.items_path)
        if found is None:
            return []
        if not isinstance(found, list):
            raise PaginationError(f"expected a list at {self.items_path!r}, got {type(found).__name__}")
        return found

    def pages(self, fetch: Callable[[PageParams], Any], *, read_ahead: bool = False) -> Iterator[list]:
        """Yield the records of each page, in order, until the last page.

        ``read_ahead``: the next page is asked for on a thread of its own while the caller works
        through this one, so the vendor builds a page while we parse the last. Still one request at a
        time, in the same order and under the same guards; only for a caller that makes no other call
        on the hook before it has all the pages (its session is not shared across threads)."""
        params: PageParams | None = self.first()
        asked: set[str] = set()
        previous: list = []
        with ThreadPoolExecutor(1, thread_name_prefix="read-ahead") if read_ahead else nullcontext() as pool:
            ahead: Future[Any] | None = None
            while params is not None:
                if ahead is None:
                    self._ask(params, asked)
                    body = fetch(params)
                else:
                    body, ahead = ahead.result(), None
                items = self.items(body)
                if items and items == previous:  # compared as parsed (not re-serialized): unequal pages differ early
                    raise PaginationError("the vendor served the same page twice in a row")
                previous = [dict(item) if isinstance(item, dict) else item for item in items]  # callers pop keys
                following = self.advance(params, body, items)
                if pool is not None and following is not None:
                    self._ask(following, asked)
                    ahead = pool.submit(fetch, following)
                yield items
                params = following

    def _ask(self, params: PageParams, asked: set[str]) -> None:
        """Count a request for ``params``; refuse one too many, or the same page twice."""
        if len(asked) >= self.max_pages:
            raise PaginationError(f"more than {self.max_pages} pages: refusing to go on")
        key = json.dumps(params, sort_keys=True, default=str)
        if key in asked:
            raise PaginationError(f"the same page was requested twice: {key}")
        asked.add(key)


class OffsetPaginator(Paginator):
    """``start``/``count`` offsets (合思, Kingdee ExecuteBillQuery).

    Advances by the number of records that came back, not by the number asked for, because
    vendors clamp page sizes silently. Stops on an empty page, at the reported total, or on a
    short page when the vendor reports no total.
    """

    def __init__(
        self,
        *,
        offset_param: str = "start",
        limit_param: str = "count",
        limit: int = 100,
        items_path: str = "items",
        total_path: str | None = "count",
        max_pages: int = 100_000,
    ) -> None:
        self.offset_param, self.limit_param, self.limit = offset_param, limit_param, limit
        self.items_path, self.total_path, self.max_pages = items_path, total_path, max_pages

    def first(self) -> PageParams:
        return {self.offset_param: 0, self.limit_param: self.limit}

    def advance(self, params: PageParams, body: Any, items: list) -> PageParams | None:
        if not items:
            return None
        offset = params[self.offset_param] + len(items)
        if self.total_path is not None:
            total = dig(body, self.total_path)
            if total is not None and offset >= int(total):
                return None
        elif len(items) < self.limit:
            return None
        return {**params, self.offset_param: offset}


class CursorPaginator(Paginator):
    """An opaque cursor handed back by the vendor (DingTalk ``next_cursor``, WeCom ``next_cursor``)."""

    def __init__(
        self,
        *,
        cursor_param: str = "cursor",
        next_cursor_path: str = "next_cursor",
        has_more_path: str | None = None,
        size_param: str | None = "size",
        size: int = 100,
        initial_cursor: Any = None,
        items_path: str = "list",
        max_pages: int = 100_000,
    ) -> None:
        self.cursor_param, self.next_cursor_path, self.has_more_path = (
            cursor_param,
            next_cursor_path,
            has_more_path,
        )
        self.size_param, self.size, self.initial_cursor = size_param, size, initial_cursor
        self.items_path, self.max_pages = items_path, max_pages

    def first(self) -> PageParams:
        params: PageParams = {}
        if self.initial_cursor is not None:
            params[self.cursor_param] = self.initial_cursor
        if self.size_param:
            params[self.size_param] = self.size
        return params

    def advance(self, params: PageParams, body: Any, items: list) -> PageParams | None:
        if self.has_more_path is not None and not dig(body, self.has_more_path):
            return None
        cursor = dig(body, self.next_cursor_path)
        if cursor in (None, "", 0) and self.has_more_path is None:
            return None
        if cursor in (None, ""):
            raise PaginationError("the vendor said there is more but gave no cursor")
        return {**params, self.cursor_param: cursor}


class PageNumberPaginator(Paginator):
    """Numbered pages (Yonyou ``pageIndex``/``pageSize`` with ``recordCount``)."""

    def __init__(
        self,
        *,
        page_param: str = "pageIndex",
        size_param: str = "pageSize",
        size: int = 100,
        first_page: int = 1,
        items_path: str = "data.recordList",
        total_path: str | None = "data.recordCount",
        max_pages: int = 100_000,
    ) -> None:
        self.page_param, self.size_param, self.size, self.first_page = (
            page_param,
            size_param,
            size,
            first_page,
        )
        self.items_path, self.total_path, self.max_pages = items_path, total_path, max_pages

    def first(self) -> PageParams:
        self._seen = 0
        return {self.page_param: self.first_page, self.size_param: self.size}

    def advance(self, params: PageParams, body: Any, items: list) -> PageParams | None:
        if not items:
            return None
        self._seen += len(items)
        page = params[self.page_param]
        if self.total_path is not None:
            total = dig(body, self.total_path)
            if total is not None and self._seen >= int(total):
                return None
        elif len(items) < self.size:
            return None
        return {**params, self.page_param: page + 1}


NEXT_LINK = "__next"  # the key of a page request that is a server-given URL, not parameters


class NextLinkPaginator(Paginator):
    """OData v2: client-driven ``$top``/``$skip`` windows, each followed through server-driven ``__next``.

    A server may cap a page below ``$top`` and hand back ``d.__next`` (a URL with ``$skiptoken``):
    that link is followed as is (the page request is ``{NEXT_LINK: url}``; the hook fetches the URL),
    and a short page never ends the listing while a ``__next`` exists. When a window's chain ends,
    the next window starts after the records actually received; the listing ends at ``__count``
    (``$inlinecount=allpages``), on an empty window, or on a short window when no count is given.
    """

    def __init__(
        self,
        *,
        size: int = 1000,
        top_param: str = "$top",
        skip_param: str = "$skip",
        items_path: str = "d.results",
        next_path: str = "d.__next",
        total_path: str | None = "d.__count",
        extra: PageParams | None = None,
        max_pages: int = 100_000,
    ) -> None:
        self.size, self.top_param, self.skip_param = size, top_param, skip_param
        self.items_path, self.next_path, self.total_path = items_path, next_path, total_path
        self.extra = {"$inlinecount": "allpages"} if extra is None and total_path else dict(extra or {})
        self.max_pages = max_pages

    def first(self) -> PageParams:
        self._skip = 0  # where the current window starts
        self._window = 0  # records received in the current window so far
        self._total: int | None = None  # the last __count seen (later pages of a chain may omit it)
        return {**self.extra, self.top_param: self.size, self.skip_param: 0}

    def advance(self, params: PageParams, body: Any, items: list) -> PageParams | None:
        self._window += len(items)
        total = dig(body, self.total_path) if self.total_path is not None else None
        if total is not None:
            self._total = int(total)
        next_link = dig(body, self.next_path)
        if next_link:
            return {NEXT_LINK: next_link}
        received, self._window = self._window, 0
        if not received:
            return None
        self._skip += received
        if self._total is not None:
            if self._skip >= self._total:
                return None
        elif received < self.size:
            return None
        return {**self.extra, self.top_param: self.size, self.skip_param: self._skip}
