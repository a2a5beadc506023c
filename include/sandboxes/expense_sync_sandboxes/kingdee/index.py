"""The voucher book's indexes, kept at write time, so that no call scans every voucher.

* **numbers** taken per (account book, year, period, voucher group), with the highest one;
* the voucher ids per **bill number** (``FBillNo``), per **external ref** (:func:`external_ref`), per
  **period** (FYEAR, FPERIOD) and per **ref prefix** of the entries' 摘要 (``ES#ref#``, what a
  ``FEXPLANATION LIKE 'ES#ref#%'`` can match);
* the **rows** ExecuteBillQuery reads (one view per voucher × entry, no copy) and the last
  selections, valid until the next write (:attr:`VoucherIndex.version`);
* the budget center's **running balances**: per (year, period, book, cost center) the sum of
  debit − credit per (project, account, audited).

They only narrow what is read: every query still evaluates its whole ``FilterString`` on the rows
it keeps, so the answers are those of a scan.
"""

from __future__ import annotations

import re
from collections import OrderedDict, defaultdict
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

NumberKey = tuple[str, int, int, str]
BudgetKey = tuple[int, int, str | None, str | None]
LIKE_PREFIX = re.compile(r"[^#%_]{2}#[^#%_]+#%")  # a LIKE pattern the ref-prefix index answers
SELECTIONS = 4  # selections kept (a paged listing reads one selection page after page)


def _number(record: Any) -> str | None:
    return record.get("FNumber") if isinstance(record, dict) else None


def number_key(voucher: dict[str, Any]) -> NumberKey:
    """What a voucher number is unique within: account book, year, period, voucher group."""
    book, group = voucher["FAccountBookID"], voucher["FVOUCHERGROUPID"]
    return book["FNumber"], voucher["FYEAR"], voucher["FPERIOD"], group["FNumber"]


def like_key(text: str) -> str | None:
    """The ref-prefix key of a 摘要: its text up to its second ``#`` lower-cased, when its third
    character is the first ``#``; ``""`` (every such pattern's candidate) when that part is not ASCII
    (case-insensitive LIKE lets some non-ASCII letters match ASCII ones); None: no such pattern matches."""
    if len(text) < 4 or text[2] != "#":
        return None
    end = text.find("#", 3)
    if end < 0:
        return None
    head = text[: end + 1]
    return head.lower() if head.isascii() else ""


def pattern_key(pattern: Any) -> str | None:
    """The ref-prefix key a LIKE pattern ``XY#ref#%`` (ASCII, no other wildcard) can match, else None."""
    if isinstance(pattern, str) and pattern.isascii() and LIKE_PREFIX.fullmatch(pattern):
        return pattern[:-1].lower()
    return None


class EntryRow(Mapping[str, Any]):
    """One voucher × entry row as ExecuteBillQuery sees it: the header's fields (the live voucher, but
    its ``FEntity``), the entry's, ``FEntity_FEntryID``; ``hidden`` fields do not exist."""

    __slots__ = ("voucher", "entry", "hidden")

    def __init__(self, voucher: dict[str, Any], entry: dict[str, Any], hidden: frozenset[str] = frozenset()) -> None:
        self.voucher, self.entry, self.hidden = voucher, entry, hidden

    def __contains__(self, key: object) -> bool:
        if key in self.hidden or key == "FEntity":
            return False
        return key in self.entry or key in self.voucher or key == "FEntity_FEntryID"

    def __getitem__(self, key: str) -> Any:
        if key in self.hidden or key == "FEntity":
            raise KeyError(key)
        if key in self.entry:
            return self.entry[key]
        if key == "FEntity_FEntryID":
            return self.entry["FEntryID"]
        return self.voucher[key]

    def _keys(self) -> Iterator[str]:
        yield from (k for k in self.voucher if k != "FEntity" and k not in self.hidden and k not in self.entry)
        yield from (k for k in self.entry if k not in self.hidden)
        if "FEntity_FEntryID" not in self.hidden:
            yield "FEntity_FEntryID"

    def __iter__(self) -> Iterator[str]:
        return self._keys()

    def __len__(self) -> int:
        return sum(1 for _ in self._keys())


