"""合思 applications (申请单) and the E-Bot node that hands a document's approval to an outside service.

Follows docs/vendors/ekuaibao.md, "E-Bot approvals" ([V] unless marked):

* a 申请单 is a flow of ``formType`` ``requisition`` (EKB flows/get-forms-details.md, 申请单 tab):
  ``form{code "S…", title, submitterId, expenseDepartment, submitDate, requisitionDate,
  requisitionMoney, description, voucherNo, voucherStatus, u_行程规划[…]}``, no payment: approved is
  ``paid`` (已支付/审批完成); [I] a requisition seeded with lines carries them as ``details`` like a
  claim's, and its cost center / project as ``u_costCenter`` / ``u_project``;
* an E-Bot node: a document submitted ``via_ebot`` stops there (``approving``; ``approveStates`` names
  the node as its stage; its last log's ``nextOperatorId`` is ``"ebot"`` and ``attributes.nextId`` /
  ``nextName`` the node's id and name), and the node's outbound message is POSTed to the configured
  URL: ``{flowId, nodeId, state, code}`` with no ``action`` (通知类 fields only: "流程中没有");
  [I] the node id is ``FLOW:<n>:<m>``, a new one for each arrival at the node;
* ``POST /api/outbound/v1/approval?accessToken=`` ``{signKey, flowId, nodeId, action: accept|refuse,
  comment, rejectTo?, resubmitMethod?}`` → HTTP 200 ``{"value": {"code": "204", "message":
  "EBot执行完成"}}``; the refusals are HTTP 200 with the code inside ([I] in the same ``value``
  wrapper): ``400`` 请求参数错误, ``401`` 签名秘钥错误, ``412`` "当前的审批节点不为:<nodeId>，请检查" (the
  document is not at that node: decided already, or never there); [I] an unknown flow → HTTP 412
  "单据不存在" as ``flowDetails`` answers. Accept moves a requisition to ``paid`` (message
  ``flow.paid``) and a claim on to ``paying`` (出纳支付, ``backlog.paying``); refuse → ``rejected``
  (``flow.rejected``).

Control mutations: ``seed_application`` (staff_code, amount or lines[{fee_type_code, amount,
cost_center?, project?}], title, requisition_date, trip{from, to, date}?, state: draft | approving |
paid, via_ebot, node_name, header_cost_center, header_project); ``submit_via_ebot`` (code,
node_name="OA审批") submits a draft or rejected document (either kind) to the E-Bot node; a claim
is seeded there by ``seed_claim(state="approving", via_ebot=True)``. The E-Bot callbacks received are
in the state dump (``ebotCalls``, without the key).

``POST /api/openapi/v2.2/flow/data/comment/$flowId?staffId=`` (评论单据) adds a ``freeflow.comment``
entry to the document's log; an empty or unknown ``staffId`` is refused (400, the documented texts).
"""

from __future__ import annotations

import datetime as dt
import zlib
from decimal import Decimal
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from expense_sync_sandboxes.core import json_response
from expense_sync_sandboxes.ekuaibao import EkuaibaoSandbox, error
from expense_sync_sandboxes.ekuaibao import flows as fl

NODE_NAME = "OA审批"
TRIP_TEMPLATE = "89330ae5c7fee240b000"  # the 行程规划 business object of the documented example
SUBMITTABLE = ("draft", "rejected")


def reset(ekb: EkuaibaoSandbox) -> None:
    ekb.sign_key = fl.OUTBOUND_SIGN_KEY
    ekb.ebot_waiting: dict[str, dict[str, str]] = {}  # flow id -> the node it waits at
    ekb.ebot_calls: list[dict[str, Any]] = []


def _answer(code: str, message: str) -> Response:
    return json_response({"value": {"code": code, "message": message}})


