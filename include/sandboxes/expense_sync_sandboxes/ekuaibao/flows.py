"""合思 documents (单据): reimbursement claims, their states, the voucher write-back and outbound messages.

Paths, parameters and shapes follow docs/vendors/research.md §1.6 / §1.8 ([V] unless marked):

* ``GET /api/openapi/v1.1/docs/getApplyList?type=expense&start&count[&state=a,b][&active=true]
  [&orderBy=updateTime|createTime|submitDate|payDate&orderByType=asc|desc][&startDate&endDate]``
  → ``{"count": total, "items": [flow]}``; the window (``"yyyy-MM-dd HH:mm:ss"``, China time, both
  inclusive) applies to the ``orderBy`` field; ``state=PROCESSING`` finds nothing (ask ``paying``);
* ``GET /api/openapi/v1.1/flowDetails?flowId=`` (and ``/flowDetails/byCode?code=``) → ``{"value": flow}``;
  unknown → 412 "单据不存在" [I], deleted (``active`` false) → 412 "单据已删除";
* ``GET /api/openapi/v2/approveStates/[id1,id2]`` → ``{"items": [{flowId, stageName, operators,
  delegateData}]}``;
* ``PUT /api/openapi/v2.1/flow/data/erpVoucher`` ``{"voucher": [{flowId, voucherNo, voucherCreateTime,
  fiscalPeriod?}]}`` → ``{"value": true}``; a flow not ``paid`` → 400 "单据Id:[[…]]的单据不是已支付状态";
  unknown → 412 "不存在此单据[…]"; all or nothing.

Flow shape: ``{id, active, createTime, updateTime (epoch ms), corporationId, ownerId, state, flowType,
formType, logs[], form{code, title, submitterId, expenseDepartment, submitDate, expenseDate, payDate,
voucherNo, voucherStatus, voucherCreateTime, expenseMoney, payMoney, details[{feeTypeId, feeType,
feeTypeForm{amount, feeDate, detailId, consumptionReasons, u_costCenter, u_project}}], u_oaInstanceId}}``;
money objects carry the amount as a string (``standard``), and the documented extras
(``pipeline``, ``version``, ``logs[].attributes``, ``printState``…: EKB flows/get-forms-details.md).
[I] the cost center and project are custom fields holding dimension-item ids, on each detail or
on the header ``form`` (``seed_claim(header_cost_center=, header_project=)``), and
``u_oaInstanceId`` names the OA approval that mirrors the flow (DingTalk process instance / WeCom
sp_no).

Control mutations (what people do in 合思, and its tenant settings): ``seed_claim`` (staff_code,
lines[{fee_type_code, amount, cost_center, project?, reason?, invoices?: [invoice id],
deductible_tax?: {invoice id: 可抵扣税额}}], title, expense_date, state,
oa_instance) files a claim for a staff with fee types and dimension items the tenant holds;
``claim_action`` (code, action: submit | approve | pay | reject | archive | nullify) moves it (a
申请单 too: approved is ``paid`` for it, ``ebot.py``);
``edit_claim_amount`` (code, line, amount); ``corrupt_claim`` (code, path, value | remove) sets or
removes one field of a flow (a dotted path, list indices as numbers), as a faulty tenant would serve
it (the flow's ``updateTime`` moves, unless it is the field corrupted: a garbage ``updateTime`` is
served as set, and the document list windows and sorts it as changed now); ``configure_outbound``
(url, sign_key) sets the outbound message (出站消息) that each state change then POSTs as plain
JSON without any signature or key, as 合思 does (``flowId, nodeId, state, action, actionName,
code``: the documented notification fields plus the admin-selected 单据编号; the sign key is only
kept, as 合思 keeps it for the receiver's E-Bot callback, ``ebot.py``);
``resend_outbound`` (code) delivers the last message of a flow again (合思's retry).
"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

import requests
from fastapi import Request
from fastapi.responses import Response

from expense_sync_sandboxes.core import json_response
from expense_sync_sandboxes.ekuaibao import EkuaibaoSandbox, error, id_list, page

CHINA = dt.timezone(dt.timedelta(hours=8))
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
OUTBOUND_SIGN_KEY = "ekb-sandbox-sign-key"
OUTBOUND_PATH_TOKEN = "ekb-sandbox-path-token-0001"  # the secret token tests put in the 调用Url
# 通知类出站消息类别 -> its name (EKB outbound-message/outbound-new.md, "通知类出站消息类别");
# flow.archived and flow.nullify are the sandbox's own (no documented notification)
ACTION_NAMES = {
    "backlog.approving": "待审批",
    "backlog.paying": "待支付",
    "flow.paid": "已支付/审批完成",
    "flow.rejected": "被驳回",
    "flow.archived": "已归档",
    "flow.nullify": "单据删除",
}
APPROVED = ("paying", "PROCESSING", "paid", "archived")
# action -> (states it may start from, new state, log action, outbound action)
ACTIONS = {
    "submit": (("draft", "rejected"), "approving", "freeflow.submit", "backlog.approving"),
    "approve": (("approving",), "paying", "freeflow.agree", "backlog.paying"),
    "pay": (("paying", "PROCESSING"), "paid", "freeflow.pay", "flow.paid"),
    "reject": (("approving", "paying"), "rejected", "freeflow.reject", "flow.rejected"),
    "archive": (("paid",), "archived", "freeflow.archive", "flow.archived"),
    "nullify": (("draft", "rejected", "approving"), "nullify", "freeflow.nullify", "flow.nullify"),
}
STAGES = {
    "draft": "尚未提交",
    "approving": "财务审批",
    "paying": "出纳支付",
    "paid": "完成",
    "archived": "完成",
    "rejected": "拒绝",
    "nullify": "已删除",
}
# the person who decides a document at a stage: state -> (staff id suffix, name, 工号) [I]
OPERATORS = {"approving": ("finance", "财务审批人", "F0001"), "paying": ("cashier", "出纳", "F0002")}
_serial = itertools.count(1)


def now_ms() -> int:
    return int(dt.datetime.now(CHINA).timestamp() * 1000)


def money(amount: Decimal) -> dict[str, Any]:
    return {
        "standard": f"{amount:.2f}",
        "standardUnit": "元",
        "standardScale": 2,
        "standardSymbol": "¥",
        "standardNumCode": "156",
        "standardStrCode": "CNY",
    }


def header_money(amount: Decimal) -> dict[str, Any]:
    """A money object of the document header: the documented example gives its ``standardScale``
    as a string ("2"), a line's amount as a number (EKB flows/get-forms-details.md)."""
    return {**money(amount), "standardScale": "2"}


