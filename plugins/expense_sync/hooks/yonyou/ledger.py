"""YonBIP vouchers and balances ⇄ the canonical ERP records, without I/O.

:func:`add_voucher_body` writes ``addVoucher``'s body; :func:`status_from_saved`,
:func:`status_from_header` and :func:`status_from_detail` read the three voucher answers;
:func:`movements` reads ``queryVouchers`` lines for the balances. Amounts go out as decimal strings
and come back as :class:`~decimal.Decimal`. Field names: ``docs/vendors/yonyou.md``.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from expense_sync.erp.model import CENT, Movement, Voucher, VoucherLine, VoucherState, VoucherStatus
from expense_sync.hooks.errors import VendorRequestError

if TYPE_CHECKING:
    from expense_sync.hooks.yonyou.settings import YonyouSettings

# voucherStatus: 00 暂存, 01 保存, 02 错误, 03 已审核, 04 已记账, 05 作废
STATES: dict[str, VoucherState] = {
    "00": "draft",
    "01": "draft",
    "02": "error",
    "03": "audited",
    "04": "posted",
    "05": "void",
}


def line_dimensions(settings: YonyouSettings, line: VoucherLine) -> list[tuple[str, str]]:
    """The auxiliary accounting (辅助核算) type codes and values a voucher line carries."""
    pairs = ((settings.cost_center_aux_code, line.cost_center), (settings.project_aux_code, line.project))
    return [(code, value) for code, value in pairs if value]


def _amount(value: Decimal) -> str:
    return str(value.quantize(CENT))


def add_voucher_body(voucher: Voucher, settings: YonyouSettings) -> dict[str, Any]:
    """``addVoucher``'s body. ``businessId`` and ``externalSourceDataId`` both carry our reference."""
    day = voucher.posting_date.isoformat()
    body: dict[str, Any] = {
        "businessId": voucher.external_ref,
        "accbookCode": voucher.company,
        "voucherTypeCode": voucher.voucher_type or settings.voucher_type_code,
        "period": voucher.period,
        "makeTime": day,
        "description": voucher.description,
        "srcSystemCode": settings.src_system_code,
        "externalSourceDataId": voucher.external_ref,
        "externalSourceDataType": settings.external_source_type,
        "externalSourceSystemName": settings.external_system_name,
    }
    if settings.maker_mobile:
        body["makerMobile"] = settings.maker_mobile
    if settings.maker_email:
        body["makerEmail"] = settings.maker_email
    bodies = []
    for line in voucher.lines:
        entry: dict[str, Any] = {
            "description": line.text or voucher.description,
            "accsubjectCode": line.account_code,
            "currencyCode": voucher.currency,
            "rateType": "01",
            "rateOrg": "1",
            "busidate": day,
        }
        side = "debit" if line.debit else "credit"
        amount = _amount(line.debit or line.credit)
        entry[f"{side}Original"] = entry[f"{side}Org"] = amount
        auxiliary = [{"filedCode": code, "valueCode": value} for code, value in line_dimensions(settings, line)]
        if auxiliary:
            entry["clientAuxiliaryList"] = auxiliary
        bodies.append(entry)
    body["bodies"] = bodies
    return body


def _status(remote_id: Any, bill_code: Any, raw_state: Any, external_ref: Any, period: Any) -> VoucherStatus:
    raw = str(raw_state or "")
    if raw not in STATES:
        raise VendorRequestError(f"voucher {remote_id} has an unknown voucherStatus {raw!r}", vendor="yonyou")
    return VoucherStatus(
        remote_id=str(remote_id),
        number=None if bill_code in (None, "") else str(bill_code),
        state=STATES[raw],
        external_ref=external_ref or None,
        period=period or None,
        raw_state=raw,
    )


def status_from_saved(data: dict[str, Any], voucher: Voucher) -> VoucherStatus:
    """The answer of ``addVoucher`` (which does not echo the external reference)."""
    return _status(
        data["voucherId"],
        data.get("billCode"),
        data.get("voucherStatus"),
        voucher.external_ref,
        data.get("period") or voucher.period,
    )


def status_from_header(header: dict[str, Any]) -> VoucherStatus:
    """A ``queryVouchers`` record header (lower-case fields)."""
    return _status(
        header["id"],
        header.get("billcode"),
        header.get("voucherstatus"),
        header.get("external_source_data_id"),
        header.get("period"),
    )


def status_from_detail(data: dict[str, Any]) -> VoucherStatus:
    """A ``queryVoucherById`` answer (camel-case fields)."""
    return _status(
        data["id"],
        data.get("billCode"),
        data.get("voucherStatus"),
        data.get("externalSourceDataId"),
        data.get("periodUnion"),
    )


def movements(record: dict[str, Any], settings: YonyouSettings) -> Iterator[Movement]:
    """The ledger lines of one ``queryVouchers`` record: account, cost center, project, debit, credit."""
    for line in record.get("body") or []:
        dims = {a.get("typecode"): a.get("code") for a in line.get("auxiliary") or []}
        yield (
            str((line.get("accsubject") or {}).get("code") or ""),
            dims.get(settings.cost_center_aux_code),
            dims.get(settings.project_aux_code),
            Decimal(line.get("debit_org") or 0),
            Decimal(line.get("credit_org") or 0),
        )
