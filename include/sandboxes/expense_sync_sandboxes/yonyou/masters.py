"""YonBIP's supplier archive and tax rates, in the documented answers (docs/vendors/yonyou.md,
"Suppliers and tax codes"; fixtures ``tests/fixtures/vendor_docs/yonyou/vendor_list_v3.json`` and
``taxrate_find_by_time.json``):

* ``POST /yonbip/digitalModel/vendor/listV3``: the pager answer (``code`` "200", ``data.recordList``
  …), paged by ``pageIndex``/``pageSize``; ``vendorbanks`` only with ``vendorbanksNeedQuery`` and
  ``vendorextendList`` only with ``vendorextendNeedQueryAll``, as documented; a disabled supplier
  is frozen (``freezestatus`` "1") in its business info [I];
* ``GET /yonbip/digitalModel/taxrate/findByTime``: every rate changed between ``startTime`` and
  ``endTime`` (none: all), ``code`` 200 as a number, ``data`` a bare list.

Behind the gateway's token checks like every other route; faults and throttling come from the core.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from expense_sync_sandboxes.masters import MasterData, SeedSupplier, SeedTaxRate
from expense_sync_sandboxes.yonyou import wire
from expense_sync_sandboxes.yonyou.chart import pager, query_failed

VENDOR_LIST = "/yonbip/digitalModel/vendor/listV3"
TAX_RATES = "/yonbip/digitalModel/taxrate/findByTime"
PUBTS = "2025-01-06 10:30:00"


def vendor(n: int, s: SeedSupplier, body: dict[str, Any]) -> dict[str, Any]:
    vendor_id = 2_151_531_886_779_826_177 + n
    record: dict[str, Any] = {
        "id": vendor_id,
        "code": s.code,
        "name": s.name,
        "creditcode": s.credit_code,
        "org": "666666",
        "org_code": "global00",
        "vendorclass_name": "差旅服务商",
        "taxPayingCategories": 0,
        "internalunit": False,
        "retailInvestors": False,
        "pubts": PUBTS,
    }
    if body.get("vendorbanksNeedQuery") is True:
        record["vendorbanks"] = (
            [
                {
                    "id": str(vendor_id + 10_000),
                    "openaccountbank_name": s.bank_name,
                    "account": s.bank_account,
                    "defaultbank": True,
                }
            ]
            if s.bank_account
            else []
        )
    if body.get("vendorextendNeedQueryAll") is True:
        record["vendorextendList"] = [
            {
                "id": vendor_id + 1,
                "vendor": vendor_id,
                "freezestatus": "0" if s.active else "1",
                "accessstatus": "0",
                "simplename": s.name[:6],
                "modifyTime": PUBTS,
            }
        ]
    return record


def tax_rate(n: int, t: SeedTaxRate) -> dict[str, Any]:
    return {
        "id": str(2_165_271_729_394_432 + n),
        "code": "VATEX" if t.percent is None else f"VAT{int(t.percent)}",
        "name": t.name,
        "ntaxrate": 0 if t.percent is None else t.percent,
        "taxfree": t.percent is None,
        "notaxation": False,
        "scope": 1,
        "enable": 1,
        "dr": 0,
    }


def _page(body: dict[str, Any]) -> tuple[int, int]:
    try:
        return max(1, int(body.get("pageIndex") or 1)), max(1, int(body.get("pageSize") or 10))
    except (TypeError, ValueError):
        raise query_failed("分页参数格式错误") from None


def add_routes(sandbox) -> None:
    @sandbox.gateway(VENDOR_LIST)
    async def vendor_list(request: Request) -> Response:
        body = await wire.json_body(request)
        index, size = _page(body)
        masters: MasterData = sandbox.masters
        ordered = sorted(masters.suppliers.values(), key=lambda s: s.code)
        records = [vendor(n, s, body) for n, s in enumerate(ordered)]
        page = records[(index - 1) * size : index * size]
        return wire.respond({"code": "200", "message": "操作成功", "data": pager(page, len(records), index, size)})

    async def tax_rates(request: Request) -> Response:
        sandbox.authorize(request, TAX_RATES)
        for name in ("startTime", "endTime"):
            value = request.query_params.get(name)
            if value:
                try:
                    dt.datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
                except ValueError:
                    return wire.respond({"code": 999, "message": f"操作失败：{name}格式错误"})
        rates = [tax_rate(n, t) for n, t in enumerate(sandbox.masters.tax_rates.values())]
        return wire.respond({"code": 200, "message": "操作成功", "data": rates})

    for prefix in ("", sandbox.gateway_prefix):
        sandbox.app.add_api_route(prefix + TAX_RATES, tax_rates, methods=["GET"])