def reset(ekb: EkuaibaoSandbox) -> None:
    ekb.flows: dict[str, dict[str, Any]] = {}
    ekb.outbound: dict[str, str] | None = None
    ekb.outbound_log: list[dict[str, Any]] = []
    ekb.write_backs: list[dict[str, Any]] = []


# -- reads ----------------------------------------------------------------------------------------
def _ms_of(text: str) -> int:
    try:
        return int(dt.datetime.strptime(text, TIME_FORMAT).replace(tzinfo=CHINA).timestamp() * 1000)
    except ValueError:
        raise error(400, f"日期格式错误: {text}") from None


def listed(ekb: EkuaibaoSandbox, request: Request) -> list[dict[str, Any]]:
    q = request.query_params
    flows = [f for f in ekb.flows.values() if f["formType"] == q.get("type", "expense")]
    if q.get("active") == "true":
        flows = [f for f in flows if f["active"]]
    if q.get("state"):
        states = set(q["state"].split(","))
        flows = [f for f in flows if f["state"] in states and f["state"] != "PROCESSING"]
    key = q.get("orderBy") or "createTime"
    if key not in ("createTime", "updateTime", "submitDate", "payDate"):
        raise error(400, f"不支持的排序字段: {key}")

    def value(flow: dict[str, Any]) -> int:
        try:
            return int(flow[key] if key in ("createTime", "updateTime") else flow["form"].get(key) or 0)
        except (TypeError, ValueError, OverflowError):
            return now_ms()  # a garbage time (corrupt_claim) is served as it is, for a document just changed

    if key == "payDate" and not q.get("startDate"):
        raise error(400, "按支付日期排序时需要指定时间范围")
    if q.get("startDate"):
        flows = [f for f in flows if value(f) >= _ms_of(q["startDate"])]
    if q.get("endDate"):
        flows = [f for f in flows if value(f) <= _ms_of(q["endDate"])]
    return sorted(flows, key=lambda f: (value(f), f["id"]), reverse=q.get("orderByType", "desc") != "asc")