def add_routes(ekb: EkuaibaoSandbox) -> None:
    @ekb.app.post("/api/outbound/v1/approval")
    async def ebot_approval(request: Request) -> Response:
        ekb.authed(request)
        raw = await request.body()
        try:
            body = await request.json() if raw else {}
        except ValueError:
            return _answer("400", "请求参数错误")
        required = ("signKey", "flowId", "nodeId", "action")
        if (
            not isinstance(body, dict)
            or any(not isinstance(body.get(k), str) or not body[k] for k in required)
            or not isinstance(body.get("comment"), str)
            or body["action"] not in ("accept", "refuse")
        ):
            return _answer("400", "请求参数错误")
        if body["signKey"] != ekb.sign_key:
            return _answer("401", "签名秘钥错误")
        flow = fl.flow_by(ekb, flow_id=body["flowId"])
        node = ekb.ebot_waiting.get(flow["id"])
        if flow["state"] != "approving" or node is None or node["node_id"] != body["nodeId"]:
            return _answer("412", f"当前的审批节点不为:{body['nodeId']}，请检查")
        decide(ekb, flow, body["action"], body["comment"], body.get("resubmitMethod"))
        ekb.ebot_calls.append({k: v for k, v in body.items() if k != "signKey"})
        return _answer("204", "EBot执行完成")

    @ekb.app.post("/api/openapi/v2.2/flow/data/comment/{flow_id}")
    async def flow_comment(flow_id: str, request: Request) -> Response:
        """评论单据 (flows/flow-comment.md): ``?staffId=`` comments ``params.comment`` (``name`` is
        ``freeflow.comment``); answers ``{"id": "评论成功"}``; the documented 400s for the staff."""
        ekb.authed(request)
        staff_id = request.query_params.get("staffId") or ""
        if not staff_id:
            raise error(400, "staffId不能为空!!!")
        if staff_id not in ekb.staffs:
            raise error(400, "staffId不存在")
        body = await request.json()
        params = body.get("params") if isinstance(body, dict) else None
        if body.get("name") != "freeflow.comment" or not isinstance(params, dict) or not params.get("comment"):
            raise error(400, "请求参数错误")
        flow = fl.flow_by(ekb, flow_id=flow_id.lstrip("$"))
        fl._log(flow, "freeflow.comment", staff_id)
        flow["logs"][-1]["attributes"]["comment"] = str(params["comment"])
        return json_response({"id": "评论成功"})


def decide(ekb: EkuaibaoSandbox, flow: dict[str, Any], action: str, comment: str, resubmit: str | None) -> None:
    del ekb.ebot_waiting[flow["id"]]
    stamp = fl.now_ms()
    if action == "refuse":
        state, log_action, message = "rejected", "freeflow.reject", "flow.rejected"
    elif flow["formType"] == "requisition":
        state, log_action, message = "paid", "freeflow.agree", "flow.paid"
        flow["form"]["flowEndTime"] = stamp
    else:
        state, log_action, message = "paying", "freeflow.agree", "backlog.paying"
    flow["state"] = state
    flow["updateTime"] = stamp
    fl._log(flow, log_action, "ebot")
    flow["logs"][-1]["attributes"]["comment"] = comment
    if resubmit:
        flow["logs"][-1]["attributes"]["resubmitMethod"] = resubmit
    fl._notify(ekb, flow, message)


def _by_code(ekb: EkuaibaoSandbox, code: str) -> dict[str, Any]:
    flow = next((f for f in ekb.flows.values() if f["form"].get("code") == code), None)
    if flow is None:
        raise KeyError(f"no document {code}")
    return flow


def submit_via_ebot(ekb: EkuaibaoSandbox, code: str, node_name: str = NODE_NAME) -> dict[str, Any]:
    """Submit a draft or rejected document (either kind); it stops at the E-Bot node ``node_name``,
    whose outbound message is posted."""
    flow = _by_code(ekb, code)
    if flow["state"] not in SUBMITTABLE:
        raise ValueError(f"document {code} is {flow['state']}: cannot submit")
    stamp = fl.now_ms()
    flow["state"] = "approving"
    flow["updateTime"] = stamp
    flow["form"]["submitDate"] = stamp
    visit = sum(1 for entry in flow["logs"] if entry["action"] == "freeflow.submit") + 1
    node_id = f"FLOW:{zlib.crc32(flow['id'].encode()) % 10**9}:{zlib.crc32(f'{node_name}/{visit}'.encode()) % 10**9}"
    fl._log(flow, "freeflow.submit", flow["ownerId"])
    entry = flow["logs"][-1]
    entry["nextOperatorId"] = "ebot"
    entry["attributes"].update(nextId=node_id, nextName=node_name)
    ekb.ebot_waiting[flow["id"]] = {"node_id": node_id, "node_name": node_name}
    message = {"flowId": flow["id"], "nodeId": node_id, "state": "approving", "code": flow["form"]["code"]}
    flow["lastMessage"] = message
    fl._deliver(ekb, message)
    return flow


