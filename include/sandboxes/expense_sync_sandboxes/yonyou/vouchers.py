"""YonBIP voucher and report routes: ``addVoucher``, ``queryVouchers``, ``queryVoucherById``, ``rpt``.

* ``POST /yonbip/fi/ficloud/openapi/voucher/addVoucher`` [V]: top-level body (no ``data`` wrapper),
  ``bodies[]`` with ``debitOriginal``/``debitOrg`` or ``creditOriginal``/``creditOrg`` (numbers or
  numeric strings), ``clientAuxiliaryList[{filedCode, valueCode}]``. Success
  ``{"code": "200", "message": "OK", "data": {voucherId, voucherStatus "01", period, billCode,
  totalDebitOrg, totalCreditOrg, accbook{id, code, name}, voucherType{…}}}``; refusals
  ``{"code": "404", "message": "凭证保存不成功,…", "data": {}}`` with HTTP 200.
  ``businessId`` is the idempotency key: a repeat never creates a second voucher. The answer is the
  reset option ``duplicate_answer``: ``"error"`` (default) → ``{"code": "310504", "message":
  "凭证已存在，…"}`` [V: duplicate codes 310504 / 310074 seen in client code]; ``"existing"`` → the
  first voucher's success answer again (MDD idempotency replay) [I].
  ``externalSourceDataId`` / ``externalSourceDataType`` / ``externalSourceSystemName`` are stored.
  Only ``CNY`` at rate 1 is accepted (the sandbox's books keep CNY) [I].
* ``POST …/voucher/queryVouchers`` [V]: ``accbookCode`` required (``"404"`` "账簿code不能为空！"),
  paging in the ``pager`` object (``pageSize`` capped at 1000), ``periodStart``/``periodEnd``
  (default: the current month), ``voucherStatusList``, ``voucherTypeCodeList``, ``billcodeMin``/
  ``billcodeMax``, ``tsStart``/``tsEnd``, ``makeTimeStart``/``makeTimeEnd``, ``srcSystemCode``,
  ``accsubjectCodeList`` (sub-accounts included). Records ``{header, body[], externalMainMarking,
  externalSystemType, externalIntegrationStatus}`` with lower-case header fields (``billcode``,
  ``voucherstatus``, ``totaldebit_org``, ``displayname`` "记-3", ``maker{…}``…) and camel-case
  ``externalSourceDataId`` / ``…Type`` / ``…Code`` / ``externalSourceSystemName`` ("" when none);
  lines carry ``debit_org``/``credit_org``, ``auxiliary`` (a string id), ``auxiliaryShow`` and
  ``clientauxiliary[{field, doctype, code, name, datatype, value, data{id, code, name}}]`` [D: the
  凭证列表查询 example]; ``code``/``name`` of a ``clientauxiliary`` item are the auxiliary type, ``data``
  its value [I: our reading of the example].
* ``POST /yonbip/EFI/openapi/voucher/queryVoucherById`` {voucherId} [V]: camel-case detail
  (``billCode``, ``voucherStatus``, ``periodUnion``, ``accBookObj``, ``externalSourceDataId``…);
  unknown id → ``{"code": "404", "message": "凭证不存在！", "data": {}}`` [V].
* ``POST /yonbip/fi/rpt/balance`` and ``/yonbip/fi/rpt/profit`` {accbook: GUID, period} [V]:
  ``{"code": "200", "message": "", "data": {accCode, accName, items}}``; a period or book the
  report model does not know → ``{"code": 0, "message": "period not exist!"}`` [V].
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from expense_sync_sandboxes.yonyou import wire
from expense_sync_sandboxes.yonyou.ledger import LedgerError, Line, user

MAX_PAGE = 1000


def saved(voucher: dict[str, Any]) -> dict[str, Any]:
    """The ``data`` of a successful ``addVoucher``."""
    vtype = voucher["voucher_type"]
    return {
        "voucherId": voucher["id"],
        "voucherStatus": voucher["status"],
        "period": voucher["period"],
        "billCode": voucher["bill_code"],
        "totalDebitOrg": voucher["total_debit"],
        "totalCreditOrg": voucher["total_credit"],
        "accbook": voucher["accbook"],
        "voucherType": {k: vtype[k] for k in ("id", "code", "name", "voucherstr")},
    }


def listed(voucher: dict[str, Any]) -> dict[str, Any]:
    """One ``queryVouchers`` record: lower-case header and lines."""
    vtype, external = voucher["voucher_type"], voucher["external"]
    header = {
        "id": voucher["id"],
        "billcode": voucher["bill_code"],
        "displayname": f"{vtype['voucherstr']}-{voucher['bill_code']}",
        "period": voucher["period"],
        "description": voucher["description"],
        "srcsystem": voucher["src_system"],
        "voucherstatus": voucher["status"],
        "totaldebit_org": voucher["total_debit"],
        "totalcredit_org": voucher["total_credit"],
        "maketime": f"{voucher['make_time']} 00:00:00",
        "ts": voucher["ts"],
        "attachedbill": voucher["attached"],
        "maker": voucher["maker"],
        "auditor": voucher["auditor"],
        "tallyman": voucher["tallyman"],
        "accbook": voucher["accbook"],
        "vouchertype": vtype,
        "externalSourceDataType": external.get("dataType") or "",
        "externalSourceDataCode": external.get("dataCode") or "",
        "externalSourceDataId": external.get("dataId") or "",
        "externalSourceSystemName": external.get("systemName") or "",
    }
    body = [
        {
            "id": b["id"],
            "voucherid": b["voucherid"],
            "recordnumber": b["recordnumber"],
            "description": b["description"],
            "accsubject": b["accsubject"],
            "currency": {"code": "CNY", "name": "人民币"},
            "debit_original": b["debit_original"],
            "credit_original": b["credit_original"],
            "debit_org": b["debit_org"],
            "credit_org": b["credit_org"],
            "busidate": b["busidate"],
            "auxiliary": f"{b['id']}-AUX" if b["auxiliary"] else None,
            "auxiliaryShow": "".join(f"【{a['name']}】" for a in b["auxiliary"]),
            "clientauxiliary": [
                {
                    "field": f"vr{n}",
                    "doctype": a["doctype"],
                    "code": a["typecode"],
                    "name": a["typename"],
                    "datatype": "doc",
                    "value": a["id"],
                    "data": {"id": a["id"], "code": a["code"], "name": a["name"]},
                }
                for n, a in enumerate(b["auxiliary"], start=1)
            ],
        }
        for b in voucher["bodies"]
    ]
    return {
        "header": header,
        "body": body,
        "externalMainMarking": None,
        "externalSystemType": external.get("systemName"),
        "externalIntegrationStatus": None,
    }


def detail(voucher: dict[str, Any]) -> dict[str, Any]:
    """The ``queryVoucherById`` data: camel-case fields."""
    vtype, external = voucher["voucher_type"], voucher["external"]
    return {
        "id": voucher["id"],
        "accBook": voucher["accbook"]["id"],
        "accBookObj": voucher["accbook"],
        "periodUnion": voucher["period"],
        "voucherType": vtype["id"],
        "voucherTypeObj": vtype,
        "billCode": voucher["bill_code"],
        "makeTime": voucher["make_time"],
        "displayName": f"{vtype['voucherstr']}-{voucher['bill_code']}",
        "voucherStatus": voucher["status"],
        "description": voucher["description"],
        "srcSystem": voucher["src_system"],
        "externalSourceDataId": external.get("dataId"),
        "externalSourceDataType": external.get("dataType"),
        "externalSourceSystemName": external.get("systemName"),
        "externalSourceDataCode": external.get("dataCode"),
        "totalDebitOrg": voucher["total_debit"],
        "totalCreditOrg": voucher["total_credit"],
        "makerObj": voucher["maker"],
        "auditorObj": voucher["auditor"],
        "tallyManObj": voucher["tallyman"],
        "bodies": [
            {
                "id": b["id"],
                "recordNumber": b["recordnumber"],
                "description": b["description"],
                "accSubject": b["accsubject"]["id"],
                "accSubjectObj": b["accsubject"],
                "currency": "CNY",
                "debitOriginal": b["debit_original"],
                "creditOriginal": b["credit_original"],
                "debitOrg": b["debit_org"],
                "creditOrg": b["credit_org"],
                "busidate": b["busidate"],
                "clientAuxiliaryList": [
                    {"filedCode": a["typecode"], "valueCode": a["code"], "valueName": a["name"]} for a in b["auxiliary"]
                ],
            }
            for b in voucher["bodies"]
        ],
    }


def _lines(body: dict[str, Any]) -> list[Line]:
    raw_lines = body.get("bodies")
    if not isinstance(raw_lines, list):
        raise wire.fail("凭证保存不成功,分录不能为空！")
    lines = []
    for raw in raw_lines:
        if not isinstance(raw, dict):
            raise wire.fail("凭证保存不成功,分录格式不正确！")
        if (raw.get("currencyCode") or "CNY") != "CNY" or Decimal(str(raw.get("rateOrg") or 1)) != 1:
            raise wire.fail("凭证保存不成功,账簿本位币为CNY，不支持外币分录！")
        auxiliary = raw.get("clientAuxiliaryList") or []
        if not isinstance(auxiliary, list) or not all(isinstance(a, dict) for a in auxiliary):
            raise wire.fail("凭证保存不成功,辅助核算格式不正确！")
        lines.append(
            Line(
                description=raw.get("description") or "",
                account_code=raw.get("accsubjectCode") or "",
                debit=wire.amount(raw.get("debitOrg"), "借方本币"),
                credit=wire.amount(raw.get("creditOrg"), "贷方本币"),
                debit_original=wire.amount(raw.get("debitOriginal"), "借方原币"),
                credit_original=wire.amount(raw.get("creditOriginal"), "贷方原币"),
                auxiliary=[(str(a.get("filedCode") or ""), str(a.get("valueCode") or "")) for a in auxiliary],
                busidate=raw.get("busidate"),
            )
        )
    return lines


def _matches(voucher: dict[str, Any], body: dict[str, Any], period_start: str, period_end: str) -> bool:
    header = (voucher["period"], voucher["status"], voucher["voucher_type"]["code"])
    if not period_start <= header[0] <= period_end:
        return False
    if body.get("voucherStatusList") and header[1] not in body["voucherStatusList"]:
        return False
    if body.get("voucherTypeCodeList") and header[2] not in body["voucherTypeCodeList"]:
        return False
    if body.get("billcodeMin") not in (None, "") and voucher["bill_code"] < int(body["billcodeMin"]):
        return False
    if body.get("billcodeMax") not in (None, "") and voucher["bill_code"] > int(body["billcodeMax"]):
        return False
    if body.get("tsStart") and voucher["ts"] < body["tsStart"]:
        return False
    if body.get("tsEnd") and voucher["ts"] > body["tsEnd"]:
        return False
    if body.get("makeTimeStart") and voucher["make_time"] < body["makeTimeStart"]:
        return False
    if body.get("makeTimeEnd") and voucher["make_time"] > body["makeTimeEnd"]:
        return False
    if body.get("srcSystemCode") and voucher["src_system"] != body["srcSystemCode"]:
        return False
    accounts = body.get("accsubjectCodeList")
    return not accounts or any(b["accsubject"]["code"].startswith(tuple(accounts)) for b in voucher["bodies"])


def add_routes(sandbox) -> None:
    gateway = sandbox.gateway

    @gateway("/yonbip/fi/ficloud/openapi/voucher/addVoucher")
    async def add_voucher(request: Request) -> Response:
        body = await wire.json_body(request)
        business_id = body.get("businessId") or None
        existing = sandbox.ledger.by_business(business_id)
        if existing is not None:
            if sandbox.duplicate_answer == "existing":
                return wire.ok(saved(existing))
            raise wire.fail(f"凭证已存在，业务唯一标识businessId[{business_id}]重复提交", code="310504")
        mobile, email = body.get("makerMobile"), body.get("makerEmail")
        try:
            voucher = sandbox.ledger.create(
                accbook_code=body.get("accbookCode"),
                voucher_type=body.get("voucherTypeCode"),
                period=body.get("period"),
                maker=user(mobile=mobile, email=email),
                make_time=body.get("makeTime") or wire.now().strftime("%Y-%m-%d"),
                description=body.get("description") or "",
                lines=_lines(body),
                business_id=business_id,
                src_system=body.get("srcSystemCode") or "figl",
                external={
                    "dataId": body.get("externalSourceDataId"),
                    "dataType": body.get("externalSourceDataType"),
                    "systemName": body.get("externalSourceSystemName"),
                    "dataCode": body.get("externalSourceDataCode"),
                },
                bill_code=int(body["billCode"]) if body.get("billCode") else None,
                attached=int(body.get("attachedBill") or 0),
            )
        except LedgerError as err:
            raise wire.fail(str(err)) from None
        return wire.ok(saved(voucher))

    @gateway("/yonbip/fi/ficloud/openapi/voucher/queryVouchers")
    async def query_vouchers(request: Request) -> Response:
        body = await wire.json_body(request)
        book = sandbox.books.by_code(body.get("accbookCode"))
        if not body.get("accbookCode"):
            raise wire.fail("账簿code不能为空！")
        if book is None:
            raise wire.fail(f"账簿[{body['accbookCode']}]不存在！")
        pager = body.get("pager") or {}
        index = max(1, int(pager.get("pageIndex") or 1))
        size = min(MAX_PAGE, max(1, int(pager.get("pageSize") or 20)))
        current = wire.now().strftime("%Y-%m")
        start, end = body.get("periodStart") or current, body.get("periodEnd") or current
        found = sorted(
            (
                v
                for v in sandbox.ledger.of_book(book["id"], start=start, end=end)
                if v["accbook"]["id"] == book["id"] and _matches(v, body, start, end)
            ),
            key=lambda v: (v["period"], v["voucher_type"]["code"], v["bill_code"]),
        )
        page = found[(index - 1) * size : index * size]
        return wire.ok(
            {
                "pageIndex": index,
                "pageSize": size,
                "recordCount": len(found),
                "recordList": [listed(v) for v in page],
            }
        )

    @gateway("/yonbip/EFI/openapi/voucher/queryVoucherById")
    async def query_voucher_by_id(request: Request) -> Response:
        body = await wire.json_body(request)
        voucher = sandbox.ledger.vouchers.get(str(body.get("voucherId") or ""))
        if voucher is None:
            raise wire.fail("凭证不存在！")
        return wire.ok(detail(voucher))

    def report(kind: str):
        async def handler(request: Request) -> Response:
            body = await wire.json_body(request)
            book = sandbox.books.by_id(str(body.get("accbook") or ""))
            if book is None:
                return wire.respond({"code": 0, "message": "accbook not exist!", "data": None})
            period = str(body.get("period") or "")
            if not sandbox.books.has_period(period):
                return wire.respond({"code": 0, "message": "period not exist!", "data": None})
            items = sandbox.ledger.report_items(book["id"], period, kind)
            return wire.respond(
                {
                    "code": "200",
                    "message": "",
                    "data": {"accCode": book["code"], "accName": book["name"], "items": items},
                }
            )

        return handler

    gateway("/yonbip/fi/rpt/balance")(report("balance"))
    gateway("/yonbip/fi/rpt/profit")(report("profit"))