def flow_by(ekb: EkuaibaoSandbox, *, flow_id: str | None = None, code: str | None = None) -> dict[str, Any]:
    flow = ekb.flows.get(flow_id or "") or next((f for f in ekb.flows.values() if f["form"].get("code") == code), None)
    if flow is None:
        raise error(412, "单据不存在")
    if not flow["active"]:
        raise error(412, "单据已删除")
    return flow


def add_routes(ekb: EkuaibaoSandbox) -> None:
    app = ekb.app

    @app.get("/api/openapi/v1.1/docs/getApplyList")
    async def apply_list(request: Request) -> Response:
        ekb.authed(request)
        return page(listed(ekb, request), request)

    @app.get("/api/openapi/v1.1/flowDetails")
    async def flow_details(request: Request) -> Response:
        ekb.authed(request)
        return json_response({"value": flow_by(ekb, flow_id=request.query_params.get("flowId"))})

    @app.get("/api/openapi/v1.1/flowDetails/byCode")
    async def flow_details_by_code(request: Request) -> Response:
        ekb.authed(request)
        return json_response({"value": flow_by(ekb, code=request.query_params.get("code"))})

    @app.get("/api/openapi/v2/approveStates/{refs}")
    async def approve_states(refs: str, request: Request) -> Response:
        ekb.authed(request)
        items = []
        for flow_id in id_list(refs):
            flow = ekb.flows.get(flow_id)
            stage = "已删除" if flow is None or not flow["active"] else STAGES.get(flow["state"], flow["state"])
            operators = []
            if flow is not None and flow["active"] and flow["id"] in ekb.ebot_waiting:  # at an E-Bot node (ebot.py)
                stage = ekb.ebot_waiting[flow["id"]]["node_name"]
            elif flow is not None and flow["active"] and flow["state"] in OPERATORS:  # a person's node [I]
                operators = [
                    {
                        "id": f"{ekb.corp_id}:{OPERATORS[flow['state']][0]}",
                        "name": OPERATORS[flow["state"]][1],
                        "code": OPERATORS[flow["state"]][2],
                    }
                ]
            items.append({"flowId": flow_id, "stageName": stage, "operators": operators, "delegateData": []})
        return json_response({"items": items})

    @app.put("/api/openapi/v2.1/flow/data/erpVoucher")
    async def erp_voucher(request: Request) -> Response:
        ekb.authed(request)
        raw = await request.body()
        body = await request.json() if raw else {}
        entries = body.get("voucher") or []
        if not isinstance(entries, list) or not entries:
            raise error(400, "voucher不能为空")
        unknown = [e.get("flowId") for e in entries if e.get("flowId") not in ekb.flows]
        if unknown:
            raise error(412, f"不存在此单据{unknown}")
        # open-platform-docs flows/voucher-write-back.md: "只允许单据为 paid 已支付/审批完成 状态回写"
        unpaid = [e["flowId"] for e in entries if ekb.flows[e["flowId"]]["state"] != "paid"]
        if unpaid:
            raise error(400, f"单据Id:[{unpaid}]的单据不是已支付状态，不能回写凭证信息")
        for entry in entries:
            form = ekb.flows[entry["flowId"]]["form"]
            number = str(entry.get("voucherNo") or "")
            form.update(
                voucherNo=number,
                voucherStatus="已生成" if number else "未生成",
                voucherCreateTime=int(entry.get("voucherCreateTime") or 0) if number else None,
            )
            if entry.get("fiscalPeriod"):
                form["fiscalPeriod"] = entry["fiscalPeriod"]
            ekb.write_backs.append(dict(entry))
        return json_response({"value": True})


# -- control-API mutations ------------------------------------------------------------------------
def _dimension_item(ekb: EkuaibaoSandbox, category_name: str, code: str) -> str:
    category = next(c["id"] for c in ekb.dimension_categories.values() if c["name"] == category_name)
    item = next(
        (i for i in ekb.dimension_items.values() if i["dimensionId"] == category and i["code"] == code and i["active"]),
        None,
    )
    if item is None:
        raise KeyError(f"合思 has no active {category_name} item {code}")
    return item["id"]


