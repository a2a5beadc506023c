"""Paginator logic on canned vendor bodies (pure functions: no network, no mocks of our code)."""

import threading

import pytest

from expense_sync.hooks.errors import PaginationError
from expense_sync.hooks.paginate import CursorPaginator, OffsetPaginator, PageNumberPaginator


def serve(records, size_cap, shape):
    """A fake vendor answering page requests from a list (the fetch callable the hook would pass)."""
    calls = []

    def fetch(params):
        calls.append(dict(params))
        return shape(params, records, size_cap)

    return fetch, calls


def offset_body(params, records, cap):
    start, count = params["start"], min(params["count"], cap)
    return {"count": len(records), "items": records[start : start + count]}


def pages_body(params, records, cap):
    page, size = params["pageIndex"], min(params["pageSize"], cap)
    return {"data": {"recordCount": len(records), "recordList": records[(page - 1) * size : page * size]}}


def cursor_body(params, records, cap):
    cursor, size = params.get("cursor", 0), min(params["size"], cap)
    more = cursor + size < len(records)
    result = {"has_more": more, "list": records[cursor : cursor + size]}
    if more:
        result["next_cursor"] = cursor + size
    return {"result": result}


RECORDS = [{"id": i} for i in range(257)]


def collect(paginator, fetch):
    return [r for page in paginator.pages(fetch) for r in page]


def test_offset_advances_by_what_came_back_when_the_vendor_clamps():
    fetch, calls = serve(RECORDS, 100, offset_body)
    assert collect(OffsetPaginator(limit=1000), fetch) == RECORDS
    assert [c["start"] for c in calls] == [0, 100, 200]


def test_offset_without_a_total_stops_on_a_short_page():
    fetch, calls = serve(RECORDS, 100, lambda p, r, c: offset_body(p, r, c)["items"])
    assert collect(OffsetPaginator(limit=100, items_path="", total_path=None), fetch) == RECORDS
    assert len(calls) == 3


def test_page_numbers_reach_the_last_page_with_a_clamped_size():
    fetch, calls = serve(RECORDS, 50, pages_body)
    assert (
        collect(PageNumberPaginator(size=100), fetch)
        == RECORDS[:50] + RECORDS[50:100] + RECORDS[100:150] + RECORDS[150:200] + RECORDS[200:250] + RECORDS[250:]
    )
    assert [c["pageIndex"] for c in calls] == [1, 2, 3, 4, 5, 6]


def test_cursor_follows_next_cursor_until_has_more_is_false():
    fetch, calls = serve(RECORDS, 100, cursor_body)
    paginator = CursorPaginator(
        next_cursor_path="result.next_cursor",
        has_more_path="result.has_more",
        size=100,
        initial_cursor=0,
        items_path="result.list",
    )
    assert collect(paginator, fetch) == RECORDS
    assert len(calls) == 3


def test_a_vendor_that_ignores_the_cursor_is_stopped():
    def stuck(params):
        return {"result": {"has_more": True, "next_cursor": params["cursor"] + 1, "list": RECORDS[:10]}}

    paginator = CursorPaginator(
        next_cursor_path="result.next_cursor",
        has_more_path="result.has_more",
        size=10,
        initial_cursor=0,
        items_path="result.list",
    )
    with pytest.raises(PaginationError, match="same page twice"):
        collect(paginator, stuck)


def test_a_repeated_page_is_stopped_though_the_caller_changes_the_records_it_is_given():
    """The DingTalk hook pops ``leader`` off each user it yields: the page kept for the comparison is
    the vendor's, not what the caller left of it."""

    def stuck(params):  # fresh records each time, as a parsed response is
        return {"result": {"has_more": True, "next_cursor": params["cursor"] + 1, "list": [{"id": 1, "leader": True}]}}

    paginator = CursorPaginator(
        next_cursor_path="result.next_cursor",
        has_more_path="result.has_more",
        size=1,
        initial_cursor=0,
        items_path="result.list",
    )
    with pytest.raises(PaginationError, match="same page twice"):
        for page in paginator.pages(stuck):
            for record in page:
                record.pop("leader", None)


def test_the_same_cursor_twice_is_stopped():
    def loop(params):
        return {"next_cursor": "abc", "list": [{"id": params.get("cursor")}]}

    with pytest.raises(PaginationError, match="requested twice"):
        collect(CursorPaginator(size_param=None), loop)


def test_the_page_cap_raises_instead_of_truncating():
    fetch, _ = serve(RECORDS, 10, offset_body)
    with pytest.raises(PaginationError, match="more than 3 pages"):
        collect(OffsetPaginator(limit=10, max_pages=3), fetch)


def test_a_non_list_at_the_items_path_is_an_error():
    with pytest.raises(PaginationError, match="expected a list"):
        collect(OffsetPaginator(), lambda p: {"count": 1, "items": {"id": 1}})


def test_read_ahead_serves_the_same_pages_from_the_same_requests():
    for read_ahead in (False, True):
        fetch, calls = serve(RECORDS, 100, offset_body)
        pages = list(OffsetPaginator(limit=1000).pages(fetch, read_ahead=read_ahead))
        assert [r for page in pages for r in page] == RECORDS
        assert [c["start"] for c in calls] == [0, 100, 200]


def test_read_ahead_asks_for_the_next_page_while_the_caller_reads_this_one():
    """The second page is fetched, on another thread, while the caller still holds the first: the
    caller waits for that fetch before it goes on (without read-ahead it would wait in vain)."""
    fetched_second = threading.Event()
    fetch, calls = serve(RECORDS, 100, offset_body)

    def watched(params):
        body = fetch(params)
        if params["start"] == 100:
            fetched_second.set()
        return body

    pages = OffsetPaginator(limit=100).pages(watched, read_ahead=True)
    first = next(pages)
    assert fetched_second.wait(timeout=10), "the next page was not asked for while the caller read this one"
    assert first == RECORDS[:100] and [r for page in pages for r in page] == RECORDS[100:]
    assert len(calls) == 3

    fetched_second.clear()
    pages = OffsetPaginator(limit=100).pages(watched)
    next(pages)
    assert not fetched_second.is_set()  # the default asks only when the caller asks for the next page


def test_read_ahead_keeps_the_guards_and_the_order_of_failures():
    with pytest.raises(PaginationError, match="more than 3 pages"):
        list(OffsetPaginator(limit=10, max_pages=3).pages(serve(RECORDS, 10, offset_body)[0], read_ahead=True))

    def failing(params):
        if params["start"] >= 100:
            raise ConnectionError("the second page failed")
        return offset_body(params, RECORDS, 100)

    pages = OffsetPaginator(limit=100).pages(failing, read_ahead=True)
    assert next(pages) == RECORDS[:100]  # the first page still comes, then the second page's failure
    with pytest.raises(ConnectionError, match="second page"):
        next(pages)
