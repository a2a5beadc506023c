"""GL vouchers (GL_VOUCHER Save, Submit, Audit and lookups) and the period's movements per account.

Wire facts (rows 24-36 of ``docs/vendors/kingdee.md``) and what stays inferred are in that file."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator
from decimal import Decimal
from typing import Any

from expense_sync.erp.model import (
    Balance,
    Movement,
    PeriodLedger,
    Voucher,
    VoucherState,
    VoucherStatus,
    sum_balances,
)
from expense_sync.hooks.contract import required
from expense_sync.hooks.errors import VendorRequestError
from expense_sync.hooks.kingdee.query import QUERY, KingdeeQuery, nest, quote

VOUCHER_FORM = "GL_VOUCHER"
SAVE = "DynamicFormService.Save"
# Our business key travels in the standard entry field FEXPLANATION (摘要), at the start of every
# entry's text between two markers: "ES#<ref># <text>". The closing marker keeps a ref from matching
# a longer one it is a prefix of (X vs X-R1); neither marker is special in a FilterString LIKE.
REF_OPEN, REF_CLOSE = "ES#", "#"
REF_PATTERN = re.compile(r"^ES#([^#]+)#")
# FDocumentStatus: Z 暂存, A 创建, B 审核中 (submitted), C 已审核, D 重新审核 (back to editable)
STATES: dict[str, VoucherState] = {"Z": "draft", "A": "draft", "B": "submitted", "C": "audited", "D": "draft"}


def period_parts(period: str) -> tuple[int, int]:
    """``"2025-03"`` → (2025, 3): K3Cloud's FYEAR/FPERIOD on a calendar-month fiscal year."""
    year, _, month = period.partition("-")
    if not (year.isdigit() and month.isdigit() and 1 <= int(month) <= 12):
        raise ValueError(f"period must be YYYY-MM, got {period!r}")
    return int(year), int(month)


def _text(value: Any) -> str | None:
    return None if value in (None, "", 0) else str(value)


def tagged(ref: str, text: str, length: int) -> str:
    """An entry's 摘要 carrying ``ref``: the marked ref first, then as much of ``text`` as fits."""
    if not ref or REF_CLOSE in ref or ref != ref.strip():
        raise ValueError(f"external ref {ref!r} cannot travel in FEXPLANATION (empty, blank-edged or with '#')")
    head = f"{REF_OPEN}{ref}{REF_CLOSE}"
    if len(head) > length:
        raise ValueError(f"external ref {ref!r} does not fit the {length}-character FEXPLANATION")
    return f"{head} {text}"[:length].rstrip() if text else head


def ref_of(explanation: Any) -> str | None:
    """The external ref an entry's 摘要 carries, or None (a voucher keyed in by hand)."""
    match = REF_PATTERN.match(str(explanation or ""))
    return match.group(1) if match else None


def like_ref(ref: str) -> str:
    """A FilterString LIKE pattern for the entries carrying ``ref``: the LIKE wildcards and SQL Server's
    ``[`` inside the ref become ``_`` (any one character), so the pattern can only match more, and
    the caller keeps the rows whose parsed ref is equal."""
    body = "".join("_" if ch in "%_[]" else ch for ch in ref)
    return quote(f"{REF_OPEN}{body}{REF_CLOSE}%")