def _log(flow: dict[str, Any], action: str, operator: str) -> None:
    """One approval log entry, in the documented shape (EKB flows/get-forms-details.md, ``logs``)."""
    stamp = now_ms()
    node = f"FLOW:{abs(hash(flow['id'])) % 10**9}:{len(flow['logs']) + 1}"
    flow["logs"].append(
        {
            "action": action,
            "state": flow["state"],
            "operatorId": operator,
            "byDelegateId": None,
            "operatorDefaultDepartment": flow["ownerDefaultDepartment"],
            "nextOperatorId": "",
            "nextOperatorIds": [],
            "time": stamp,
            "attributes": {
                "nextId": node,
                "nodeId": "SUBMIT" if action == "freeflow.submit" else node,
                "comment": "",
                "isUrgent": False,
                "nextName": STAGES.get(flow["state"], ""),
                "urgentReason": None,
                "resubmitMethod": "FROM_START",
                "nextCounterSign": False,
                "sensitiveContent": None,
                "resubmitOperatorIds": [],
            },
            "modifyFlowLog": [
                {
                    "version": flow["version"],
                    "flowVersionedId": f"V{flow['id'][-8:]}{len(flow['logs']):02d}",
                    "operatorId": operator,
                    "operatorTime": stamp,
                    "operatorState": "CREATE" if not flow["logs"] else "UPDATE",
                    "editeReason": "",
                    "byDelegateId": None,
                }
            ],
            "attachments": [],
        }
    )


def _invoice_form(ekb: EkuaibaoSandbox, invoice_ids: list[str], deductible: dict[str, Any]) -> dict[str, Any]:
    """A line's bound invoices (EKB flows/get-forms-details.md ``invoiceForm``, type ``exist``, and
    ``invoice`` "1"); each ref's ``taxAmount`` (可抵扣税额) is ``deductible[id]``, else the invoice's
    deductible tax (its tax for a 专票, 0 otherwise)."""
    from expense_sync_sandboxes.ekuaibao import invoices

    refs = []
    for invoice_id in invoice_ids:
        if invoice_id not in ekb.invoice_kinds:
            raise KeyError(f"合思 has no invoice {invoice_id}")
        amount = deductible.get(invoice_id, invoices.deductible(ekb, invoice_id))
        refs.append(
            {
                "itemIds": invoices.item_ids(ekb, invoice_id),
                "invoiceId": invoice_id,
                # a number here, not a string as elsewhere: both documented examples show it so
                "taxAmount": {**money(Decimal(str(amount))), "standard": float(Decimal(str(amount)))},
            }
        )
    return {"invoiceForm": {"type": "exist", "invoices": refs, "invoiceConfirm": "true"}, "invoice": "1"}


