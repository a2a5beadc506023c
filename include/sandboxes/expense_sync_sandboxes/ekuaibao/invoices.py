"""合思 invoices (发票): the invoices bound to claims, and their entities (发票主体 and the other tickets).

Paths, parameters and shapes follow ekuaibao/open-platform-docs (EKB ``datalink-extend/...``), [V]
unless marked [I]:

* ``POST /api/openapi/v2/extension/flow/INVOICE/search`` ``{"type": "id"|"code", "codeOrIds": [...]}``
  → ``{"value": {flowIdOrCode: [{invoiceId, invoiceItemId, invoiceType}]}}``; flows not found are
  left out (``{"value": {}}``); another ``type`` → 400 "不支持此类型type=…" (get-flow-invoice.md);
* ``POST /api/openapi/v2/extension/INVOICE/object/{objectId}/search`` ``{"ids"} | {"codes"} |
  {"index", "count"}`` (in that priority) → ``{"count", "items"}``; ``count`` is the number of
  entities found for ids/codes, the total for index/count; ids nobody knows are left out (not an
  error); an unknown objectId → 400 "不支持的业务对象「…」"; no parameter → 400 "查询参数不能为空!!!";
  ``count`` > 100 → 400 (the docs: "最大不能超过 100"; the answer's text [I]); more than 100 ids or
  codes → the same 400 [I] (the docs give no limit for them);
* ids: ``<corp>:<发票代码>:<发票号码>`` for 发票主体, ``<corp>::<20-digit number>`` for 全电/数电
  (FULL_DIGITAl_*, no 发票代码: get-entity-invoice-img.md); the other tickets have plain ids
  (``ID01…``, get-entity-invoice.md tabs);
* ``POST /api/openapi/v2/extension/INVOICE/object/invoice/detailBatch`` ``{"invoiceIds": [...]}`` →
  ``{"items": [发票明细 row]}``, each row naming its invoice (``masterId``); none found → ``{"items": []}``
  (get-entity-invoic-details-batch.md); no ``invoiceIds`` → 400 [I];
* an entity bound to a claim is ``active: false`` and carries ``flowId`` and ``flowForm`` (the
  claim's header, without its details); [I] an unbound one is ``active: true`` with ``flowId`` null
  and no ``flowForm``.

Control mutations: ``seed_invoice(object_id, **fields)`` → invoice id (:func:`seed_invoice`);
``edit_invoice(invoice_id, fields)`` sets entity fields as 合思 would serve them; ``delete_invoice``
(invoice_id) drops the entity (the claim still names it: 合思 then answers without it). Claims
bind invoices through ``seed_claim`` lines (``"invoices": [id, ...]``, :mod:`.flows`)."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from expense_sync_sandboxes.core import json_response
from expense_sync_sandboxes.ekuaibao import MAX_COUNT, EkuaibaoSandbox, error
from expense_sync_sandboxes.ekuaibao.invoice_shapes import (
    CHINA,
    OBJECTS,
    business_object,
    flight,
    money,
    ticket,
    train,
    vat,
)


def reset(ekb: EkuaibaoSandbox) -> None:
    ekb.invoices: dict[str, dict[str, Any]] = {}  # invoice id -> the entity (item) as served
    ekb.invoice_kinds: dict[str, str] = {}  # invoice id -> objectId (kept when the entity is deleted)
    ekb.invoice_items: dict[str, dict[str, Any]] = {}  # 发票明细 id -> its row
    ekb.invoice_flow: dict[str, str] = {}  # invoice id -> the flow it is bound to


SEEDED = ("invoice", "train", "flightItinerary", "passengerCar", "taxi", "fixed", "other")


def seed_invoice(ekb: EkuaibaoSandbox, object_id: str, **fields: Any) -> str:
    """An invoice or ticket in 合思's invoice store; returns its id (the id claims bind it by).

    ``invoice``: category, code (None for FULL_DIGITAl_*), number, date, net, tax, total (net+tax),
    rate (on its 发票明细 row), seller_name, seller_tax_id, buyer_name, buyer_tax_id, verified;
    ``train``: number, date, amount, passenger; ``flightItinerary``: number, date, fare, fuel,
    caac_fund (0), insurance (0), amount (their sum), passenger; ``passengerCar``, ``taxi``,
    ``fixed``, ``other``: number, date, amount, code (taxi, passengerCar, fixed)."""
    if object_id not in SEEDED:
        raise ValueError(f"the sandbox seeds {', '.join(SEEDED)}, not {object_id!r}")
    digest = hashlib.sha1(f"{object_id}:{sorted(fields.items())}:{len(ekb.invoice_kinds)}".encode()).hexdigest()
    source = f"ID01{digest[:10]}"
    if object_id == "invoice":
        invoice_id, form, item = vat(ekb.corp_id, fields, source)
        ekb.invoice_items[item["id"]] = item
    else:
        invoice_id = f"ID01{digest[10:20]}"
        builders = {"train": train, "flightItinerary": flight}
        form = builders[object_id](fields, source) if object_id in builders else ticket(object_id, fields, source)
    if invoice_id in ekb.invoices:  # a deleted one may come back (uploaded again)
        raise ValueError(f"合思 already has invoice {invoice_id}")
    stamp = int(dt.datetime.now(CHINA).timestamp() * 1000)
    ekb.invoices[invoice_id] = {
        "id": invoice_id,
        "masterId": None,
        "topDate": 0,
        "useCount": 0,
        "totalCount": 1,
        "ownerId": None,
        "visibility": {
            "fullVisible": True,
            "departmentsIncludeChildren": True,
            "staff": [],
            "department": [],
            "role": [],
        },
        **form,
        "active": True,
        "updateTime": stamp,
        "createTime": stamp,
        "entityId": OBJECTS[object_id][0],
        "entity": business_object(object_id, form),
        "ledgers": [],
        "plans": [],
    }
    ekb.invoice_kinds[invoice_id] = object_id
    return invoice_id


def item_ids(ekb: EkuaibaoSandbox, invoice_id: str) -> list[str]:
    return [i for i, row in ekb.invoice_items.items() if row["masterId"] == invoice_id]


def deductible(ekb: EkuaibaoSandbox, invoice_id: str) -> Decimal:
    entity = ekb.invoices.get(invoice_id) or {}
    return Decimal((entity.get("E_税额") or {}).get("standard") or "0")


def edit_invoice(ekb: EkuaibaoSandbox, invoice_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    entity = ekb.invoices[invoice_id]
    entity.update(fields)
    entity["updateTime"] = int(dt.datetime.now(CHINA).timestamp() * 1000)
    return entity


def delete_invoice(ekb: EkuaibaoSandbox, invoice_id: str) -> bool:
    """合思 no longer has the invoice (nor its 发票明细 rows); claims still name it."""
    for item_id in item_ids(ekb, invoice_id):
        del ekb.invoice_items[item_id]
    return ekb.invoices.pop(invoice_id, None) is not None


MUTATIONS = {"seed_invoice": seed_invoice, "edit_invoice": edit_invoice, "delete_invoice": delete_invoice}


# -- reads ----------------------------------------------------------------------------------------
FLOW_FORM_EXTRAS = {
    "rejectionNum": "0",
    "reviewStatus": "ALL",
    "onlyOwnerPrint": False,
    "preApprovedNodeName": "提交人",
    "ownerAndApproverPrintNodeFlag": False,
}


def served(ekb: EkuaibaoSandbox, entity: dict[str, Any]) -> dict[str, Any]:
    """The entity as the search answers it: bound to its claim (``flowId``, ``flowForm``) or not."""
    flow = ekb.flows.get(ekb.invoice_flow.get(entity["id"], ""))
    if flow is None:
        return {**entity, "flowId": None}
    form = {k: v for k, v in flow["form"].items() if k not in ("details", "writtenOffRecords")}
    for key in ("expenseMoney", "payMoney", "companyRealPay", "writtenOffMoney"):
        if isinstance(form.get(key), dict):
            form[key] = money(form[key]["standard"])
    form.update(FLOW_FORM_EXTRAS, state=flow["state"], voucherCreateTime=form.get("voucherCreateTime") or 0)
    form["preNodeApprovedTime"] = flow["updateTime"]
    return {**entity, "active": False, "flowForm": form, "flowId": flow["id"]}


def served_row(ekb: EkuaibaoSandbox, row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "active": row["masterId"] not in ekb.invoice_flow}


def refs_of(ekb: EkuaibaoSandbox, flow: dict[str, Any]) -> list[dict[str, Any]]:
    refs = []
    for detail in flow["form"]["details"]:
        invoice_form = detail["feeTypeForm"].get("invoiceForm") or {}
        for ref in invoice_form.get("invoices") or [] if invoice_form.get("type") == "exist" else []:
            refs.append(
                {
                    "invoiceId": ref["invoiceId"],
                    "invoiceItemId": list(ref.get("itemIds") or []),
                    "invoiceType": ekb.invoice_kinds.get(ref["invoiceId"], "invoice"),
                }
            )
    return refs


def add_routes(ekb: EkuaibaoSandbox) -> None:
    app = ekb.app

    @app.post("/api/openapi/v2/extension/flow/INVOICE/search")
    async def flow_invoices(request: Request) -> Response:
        ekb.authed(request)
        raw = await request.body()
        body = await request.json() if raw else {}
        kind = body.get("type")
        if kind not in ("id", "code"):
            raise error(400, f"不支持此类型type={kind}")
        value = {}
        for ref in body.get("codeOrIds") or []:
            flow = (
                ekb.flows.get(ref)
                if kind == "id"
                else next((f for f in ekb.flows.values() if f["form"].get("code") == ref), None)
            )
            if flow is not None:
                value[ref] = refs_of(ekb, flow)
        return json_response({"value": value})

    @app.post("/api/openapi/v2/extension/INVOICE/object/invoice/detailBatch")
    async def invoice_details(request: Request) -> Response:
        ekb.authed(request)
        raw = await request.body()
        body = await request.json() if raw else {}
        wanted = body.get("invoiceIds")
        if not isinstance(wanted, list) or any(not isinstance(i, str) for i in wanted):
            raise error(400, "invoiceIds不能为空")
        rows = [
            served_row(ekb, r) for i in dict.fromkeys(wanted) for r in ekb.invoice_items.values() if r["masterId"] == i
        ]
        return json_response({"items": rows})

    @app.post("/api/openapi/v2/extension/INVOICE/object/{object_id}/search")
    async def invoice_objects(object_id: str, request: Request) -> Response:
        ekb.authed(request)
        if object_id not in OBJECTS:
            raise error(400, f"不支持的业务对象「{object_id}」")
        raw = await request.body()
        body = await request.json() if raw else {}
        mine = [e for i, e in ekb.invoices.items() if ekb.invoice_kinds[i] == object_id]
        ids, codes = body.get("ids"), body.get("codes")
        if ids or codes:
            wanted = ids or codes
            if any(w is None for w in wanted):
                raise error(400, "查询参数不能为空!!!")
            if len(wanted) > MAX_COUNT:
                raise error(400, f"查询数量不能超过{MAX_COUNT}")
            if ids:
                known = {e["id"]: e for e in mine}
                found = [known[i] for i in dict.fromkeys(ids) if i in known]
            else:
                by_code = {e["id"].split(":", 1)[1]: e for e in mine if e["id"].count(":") >= 2}
                found = [by_code[c] for c in dict.fromkeys(codes) if c in by_code]
            return json_response({"count": len(found), "items": [served(ekb, e) for e in found]})
        index, count = body.get("index"), body.get("count")
        if not isinstance(index, int) or not isinstance(count, int) or index < 1 or count < 1:
            raise error(400, "查询参数不能为空!!!")
        if count > MAX_COUNT:
            raise error(400, f"查询数量不能超过{MAX_COUNT}")
        return json_response(
            {"count": len(mine), "items": [served(ekb, e) for e in mine[index - 1 : index - 1 + count]]}
        )