def seed_application(
    ekb: EkuaibaoSandbox,
    staff_code: str,
    amount: str | None = None,
    lines: list[dict[str, Any]] | None = None,
    title: str = "差旅申请",
    requisition_date: str | None = None,
    trip: dict[str, str] | None = None,
    state: str = "approving",
    via_ebot: bool = False,
    node_name: str = NODE_NAME,
    header_cost_center: str | None = None,
    header_project: str | None = None,
) -> dict[str, Any]:
    """A 申请单 of a staff for ``amount`` (or the sum of ``lines``, each with a fee type and cost
    center like a claim's), seeded as ``draft``, ``approving`` (at the E-Bot node when ``via_ebot``,
    else at 财务审批) or ``paid`` (approved)."""
    staff = next((s for s in ekb.staffs.values() if s["code"] == staff_code), None)
    if staff is None:
        raise KeyError(f"合思 has no staff with code {staff_code}")
    if state not in ("draft", "approving", "paid"):
        raise ValueError(f"an application is seeded as draft, approving or paid, not {state!r}")
    day = dt.date.fromisoformat(requisition_date) if requisition_date else dt.date.today()
    day_ms = int(dt.datetime(day.year, day.month, day.day, tzinfo=fl.CHINA).timestamp() * 1000)
    details = []
    for n, line in enumerate(lines or [], 1):
        fee_type = next((f for f in ekb.fee_types.values() if f["code"] == line["fee_type_code"]), None)
        if fee_type is None:
            raise KeyError(f"no fee type with code {line['fee_type_code']}")
        form = {"amount": fl.money(Decimal(str(line["amount"]))), "detailId": f"DET{n:03d}"}
        if line.get("cost_center"):
            form["u_costCenter"] = fl._dimension_item(ekb, "成本中心", line["cost_center"])
        if line.get("project"):
            form["u_project"] = fl._dimension_item(ekb, "项目", line["project"])
        details.append({"feeTypeId": fee_type["id"], "feeType": dict(fee_type), "feeTypeForm": form})
    if amount is None and not details:
        raise ValueError("an application needs an amount or lines")
    total = (
        Decimal(str(amount))
        if amount is not None
        else sum((Decimal(d["feeTypeForm"]["amount"]["standard"]) for d in details), Decimal("0"))
    )
    serial = next(fl._serial)
    flow_id = f"{ekb.corp_id}:FLOW{serial:06d}{len(ekb.flows):04d}"
    stamp = fl.now_ms()
    form: dict[str, Any] = {
        "code": f"S{day:%y}{len(ekb.flows) + 1:06d}",
        "title": title,
        "voucherNo": "",
        "printCount": "0",
        "printState": "noPrint",
        "submitDate": None,
        "description": title,
        "submitterId": staff["id"],
        "voucherStatus": "未生成",
        "requisitionDate": day_ms,
        "specificationId": "spec:requisition",
        "requisitionMoney": fl.money(total),
        "expenseDepartment": staff["defaultDepartment"],
        "voucherCreateTime": 0,
    }
    if trip:
        when = dt.date.fromisoformat(trip.get("date") or day.isoformat())
        form["u_行程规划"] = [
            {
                "dataLinkId": None,
                "dataLinkForm": {
                    f"E_{TRIP_TEMPLATE}_name": f"{trip.get('from', '')} - {trip.get('to', '')}",
                    f"E_{TRIP_TEMPLATE}_出发地": f'[{{"key":"1","label":"{trip.get("from", "")}"}}]',
                    f"E_{TRIP_TEMPLATE}_目的地": f'[{{"key":"2","label":"{trip.get("to", "")}"}}]',
                    f"E_{TRIP_TEMPLATE}_行程日期": int(
                        dt.datetime(when.year, when.month, when.day, tzinfo=fl.CHINA).timestamp() * 1000
                    ),
                },
                "dataLinkTemplateId": "spec:trip",
            }
        ]
    if details:
        form["details"] = details
    if header_cost_center:
        form["u_costCenter"] = fl._dimension_item(ekb, "成本中心", header_cost_center)
    if header_project:
        form["u_project"] = fl._dimension_item(ekb, "项目", header_project)
    flow = {
        "pipeline": 1,
        "grayver": "",
        "version": 1,
        "active": True,
        "createTime": stamp,
        "updateTime": stamp,
        "corporationId": ekb.corp_id,
        "sourceCorporationId": None,
        "dataCorporationId": None,
        "form": form,
        "ownerId": staff["id"],
        "ownerDefaultDepartment": staff["defaultDepartment"],
        "state": "draft",
        "flowType": "freeflow",
        "formType": "requisition",
        "logs": [],
        "actions": {},
        "invoiceRemind": False,
        "id": flow_id,
    }
    ekb.flows[flow_id] = flow
    if state == "draft":
        return flow
    if via_ebot:
        submit_via_ebot(ekb, form["code"], node_name)
        if state == "paid":
            decide(ekb, flow, "accept", "同意", None)
        return flow
    fl.claim_action(ekb, form["code"], "submit")
    if state == "paid":
        fl.claim_action(ekb, form["code"], "approve")
    return flow


MUTATIONS = {"seed_application": seed_application, "submit_via_ebot": submit_via_ebot}


def dump(ekb: EkuaibaoSandbox) -> dict[str, Any]:
    return {"ebotCalls": ekb.ebot_calls, "ebotWaiting": ekb.ebot_waiting}