class KingdeeVouchers(KingdeeQuery):
    """Creates, moves and finds GL vouchers, and sums their entries into balances."""

    @property
    def _status_fields(self) -> list[str]:
        return [
            "FVOUCHERID",
            "FBillNo",
            "FVOUCHERGROUPID.FName",
            "FVOUCHERGROUPNO",
            "FDocumentStatus",
            "FYEAR",
            "FPERIOD",
            "FEXPLANATION",
        ]

    def _status(self, row: dict[str, Any], endpoint: str = QUERY) -> VoucherStatus:
        group, number = row.get("FVOUCHERGROUPID.FName"), row.get("FVOUCHERGROUPNO")
        raw_state = str(required(row, "FDocumentStatus", vendor=self.vendor, endpoint=endpoint))
        year, period = row.get("FYEAR"), row.get("FPERIOD")
        return VoucherStatus(
            remote_id=str(required(row, "FVOUCHERID", vendor=self.vendor, endpoint=endpoint)),
            number=f"{group}-{number}" if group and number else None,
            state=STATES.get(raw_state, "error"),
            external_ref=ref_of(row.get("FEXPLANATION")),
            period=f"{int(year)}-{int(period):02d}" if year and period else None,
            raw_state=raw_state or None,
        )

    def voucher_model(self, voucher: Voucher) -> dict[str, Any]:
        """The GL_VOUCHER Save ``Model`` of a voucher."""
        settings = self.settings
        currency = settings.currencies.get(voucher.currency)
        if currency is None:
            raise VendorRequestError(f"no BD_Currency number configured for {voucher.currency!r}", vendor=self.vendor)
        year, month = period_parts(voucher.period)
        if (voucher.posting_date.year, voucher.posting_date.month) != (year, month):
            raise ValueError(
                f"voucher {voucher.external_ref}: posting date {voucher.posting_date} is not in {voucher.period}"
            )
        entries = []
        for line in voucher.lines:
            detail = {}
            if line.cost_center:
                detail[f"FDETAILID__{settings.cost_center_flex}"] = {"FNumber": line.cost_center}
            if line.project:
                detail[f"FDETAILID__{settings.project_flex}"] = {"FNumber": line.project}
            entries.append(
                {
                    "FEXPLANATION": tagged(
                        voucher.external_ref, line.text or voucher.description or "", settings.explanation_length
                    ),
                    "FACCOUNTID": {"FNumber": line.account_code},
                    "FDetailID": detail,
                    "FCURRENCYID": {"FNumber": currency},
                    "FEXCHANGERATETYPE": {"FNumber": settings.exchange_rate_type},
                    "FEXCHANGERATE": "1",
                    "FAMOUNTFOR": str(line.debit or line.credit),
                    "FDEBIT": str(line.debit),
                    "FCREDIT": str(line.credit),
                }
            )
        return {
            "FVOUCHERID": 0,
            "FAccountBookID": {"FNumber": voucher.company or settings.account_book},
            "FDate": voucher.posting_date.isoformat(),
            "FVOUCHERGROUPID": {"FNumber": voucher.voucher_type or settings.voucher_group},
            "FDocumentStatus": "A",
            "FEntity": entries,
        }

    def create_voucher(self, voucher: Voucher) -> VoucherStatus:
        """Save the voucher (created, ``A``); K3Cloud assigns its number in the voucher group at once.

        Not idempotent: a timeout or server error raises :class:`OutcomeUnknownError`, and the caller
        looks the voucher up with :meth:`find_voucher` before trying again.
        """
        fields = [f for f in self._status_fields if f != "FEXPLANATION"]  # header fields only
        data = {
            "NeedUpDateFields": [],
            "NeedReturnFields": fields,
            "IsDeleteEntry": "true",
            "IsVerifyBaseDataField": "true",
            "IsAutoSubmitAndAudit": False,
            "Model": self.voucher_model(voucher),
        }
        body = self.call(SAVE, {"formid": VOUCHER_FORM, "data": data}, idempotent=False)
        result = required(body, "Result", vendor=self.vendor, endpoint=SAVE)
        saved = ((result.get("ResponseStatus") or {}).get("SuccessEntitys") or [{}])[0]
        returned = (result.get("NeedReturnData") or [{}])[0] or {}
        row = {
            "FYEAR": period_parts(voucher.period)[0],
            "FPERIOD": period_parts(voucher.period)[1],
            "FDocumentStatus": "A",
            **returned,
            "FEXPLANATION": tagged(voucher.external_ref, "", self.settings.explanation_length),
            "FVOUCHERID": result.get("Id") or saved.get("Id"),
        }
        return self._status(row, SAVE)

    def _by_voucher(self, rows: Iterable[dict[str, Any]]) -> dict[str, VoucherStatus]:
        """One status per voucher from rows that repeat per entry: the ref of the first entry carrying one."""
        found: dict[str, VoucherStatus] = {}
        for row in rows:
            self._note_status(found, row)
        return found

    def _note_status(self, found: dict[str, VoucherStatus], row: dict[str, Any]) -> None:
        """Fold one entry row into ``found`` (:meth:`_by_voucher`)."""
        voucher_id = row.get("FVOUCHERID")
        if voucher_id is not None and row.get("FDocumentStatus") is not None:
            seen = found.get(str(voucher_id))
            if seen is not None and seen.external_ref is not None:
                return  # its status is known and carries the ref: a further entry changes nothing
        status = self._status(row)
        seen = found.get(status.remote_id)
        if seen is None or (seen.external_ref is None and status.external_ref is not None):
            found[status.remote_id] = status

    def find_voucher(self, external_ref: str, period: str) -> VoucherStatus | None:
        """The voucher carrying ``external_ref`` in ``period`` (the oldest, should there be two): a LIKE
        on the entries' FEXPLANATION, then only the vouchers whose parsed ref is equal."""
        year, month = period_parts(period)
        condition = f"FEXPLANATION LIKE {like_ref(external_ref)} AND FYEAR={year} AND FPERIOD={month}"
        rows = self.query(VOUCHER_FORM, self._status_fields, condition, "FVOUCHERID ASC")
        matches = [s for s in self._by_voucher(rows).values() if s.external_ref == external_ref]
        return min(matches, key=lambda s: int(s.remote_id)) if matches else None

    def voucher_status(self, remote_id: str) -> VoucherStatus:
        if not str(remote_id).isdigit():
            raise VendorRequestError(f"not a K3Cloud voucher id: {remote_id!r}", vendor=self.vendor)
        rows = self.query(VOUCHER_FORM, self._status_fields, f"FVOUCHERID={remote_id}", "FEntity_FEntryID ASC")
        found = self._by_voucher(rows).get(str(remote_id))
        if found is None:
            raise VendorRequestError(f"voucher {remote_id} does not exist (deleted?)", vendor=self.vendor)
        return found

    def _operate(self, operation: str, remote_id: str) -> None:
        data = {"CreateOrgId": 0, "Numbers": [], "Ids": str(remote_id)}
        self.call(f"DynamicFormService.{operation}", {"formid": VOUCHER_FORM, "data": data}, idempotent=False)

    def submit_voucher(self, remote_id: str) -> None:
        """Submit a created voucher (A → B). A retry after an unknown outcome checks the status first."""
        self._operate("Submit", remote_id)

    def audit_voucher(self, remote_id: str) -> None:
        """Audit a submitted voucher (B → C)."""
        self._operate("Audit", remote_id)

    def period_vouchers(self, company: str, period: str, known_refs: Collection[str] = ()) -> list[VoucherStatus]:
        """Every voucher of the book in ``period`` (one ExecuteBillQuery, paged), whatever its state."""
        year, month = period_parts(period)
        book = company or self.settings.account_book
        condition = f"FAccountBookID.FNumber={quote(book)} AND FYEAR={year} AND FPERIOD={month}"
        rows = self.query(VOUCHER_FORM, self._status_fields, condition, "FVOUCHERID ASC")
        return list(self._by_voucher(rows).values())

    def balances(self, company: str, period: str) -> list[Balance]:
        """The period's debit and credit per account, cost center and project, summed over the entries
        of every voucher of the book in that period (whatever its state: the ledger includes unposted
        vouchers)."""
        return self._read_period(company, period, with_vouchers=False).balances

    def period_ledger(self, company: str, period: str, known_refs: Collection[str] = ()) -> PeriodLedger:
        """The balances and the vouchers from one ExecuteBillQuery of the period's entries: the entry
        fields the balances sum and the header fields the statuses take, side by side on each row (the
        query mixes header and entry fields as :meth:`find_voucher`'s does)."""
        return self._read_period(company, period, with_vouchers=True)

    def _read_period(self, company: str, period: str, *, with_vouchers: bool) -> PeriodLedger:
        settings = self.settings
        book = company or settings.account_book
        year, month = period_parts(period)
        cost_center = f"FDetailID.{settings.cost_center_flex}.FNumber"
        project = f"FDetailID.{settings.project_flex}.FNumber"
        fields = ["FVOUCHERID", "FEntity_FEntryID", "FACCOUNTID.FNumber", "FDEBIT", "FCREDIT", cost_center, project]
        if with_vouchers:
            fields += [f for f in self._status_fields if f not in fields]
        condition = f"FAccountBookID.FNumber={quote(book)} AND FYEAR={year} AND FPERIOD={month}"
        # read ahead: a month's entries are a hundred pages, each built by the ERP while we sum the last
        rows = self.query(VOUCHER_FORM, fields, condition, "FVOUCHERID ASC, FEntity_FEntryID ASC", read_ahead=True)
        found: dict[str, VoucherStatus] = {}
        if with_vouchers:
            rows = self._noting_statuses(rows, found)
        balances = sum_balances(book, period, self._movements(rows, cost_center, project))
        return PeriodLedger(balances, list(found.values()))

    def _noting_statuses(
        self, rows: Iterable[dict[str, Any]], found: dict[str, VoucherStatus]
    ) -> Iterator[dict[str, Any]]:
        """``rows`` as they come, each folded into ``found`` on the way (one pass, no page kept)."""
        for row in rows:
            self._note_status(found, row)
            yield row

    def _movements(self, rows: Iterable[dict[str, Any]], cost_center: str, project: str) -> Iterator[Movement]:
        """(account, cost center, project, debit, credit) per entry row; a row without its account or
        amounts is refused (:func:`required`)."""
        for row in rows:
            account, debit, credit = row.get("FACCOUNTID.FNumber"), row.get("FDEBIT"), row.get("FCREDIT")
            if account is None or debit is None or credit is None:  # refused, the field named
                account = required(nest(row), "FACCOUNTID.FNumber", vendor=self.vendor, endpoint=QUERY)
                debit = required(row, "FDEBIT", vendor=self.vendor, endpoint=QUERY)
                credit = required(row, "FCREDIT", vendor=self.vendor, endpoint=QUERY)
            yield str(account), _text(row[cost_center]), _text(row[project]), Decimal(debit), Decimal(credit)