class VoucherIndex:
    """Indexes over the vouchers of a :class:`~.vouchers.VoucherBook`, updated by its writes."""

    def __init__(self, hidden: frozenset[str] = frozenset()) -> None:
        self.hidden = hidden  # the header fields this data center does not have
        self.numbers: dict[NumberKey, set[int]] = defaultdict(set)
        self.top: dict[NumberKey, int] = {}
        self.bill_nos: dict[str, int] = {}
        self.refs: dict[str, set[int]] = defaultdict(set)
        self.periods: dict[tuple[int, int], set[int]] = defaultdict(set)
        self.likes: dict[str, set[int]] = defaultdict(set)
        self.rows: dict[int, list[EntryRow]] = {}
        self.budget: dict[BudgetKey, dict[tuple[str | None, str | None, bool], Decimal]] = defaultdict(
            lambda: defaultdict(Decimal)
        )
        self.version = 0
        self.selections: OrderedDict[tuple, tuple[int, list[EntryRow]]] = OrderedDict()

    # -- numbering --------------------------------------------------------------------------------
    def taken(self, key: NumberKey) -> set[int]:
        return self.numbers.get(key) or set()

    def highest(self, key: NumberKey) -> int:
        return self.top.get(key, 0)

    # -- writes -----------------------------------------------------------------------------------
    def add(self, voucher: dict[str, Any], ref: str | None) -> None:
        """Index a voucher saved (numbered, with its bill number) under its external ref."""
        vid, key, number = voucher["FVOUCHERID"], number_key(voucher), voucher["FVOUCHERGROUPNO"]
        self.numbers[key].add(number)
        self.top[key] = max(self.top.get(key, 0), number)
        self.bill_nos[voucher["FBillNo"]] = vid
        if ref is not None:
            self.refs[ref].add(vid)
        self.periods[(voucher["FYEAR"], voucher["FPERIOD"])].add(vid)
        for entry in voucher["FEntity"]:
            like = like_key(entry["FEXPLANATION"])
            if like is not None:
                self.likes[like].add(vid)
        self.rows[vid] = [EntryRow(voucher, entry, self.hidden) for entry in voucher["FEntity"]]
        self._budget(voucher, +1)
        self.version += 1

    def remove(self, voucher: dict[str, Any], ref: str | None) -> None:
        """Forget a voucher (deleted, or about to be saved again) as :meth:`add` indexed it."""
        vid, key, number = voucher["FVOUCHERID"], number_key(voucher), voucher["FVOUCHERGROUPNO"]
        self.numbers[key].discard(number)
        if self.top.get(key) == number:
            self.top[key] = max(self.numbers[key], default=0)
        self.bill_nos.pop(voucher["FBillNo"], None)
        if ref is not None:
            self.refs[ref].discard(vid)
        self.periods[(voucher["FYEAR"], voucher["FPERIOD"])].discard(vid)
        for entry in voucher["FEntity"]:
            like = like_key(entry["FEXPLANATION"])
            if like is not None:
                self.likes[like].discard(vid)
        self.rows.pop(vid, None)
        self._budget(voucher, -1)
        self.version += 1

    def moved(self, voucher: dict[str, Any], status_before: str) -> None:
        """A voucher's status changed from ``status_before``: the budget balances follow."""
        if (status_before == "C") != (voucher["FDocumentStatus"] == "C"):
            now = voucher["FDocumentStatus"]
            voucher["FDocumentStatus"] = status_before
            self._budget(voucher, -1)
            voucher["FDocumentStatus"] = now
            self._budget(voucher, +1)
        self.version += 1

    def changed(self) -> None:
        """Something the rows show changed elsewhere (a chart record): selections are stale."""
        self.version += 1

    def _budget(self, voucher: dict[str, Any], sign: int) -> None:
        audited = voucher["FDocumentStatus"] == "C"
        book = _number(voucher["FAccountBookID"])
        for entry in voucher["FEntity"]:
            detail = entry["FDetailID"]
            key = (voucher["FYEAR"], voucher["FPERIOD"], book, _number(detail.get("FFLEX5")))
            line = (_number(detail.get("FF100002")), _number(entry["FACCOUNTID"]), audited)
            self.budget[key][line] += sign * (entry["FDEBIT"] - entry["FCREDIT"])

    # -- reads ------------------------------------------------------------------------------------
    def first_of(self, ref: str) -> int | None:
        """The oldest voucher carrying ``ref``."""
        ids = self.refs.get(ref)
        return min(ids) if ids else None

    def candidates(self, hints: list[tuple[str, str, Any]]) -> list[int] | None:
        """The ids of the vouchers that can satisfy the filter's top-level comparisons ``hints``, in
        id order (the book's order), or None when no index applies."""
        found: set[int] | None = None

        def narrow(ids: set[int]) -> None:
            nonlocal found
            found = set(ids) if found is None else found & ids

        wanted = {}
        for key, op, literal in hints:
            field = key.lower()
            if op == "LIKE" and field == "fexplanation":
                prefix = pattern_key(literal)
                if prefix is not None:
                    narrow(self.likes.get(prefix, set()) | self.likes.get("", set()))
            elif op == "=" and field in ("fvoucherid", "fyear", "fperiod"):
                value = _integral(literal)
                if value is not None:
                    wanted[field] = value
        if "fvoucherid" in wanted:
            narrow({wanted["fvoucherid"]} & self.rows.keys())
        if "fyear" in wanted and "fperiod" in wanted:
            narrow(self.periods.get((wanted["fyear"], wanted["fperiod"]), set()))
        return None if found is None else sorted(found)

    def selection(self, key: tuple) -> list[EntryRow] | None:
        kept = self.selections.get(key)
        if kept is None or kept[0] != self.version:
            return None
        self.selections.move_to_end(key)
        return kept[1]

    def keep(self, key: tuple, rows: list[EntryRow]) -> None:
        self.selections[key] = (self.version, rows)
        self.selections.move_to_end(key)
        while len(self.selections) > SELECTIONS:
            self.selections.popitem(last=False)


def _integral(literal: Any) -> int | None:
    """An integer literal's value (``2025`` or ``'2025'``), else None (no index then)."""
    try:
        value = Decimal(str(literal))
    except ArithmeticError:
        return None
    return int(value) if value.is_finite() and value == value.to_integral_value() else None