def seed_claim(
    ekb: EkuaibaoSandbox,
    staff_code: str,
    lines: list[dict[str, Any]],
    title: str = "差旅报销",
    expense_date: str | None = None,
    state: str = "approving",
    oa_instance: str | None = None,
    header_cost_center: str | None = None,
    header_project: str | None = None,
    via_ebot: bool = False,
) -> dict[str, Any]:
    """A claim; cost center and project (dimension item codes) on each line (``cost_center``,
    ``project``), on the header (``header_cost_center``, ``header_project``: a form template with
    the fields on the document), or both. ``via_ebot`` (with ``state="approving"``): submitted to
    the E-Bot node (``ebot.submit_via_ebot``) instead of 财务审批."""
    staff = next((s for s in ekb.staffs.values() if s["code"] == staff_code), None)
    if staff is None:
        raise KeyError(f"合思 has no staff with code {staff_code}")
    day = dt.date.fromisoformat(expense_date) if expense_date else dt.date.today()
    day_ms = int(dt.datetime(day.year, day.month, day.day, 9, tzinfo=CHINA).timestamp() * 1000)
    details = []
    for n, line in enumerate(lines, 1):
        fee_type = next((f for f in ekb.fee_types.values() if f["code"] == line["fee_type_code"]), None)
        if fee_type is None:
            raise KeyError(f"no fee type with code {line['fee_type_code']}")
        form = {
            "amount": money(Decimal(str(line["amount"]))),
            "feeDate": day_ms,
            "detailId": f"DET{n:03d}",
            "consumptionReasons": line.get("reason") or title,
            "invoiceForm": {"type": "noWrite"},
            "attachments": [],
        }
        if line.get("invoices"):
            form.update(_invoice_form(ekb, line["invoices"], line.get("deductible_tax") or {}))
        if line.get("cost_center"):
            form["u_costCenter"] = _dimension_item(ekb, "成本中心", line["cost_center"])
        if line.get("project"):
            form["u_project"] = _dimension_item(ekb, "项目", line["project"])
        details.append(
            {
                "feeTypeId": fee_type["id"],
                "feeType": dict(fee_type),
                "specificationId": "spec:expense",
                "feeTypeForm": form,
            }
        )
    total = sum((Decimal(d["feeTypeForm"]["amount"]["standard"]) for d in details), Decimal("0"))
    serial = next(_serial)
    flow_id = f"{ekb.corp_id}:FLOW{serial:06d}{len(ekb.flows):04d}"
    code = f"B{day:%y}{len(ekb.flows) + 1:06d}"
    stamp = now_ms()
    flow = {
        "pipeline": 1,
        "grayver": "",
        "version": 1,
        "sourceCorporationId": None,
        "dataCorporationId": None,
        "invoiceRemind": False,
        "id": flow_id,
        "active": True,
        "createTime": stamp,
        "updateTime": stamp,
        "corporationId": ekb.corp_id,
        "ownerId": staff["id"],
        "ownerDefaultDepartment": staff["defaultDepartment"],
        "state": "draft",
        "flowType": "freeflow",
        "formType": "expense",
        "logs": [],
        "actions": {staff["id"]: ["freeflow.delete", "freeflow.edit", "freeflow.submit"]},
        "form": {
            "code": code,
            "title": title,
            "submitterId": staff["id"],
            "expenseDepartment": staff["defaultDepartment"],
            "specificationId": "spec:expense",
            "submitDate": None,
            "expenseDate": day_ms,
            "payDate": None,
            "flowEndTime": None,
            "voucherNo": "",
            "voucherStatus": "未生成",
            "voucherCreateTime": None,
            "expenseMoney": header_money(total),
            "payMoney": header_money(total),
            "companyRealPay": header_money(total),
            "writtenOffMoney": header_money(Decimal("0")),
            "payeeId": f"PAYEE{staff['id'][-6:]}",
            "printCount": "0",
            "printState": "noPrint",
            "description": "",
            "writtenOffRecords": [],
            "details": details,
            **({"u_oaInstanceId": oa_instance} if oa_instance else {}),
            **({"u_costCenter": _dimension_item(ekb, "成本中心", header_cost_center)} if header_cost_center else {}),
            **({"u_project": _dimension_item(ekb, "项目", header_project)} if header_project else {}),
        },
    }
    ekb.flows[flow_id] = flow
    for detail in details:
        for ref in detail["feeTypeForm"]["invoiceForm"].get("invoices") or []:
            ekb.invoice_flow[ref["invoiceId"]] = flow_id
    path = {"draft": [], "approving": ["submit"], "paying": ["submit", "approve"]}
    path["paid"] = [*path["paying"], "pay"]
    if state not in path:
        raise ValueError(f"a claim is seeded as draft, approving, paying or paid, not {state!r}")
    if via_ebot:
        if state != "approving":
            raise ValueError("a claim is seeded at the E-Bot node with state='approving'")
        from expense_sync_sandboxes.ekuaibao import ebot

        ebot.submit_via_ebot(ekb, code)
        return flow
    for action in path[state]:
        claim_action(ekb, code, action)
    return flow


def claim_action(ekb: EkuaibaoSandbox, code: str, action: str) -> dict[str, Any]:
    if action not in ACTIONS:
        raise ValueError(f"unknown claim action {action!r}; known: {', '.join(ACTIONS)}")
    flow = next((f for f in ekb.flows.values() if f["form"].get("code") == code), None)
    if flow is None:
        raise KeyError(f"no claim {code}")
    allowed, new_state, log_action, outbound_action = ACTIONS[action]
    if action == "approve" and flow["formType"] == "requisition":  # a 申请单 is not paid: approved is done
        new_state, outbound_action = "paid", "flow.paid"
    if flow["state"] not in allowed:
        raise ValueError(f"claim {code} is {flow['state']}: cannot {action}")
    stamp = now_ms()
    flow["state"] = new_state
    flow["updateTime"] = stamp
    ekb.ebot_waiting.pop(flow["id"], None)  # a person acted in 合思: the document left the E-Bot node
    if action == "submit":
        flow["form"]["submitDate"] = stamp
    if action == "pay":  # "支付完成的单据才有此字段" (EKB flows/get-forms-details.md)
        flow["form"]["payDate"] = stamp
        flow["form"]["flowEndTime"] = stamp
        flow["form"]["paymentChannel"] = "OFFLINE"
        flow["form"]["paymentAccountId"] = f"{ekb.corp_id}:ACCOUNT01"
    if action == "nullify":
        flow["active"] = False
    _log(flow, log_action, flow["ownerId"] if action == "submit" else f"{ekb.corp_id}:finance")
    _notify(ekb, flow, outbound_action)
    return flow


