"""YonBIP wire shapes ⇄ the canonical ERP records, without I/O (used by :mod:`expense_sync.hooks.yonyou`).

* Charts: one :class:`ChartQuery` per chart kind — the path, where the records and the total sit in
  the answer, the ``fields`` to ask for — and :func:`chart_record` to read a record.
* Vouchers: :func:`add_voucher_body` writes ``addVoucher``'s body; :func:`status_from_header` and
  :func:`status_from_detail` read ``queryVouchers`` and ``queryVoucherById``.
* Balances: :func:`add_movements` sums ``queryVouchers`` lines per account, cost center and project.

Amounts go out as decimal strings (``"1200.00"``; the Java gateway reads them into ``BigDecimal``)
and come back as :class:`~decimal.Decimal` (the hook parses JSON numbers that way), never float.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from expense_sync.erp.model import CENT, ChartKind, ChartRecord, Movement, Voucher, VoucherState, VoucherStatus
from expense_sync.hooks.errors import VendorRequestError

if TYPE_CHECKING:
    from expense_sync.hooks.yonyou.hook import YonyouSettings

TS_FORMAT = "%Y-%m-%d %H:%M:%S"
# voucherStatus [V]: 00 暂存, 01 保存, 02 错误, 03 已审核, 04 已记账, 05 作废
STATES: dict[str, VoucherState] = {
    "00": "draft",
    "01": "draft",
    "02": "error",
    "03": "audited",
    "04": "posted",
    "05": "void",
}


@dataclass(frozen=True)
class ChartQuery:
    """How one chart is read: a ``querybd``-style POST with ``fields``/``conditions`` and page numbers."""

    path: str
    items_path: str
    total_path: str
    fields: tuple[str, ...]


BASE_FIELDS = ("id", "code", "name", "parent_code", "enable", "ts")
CHARTS: dict[ChartKind, ChartQuery] = {
    # [V] path, paging and answer; fields beyond id/code/name/mnemoniccode/multidimension are [I].
    "gl_account": ChartQuery(
        "/yonbip/AMP/fipub/basedoc/querybd/accsubjectByPager",
        "data.recordList",
        "data.recordCount",
        (*BASE_FIELDS, "mnemoniccode", "isEnd", "accproperty_name"),
    ),
    # [I] paths in the querybd family (metadata finbd.bd_expenseitemref / finbd.bd_costcenterref).
    "expense_item": ChartQuery(
        "/yonbip/fi/fipub/basedoc/querybd/expenseitem", "data", "total", (*BASE_FIELDS, "accsubject_code")
    ),
    "cost_center": ChartQuery(
        "/yonbip/fi/fipub/basedoc/querybd/costcenter",
        "data",
        "total",
        (*BASE_FIELDS, "dept_code", "begindate", "enddate"),
    ),
    "project": ChartQuery(
        "/yonbip/fi/fipub/basedoc/querybd/project", "data", "total", (*BASE_FIELDS, "begindate", "enddate")
    ),
}


def tenant_zone(settings: YonyouSettings) -> dt.timezone:
    return dt.timezone(dt.timedelta(hours=settings.ts_utc_offset))


def ts_condition(since: dt.datetime, settings: YonyouSettings) -> dict[str, str]:
    """``ts >= since`` in the tenant's local time (a naive ``since`` is taken as UTC)."""
    if since.tzinfo is None:
        since = since.replace(tzinfo=dt.UTC)
    local = since.astimezone(tenant_zone(settings)).replace(tzinfo=None)
    return {"field": "ts", "value": local.strftime(TS_FORMAT), "operator": ">="}


def _date(value: Any) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def chart_record(kind: ChartKind, raw: dict[str, Any], settings: YonyouSettings) -> ChartRecord:
    stamp = raw.get("ts")
    updated = dt.datetime.strptime(stamp, TS_FORMAT).replace(tzinfo=tenant_zone(settings)) if stamp else None
    common = {
        "kind": kind,
        "code": str(raw["code"]),
        "name": str(raw.get("name") or ""),
        "active": str(raw.get("enable", 1)) != "2",
        "parent_code": raw.get("parent_code") or None,
        "updated_at": updated,
        "raw": raw,
    }
    if kind == "gl_account":
        return ChartRecord(**common, postable=raw.get("isEnd"), account_type=raw.get("accproperty_name"))
    if kind == "expense_item":
        return ChartRecord(**common, gl_account_code=raw.get("accsubject_code") or None)
    valid = {"valid_from": _date(raw.get("begindate")), "valid_to": _date(raw.get("enddate"))}
    if kind == "cost_center":
        return ChartRecord(**common, owner_unit=raw.get("dept_code") or None, **valid)
    return ChartRecord(**common, **valid)


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
        auxiliary = [
            {"filedCode": code, "valueCode": value}
            for code, value in (
                (settings.cost_center_aux_code, line.cost_center),
                (settings.project_aux_code, line.project),
            )
            if value
        ]
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
            (line.get("accsubject") or {}).get("code"),
            dims.get(settings.cost_center_aux_code),
            dims.get(settings.project_aux_code),
            Decimal(line.get("debit_org") or 0),
            Decimal(line.get("credit_org") or 0),
        )
