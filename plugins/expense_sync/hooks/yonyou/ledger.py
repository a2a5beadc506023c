"""YonBIP vouchers and balances ⇄ the canonical ERP records, without I/O.

:func:`add_voucher_body` writes ``addVoucher``'s body; :func:`status_from_saved`,
:func:`status_from_header` and :func:`status_from_detail` read the three voucher answers;
:func:`movements` reads ``queryVouchers`` lines for the balances. Amounts go out as decimal strings
and come back as :class:`~decimal.Decimal`. Every field read is required (``contract.required``): a
voucher or line without it is a :class:`~expense_sync.hooks.errors.ContractError` naming it, never
a zero amount or a line without its dimensions. Field names: ``docs/vendors/yonyou.md``.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from expense_sync.erp.model import CENT, Movement, Voucher, VoucherLine, VoucherState, VoucherStatus
from expense_sync.hooks.contract import required
from expense_sync.hooks.errors import ContractError

if TYPE_CHECKING:
    from expense_sync.hooks.yonyou.settings import YonyouSettings

ADD_VOUCHER = "POST /yonbip/fi/ficloud/openapi/voucher/addVoucher"
QUERY_VOUCHERS = "POST /yonbip/fi/ficloud/openapi/voucher/queryVouchers"
VOUCHER_BY_ID = "POST /yonbip/EFI/openapi/voucher/queryVoucherById"
# The header's external reference: documented camel-case, lower-case as the other header columns.
HEADER_REF = ("externalSourceDataId", "external_source_data_id")

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


def _status(
    endpoint: str, remote_id: Any, bill_code: Any, raw_state: Any, external_ref: Any, period: Any
) -> VoucherStatus:
    raw = str(raw_state)
    if raw not in STATES:
        raise ContractError(
            f"voucher {remote_id} has an unknown voucherStatus {raw!r}", vendor="yonyou", endpoint=endpoint
        )
    return VoucherStatus(
        remote_id=str(remote_id),
        number=None if bill_code in (None, "") else str(bill_code),
        state=STATES[raw],
        external_ref=external_ref or None,
        period=period or None,
        raw_state=raw,
    )


def _get(record: Any, *names: str, endpoint: str, nullable: bool = False) -> Any:
    return required(record, *names, vendor="yonyou", endpoint=endpoint, nullable=nullable)


def status_from_saved(data: dict[str, Any], voucher: Voucher) -> VoucherStatus:
    """The answer of ``addVoucher`` (which does not echo the external reference)."""
    at = ADD_VOUCHER
    return _status(
        at,
        _get(data, "voucherId", endpoint=at),
        _get(data, "billCode", endpoint=at, nullable=True),
        _get(data, "voucherStatus", endpoint=at),
        voucher.external_ref,
        _get(data, "period", endpoint=at),
    )


def status_from_header(header: dict[str, Any]) -> VoucherStatus:
    """A ``queryVouchers`` record header (lower-case fields, camel-case external source)."""
    at = QUERY_VOUCHERS
    return _status(
        at,
        _get(header, "id", endpoint=at),
        _get(header, "billcode", endpoint=at, nullable=True),
        _get(header, "voucherstatus", endpoint=at),
        header_ref(header),
        _get(header, "period", endpoint=at),
    )


def header_ref(header: dict[str, Any]) -> str | None:
    """The external reference a ``queryVouchers`` header carries (empty for a voucher keyed in)."""
    return _get(header, *HEADER_REF, endpoint=QUERY_VOUCHERS, nullable=True) or None


def status_from_detail(data: dict[str, Any]) -> VoucherStatus:
    """A ``queryVoucherById`` answer (camel-case fields)."""
    at = VOUCHER_BY_ID
    return _status(
        at,
        _get(data, "id", endpoint=at),
        _get(data, "billCode", endpoint=at, nullable=True),
        _get(data, "voucherStatus", endpoint=at),
        _get(data, "externalSourceDataId", endpoint=at, nullable=True),
        _get(data, "periodUnion", endpoint=at),
    )


def _decimal(value: Any, name: str) -> Decimal:
    try:
        return Decimal(str(value))
    except ArithmeticError:
        raise ContractError(
            f"field {name!r} is {value!r}, not an amount", vendor="yonyou", endpoint=QUERY_VOUCHERS
        ) from None


def dimensions(line: dict[str, Any]) -> dict[str, str]:
    """Auxiliary accounting of one ledger line: type code (``clientauxiliary[].code``) → value code
    (``clientauxiliary[].data.code``). The list must be there (null or empty: no dimensions)."""
    at = QUERY_VOUCHERS
    found = _get(line, "clientauxiliary", endpoint=at, nullable=True) or []
    if not isinstance(found, list):
        raise ContractError(
            f"field 'clientauxiliary' is a {type(found).__name__}, not a list", vendor="yonyou", endpoint=at
        )
    return {str(_get(a, "code", endpoint=at)): str(_get(a, "data.code", endpoint=at)) for a in found}


def movements(record: dict[str, Any], settings: YonyouSettings) -> Iterator[Movement]:
    """The ledger lines of one ``queryVouchers`` record: account, cost center, project, debit, credit."""
    at = QUERY_VOUCHERS
    for line in _get(record, "body", endpoint=at):
        dims = dimensions(line)
        yield (
            str(_get(line, "accsubject.code", endpoint=at)),
            dims.get(settings.cost_center_aux_code),
            dims.get(settings.project_aux_code),
            _decimal(_get(line, "debit_org", endpoint=at), "debit_org"),
            _decimal(_get(line, "credit_org", endpoint=at), "credit_org"),
        )