def edit_claim_amount(ekb: EkuaibaoSandbox, code: str, line: int, amount: str) -> dict[str, Any]:
    flow = next((f for f in ekb.flows.values() if f["form"].get("code") == code), None)
    if flow is None:
        raise KeyError(f"no claim {code}")
    details = flow["form"]["details"]
    details[line - 1]["feeTypeForm"]["amount"] = money(Decimal(str(amount)))
    total = sum((Decimal(d["feeTypeForm"]["amount"]["standard"]) for d in details), Decimal("0"))
    for key in ("expenseMoney", "payMoney", "companyRealPay"):
        flow["form"][key] = header_money(total)
    flow["updateTime"] = now_ms()
    return flow


def corrupt_claim(
    ekb: EkuaibaoSandbox, code: str, path: str, value: Any = None, remove: bool = False
) -> dict[str, Any]:
    flow = next((f for f in ekb.flows.values() if f["form"].get("code") == code), None)
    if flow is None:
        raise KeyError(f"no claim {code}")
    *parents, last = path.split(".")
    node: Any = flow
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    key: Any = int(last) if isinstance(node, list) else last
    if remove:
        del node[key]
    else:
        node[key] = value
    if path != "updateTime":  # a corrupted update time is served as it was set
        flow["updateTime"] = now_ms()
    return flow


def configure_outbound(ekb: EkuaibaoSandbox, url: str | None, sign_key: str = OUTBOUND_SIGN_KEY) -> dict[str, Any]:
    ekb.outbound = {"url": url, "sign_key": sign_key} if url else None
    ekb.sign_key = sign_key  # what the E-Bot callback must send (ebot.py)
    return {"configured": bool(url)}


def _notify(ekb: EkuaibaoSandbox, flow: dict[str, Any], action: str) -> None:
    node = f"FLOW:{abs(hash(flow['id'])) % 10**9}:{len(flow['logs'])}"
    message = {
        "flowId": flow["id"],
        "nodeId": node,
        "state": flow["state"],
        "action": action,
        "actionName": ACTION_NAMES[action],
        "code": flow["form"]["code"],
    }
    flow["lastMessage"] = message
    _deliver(ekb, message)


def _deliver(ekb: EkuaibaoSandbox, message: dict[str, Any]) -> None:
    if not ekb.outbound:
        return
    try:
        response = requests.post(ekb.outbound["url"], json=message, timeout=10)
        state = "SUCCESS" if response.status_code in (200, 201, 204) else "FAILURE"
        answer = response.text[:200]
    except requests.RequestException as err:
        state, answer = "FAILURE", str(err)[:200]
    ekb.outbound_log.append({"flowId": message.get("flowId"), "request": message, "response": answer, "state": state})


def resend_outbound(ekb: EkuaibaoSandbox, code: str) -> int:
    flow = next((f for f in ekb.flows.values() if f["form"].get("code") == code), None)
    if flow is None or "lastMessage" not in flow:
        raise KeyError(f"no message was sent for claim {code}")
    _deliver(ekb, flow["lastMessage"])
    return len(ekb.outbound_log)


MUTATIONS = {
    "seed_claim": seed_claim,
    "claim_action": claim_action,
    "edit_claim_amount": edit_claim_amount,
    "corrupt_claim": corrupt_claim,
    "configure_outbound": configure_outbound,
    "resend_outbound": resend_outbound,
}


def dump(ekb: EkuaibaoSandbox) -> dict[str, Any]:
    return {"flows": list(ekb.flows.values()), "writeBacks": ekb.write_backs, "outboundLog": ekb.outbound_log}
