"""GL vouchers (GL_VOUCHER Save, Submit, Audit and lookups) and the period's movements per account.

Wire facts (rows 24-36 of ``docs/vendors/kingdee.md``) and what stays inferred are in that file."""

from __future__ import annotations

from collections.abc import Collection
from decimal import Decimal
from typing import Any

from expense_sync.erp.model import Balance, Voucher, VoucherState, VoucherStatus, sum_balances
from expense_sync.hooks.errors import VendorRequestError
from expense_sync.hooks.kingdee.query import KingdeeQuery, quote

VOUCHER_FORM = "GL_VOUCHER"
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
            self.settings.external_ref_field,
        ]

    def _status(self, row: dict[str, Any]) -> VoucherStatus:
        group, number = row.get("FVOUCHERGROUPID.FName"), row.get("FVOUCHERGROUPNO")
        raw_state = str(row.get("FDocumentStatus") or "")
        year, period = row.get("FYEAR"), row.get("FPERIOD")
        return VoucherStatus(
            remote_id=str(row["FVOUCHERID"]),
            number=f"{group}-{number}" if group and number else None,
            state=STATES.get(raw_state, "error"),
            external_ref=_text(row.get(self.settings.external_ref_field)),
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
                    "FEXPLANATION": line.text or voucher.description,
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
            settings.external_ref_field: voucher.external_ref,
            "FEntity": entries,
        }

    def create_voucher(self, voucher: Voucher) -> VoucherStatus:
        """Save the voucher (created, ``A``); K3Cloud assigns its number in the voucher group at once.

        Not idempotent: a timeout or server error raises :class:`OutcomeUnknownError`, and the caller
        looks the voucher up with :meth:`find_voucher` before trying again.
        """
        fields = self._status_fields
        data = {
            "NeedUpDateFields": [],
            "NeedReturnFields": fields,
            "IsDeleteEntry": "true",
            "IsVerifyBaseDataField": "true",
            "IsAutoSubmitAndAudit": False,
            "Model": self.voucher_model(voucher),
        }
        body = self.call("DynamicFormService.Save", {"formid": VOUCHER_FORM, "data": data}, idempotent=False)
        result = body["Result"]
        saved = ((result.get("ResponseStatus") or {}).get("SuccessEntitys") or [{}])[0]
        returned = (result.get("NeedReturnData") or [{}])[0] or {}
        row = {
            "FYEAR": period_parts(voucher.period)[0],
            "FPERIOD": period_parts(voucher.period)[1],
            "FDocumentStatus": "A",
            self.settings.external_ref_field: voucher.external_ref,
            **returned,
            "FVOUCHERID": result.get("Id") or saved.get("Id"),
        }
        return self._status(row)

    def find_voucher(self, external_ref: str, period: str) -> VoucherStatus | None:
        """The voucher carrying ``external_ref`` in ``period`` (the oldest, should there be two)."""
        year, month = period_parts(period)
        condition = f"{self.settings.external_ref_field}={quote(external_ref)} AND FYEAR={year} AND FPERIOD={month}"
        row = self.query_first(VOUCHER_FORM, self._status_fields, condition, "FVOUCHERID ASC")
        return self._status(row) if row else None

    def voucher_status(self, remote_id: str) -> VoucherStatus:
        if not str(remote_id).isdigit():
            raise VendorRequestError(f"not a K3Cloud voucher id: {remote_id!r}", vendor=self.vendor)
        row = self.query_first(VOUCHER_FORM, self._status_fields, f"FVOUCHERID={remote_id}")
        if row is None:
            raise VendorRequestError(f"voucher {remote_id} does not exist (deleted?)", vendor=self.vendor)
        return self._status(row)

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
        found: dict[str, VoucherStatus] = {}
        for row in self.query(VOUCHER_FORM, self._status_fields, condition, "FVOUCHERID ASC"):
            status = self._status(row)
            found.setdefault(status.remote_id, status)  # rows may repeat per entry
        return list(found.values())

    def balances(self, company: str, period: str) -> list[Balance]:
        """The period's debit and credit per account, cost center and project, summed over the entries
        of every voucher of the book in that period (whatever its state: the ledger includes unposted
        vouchers)."""
        settings = self.settings
        book = company or settings.account_book
        year, month = period_parts(period)
        cost_center = f"FDetailID.{settings.cost_center_flex}.FNumber"
        project = f"FDetailID.{settings.project_flex}.FNumber"
        fields = ["FVOUCHERID", "FEntity_FEntryID", "FACCOUNTID.FNumber", "FDEBIT", "FCREDIT", cost_center, project]
        condition = f"FAccountBookID.FNumber={quote(book)} AND FYEAR={year} AND FPERIOD={month}"
        rows = self.query(VOUCHER_FORM, fields, condition, "FVOUCHERID ASC, FEntity_FEntryID ASC")
        return sum_balances(
            book,
            period,
            (
                (
                    str(row["FACCOUNTID.FNumber"]),
                    _text(row[cost_center]),
                    _text(row[project]),
                    Decimal(row["FDEBIT"] or 0),
                    Decimal(row["FCREDIT"] or 0),
                )
                for row in rows
            ),
        )
