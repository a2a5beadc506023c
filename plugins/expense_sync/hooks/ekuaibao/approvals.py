"""合思 E-Bot approvals: the documents (申请单 and 报销单) waiting at the E-Bot node that hands their
approval to us, and the E-Bot callback that decides them (``approvals.contract.ExpenseApprovals``).

A document waits at the node when it is ``approving`` and ``approveStates`` names the node as its
stage; the node's id (which the callback wants) is the ``nextId`` of the document's last approval
log entry. Wire facts, and what stays inferred: ``docs/vendors/ekuaibao.md`` ("E-Bot approvals")."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal, InvalidOperation
from typing import Any

from expense_sync.approvals.contract import AlreadyDecidedError, Decision, DocumentKind, WaitingDocument
from expense_sync.hooks.ekuaibao.flows import FlowsApi
from expense_sync.hooks.errors import ConfigurationError, ContractError, VendorRequestError

log = logging.getLogger(__name__)

CHINA = dt.timezone(dt.timedelta(hours=8))
KINDS: tuple[DocumentKind, ...] = ("requisition", "expense")
MONEY_FIELD = {"requisition": "requisitionMoney", "expense": "expenseMoney"}
COST_CENTER_FIELD, PROJECT_FIELD = "u_costCenter", "u_project"  # as the claims read them (claims/parse.py)
DONE_CODE = "204"  # "EBot执行完成"
WRONG_KEY_CODE = "401"  # "签名秘钥错误": refused before anything is done
NOT_AT_NODE_TEXT = "当前的审批节点不为"  # code 412: the document is no longer at that node
CALLBACK = "/api/outbound/v1/approval"


class ApprovalsApi(FlowsApi):
    """Documents waiting at an E-Bot node, and the E-Bot callback."""

    def waiting_documents(self, node_name: str, since: str | None = None) -> list[WaitingDocument]:
        """Documents (both kinds) waiting at the E-Bot node ``node_name`` now, oldest change first; those
        changed since ``since`` (``"yyyy-MM-dd HH:mm:ss"``) when given. A document that cannot be read
        (no amount, no node id) is left out and logged: it stays waiting in 合思, where people see it."""
        flows: list[dict[str, Any]] = []
        for kind in KINDS:
            params: dict[str, Any] = {
                "type": kind,
                "state": "approving",
                "active": "true",
                "orderBy": "updateTime",
                "orderByType": "asc",
            }
            if since:
                params["startDate"] = since
            flows.extend(flow for page in self._list("/api/openapi/v1.1/docs/getApplyList", params) for flow in page)
        stages = self.approve_states([str(flow.get("id")) for flow in flows]) if flows else {}
        found = []
        for flow in flows:
            if stages.get(str(flow.get("id"))) != node_name:
                continue
            try:
                found.append(waiting(flow, node_name))
            except ContractError as err:
                log.warning("合思 document %s waits at %s but cannot be read: %s", flow.get("id"), node_name, err)
                self.count("unreadable_waiting_documents")
        return found

    def waiting_document(self, flow_id: str, node_name: str) -> WaitingDocument | None:
        """The document if it waits at ``node_name`` now, else ``None`` (decided, withdrawn, deleted, at
        another node). Raises :class:`ContractError` when it waits there but cannot be read."""
        flow = self.flow_detail(flow_id)
        if flow is None or flow.get("state") != "approving" or not flow.get("active", True):
            return None
        if self.approve_states([flow_id]).get(flow_id) != node_name:
            return None
        last = _last_log(flow)
        if last.get("nextName") not in (None, "", node_name):  # the stage cache lags the log (~1 s)
            return None
        return waiting(flow, node_name)

    def decide(self, document: WaitingDocument, decision: Decision, comment: str) -> None:
        """Accept or refuse ``document`` at its E-Bot node. Not idempotent: a lost answer raises
        ``OutcomeUnknownError``; 合思 refusing because the node was already decided raises
        :class:`AlreadyDecidedError`. The 签名秘钥 of each configured outbound message is tried in turn
        (a wrong key is refused, code 401, before anything is done)."""
        keys = [key for key in self.settings.outbound_sign_keys if key]
        if not keys:
            raise ConfigurationError(
                f"connection {self.conn_id} has no outbound_sign_keys (the E-Bot callback needs one)",
                vendor=self.vendor,
            )
        for key in keys:
            body = self.request(
                "POST",
                CALLBACK,
                json={
                    "signKey": key,
                    "flowId": document.flow_id,
                    "nodeId": document.node_id,
                    "action": decision,
                    "comment": comment,
                },
                idempotent=False,
            )
            answer = body.get("value") if isinstance(body, dict) and isinstance(body.get("value"), dict) else body
            if not isinstance(answer, dict):
                raise ContractError(f"the E-Bot callback answered {body!r}", vendor=self.vendor, endpoint=CALLBACK)
            code, message = str(answer.get("code") or ""), str(answer.get("message") or "")
            if code == DONE_CODE:
                return
            if code == WRONG_KEY_CODE:
                continue
            if NOT_AT_NODE_TEXT in message:
                raise AlreadyDecidedError(f"合思 document {document.code} ({document.flow_id}): {message}")
            raise VendorRequestError(message or str(answer), vendor=self.vendor, endpoint=CALLBACK, code=code)
        raise VendorRequestError(
            f"签名秘钥错误 with each of the {len(keys)} outbound_sign_keys", vendor=self.vendor, endpoint=CALLBACK
        )


COMMENT = "/api/openapi/v2.2/flow/data/comment/${flow_id}"


class CommentsApi(FlowsApi):
    """评论单据: how the approval engine tells 合思 what happened to a document's OA approval."""

    def comment(self, flow_id: str, staff_id: str, text: str) -> None:
        """Comment ``text`` on a document as ``staff_id`` (``POST /api/openapi/v2.2/flow/data/comment/$flowId``,
        ``name`` ``freeflow.comment``; success ``{"id": "评论成功"}``). Not idempotent: the caller looks for
        its text among :meth:`comments` before sending again."""
        endpoint = COMMENT.format(flow_id=flow_id)
        body = self.request(
            "POST",
            endpoint,
            params={"staffId": staff_id},
            json={"params": {"comment": text}, "name": "freeflow.comment"},
            idempotent=False,
        )
        if not isinstance(body, dict) or "id" not in body:
            raise ContractError(f"the comment API answered {body!r}", vendor=self.vendor, endpoint=endpoint)

    def comments(self, flow_id: str) -> list[str]:
        """The comments on a document, oldest first (its log's ``freeflow.comment`` entries)."""
        flow = self.flow_detail(flow_id) or {}
        return [
            str((entry.get("attributes") or {}).get("comment") or "")
            for entry in flow.get("logs") or []
            if isinstance(entry, dict) and entry.get("action") == "freeflow.comment"
        ]


# log entries that do not move a document (a comment): the node it waits at is the last move's
NOT_MOVES = ("freeflow.comment",)


def _last_log(flow: dict[str, Any]) -> dict[str, Any]:
    logs = [e for e in flow.get("logs") or [] if isinstance(e, dict) and e.get("action") not in NOT_MOVES]
    last = logs[-1] if logs else {}
    attributes = last.get("attributes") if isinstance(last, dict) else None
    return attributes if isinstance(attributes, dict) else {}


def _money(flow: dict[str, Any], form: dict[str, Any], field: str) -> tuple[Decimal, str]:
    money = form.get(field)
    try:
        value = Decimal(str(money["standard"]))  # type: ignore[index]
    except (TypeError, KeyError, InvalidOperation):
        raise ContractError(f"flow {flow.get('id')}: form.{field} is {money!r}, not a money object") from None
    if not value.is_finite():
        raise ContractError(f"flow {flow.get('id')}: form.{field} is {value}")
    return value, str(money.get("standardStrCode") or "CNY")  # type: ignore[union-attr]


def _first(form: dict[str, Any], field: str) -> str | None:
    """The header's value of a custom field, else the first line's that has one."""
    if form.get(field):
        return str(form[field])
    for detail in form.get("details") or []:
        value = ((detail or {}).get("feeTypeForm") or {}).get(field) if isinstance(detail, dict) else None
        if value:
            return str(value)
    return None


def waiting(flow: dict[str, Any], node_name: str) -> WaitingDocument:
    """A flow (``flowDetails`` / ``getApplyList`` item) as the document waiting at ``node_name``.

    ``cost_center`` / ``project`` are 合思's dimension **item ids** (``u_costCenter`` / ``u_project``,
    the header's, else the first line's) and ``category`` the first line's fee type **id**: the
    caller maps them to the middle platform's codes with the crosswalk the claims use
    (``mdm.crosswalk``, system ``ekuaibao``), as ``include/sql/claims/validate.sql`` does."""
    form = flow.get("form")
    kind = flow.get("formType")
    if not isinstance(form, dict) or kind not in MONEY_FIELD:
        raise ContractError(f"flow {flow.get('id')}: a {kind!r} document with form {type(form).__name__}")
    node_id = _last_log(flow).get("nextId")
    if not node_id:
        raise ContractError(f"flow {flow.get('id')}: its last log names no nextId (the node it waits at)")
    amount, currency = _money(flow, form, MONEY_FIELD[kind])
    details = form.get("details") or []
    first = details[0] if isinstance(details, list) and details and isinstance(details[0], dict) else {}
    submitted = form.get("submitDate")
    return WaitingDocument(
        flow_id=str(flow["id"]),
        code=str(form.get("code") or ""),
        kind=kind,
        node_id=str(node_id),
        version=str(flow.get("updateTime") or ""),
        title=str(form.get("title") or ""),
        staff_id=str(form.get("submitterId") or flow.get("ownerId") or ""),
        employee_no=None,  # a flow carries no 工号: the caller reads it from the org crosswalk
        company=None,
        cost_center=_first(form, COST_CENTER_FIELD),
        project=_first(form, PROJECT_FIELD),
        category=str(first["feeTypeId"]) if first.get("feeTypeId") else None,
        amount=amount,
        currency=currency,
        submitted_at=dt.datetime.fromtimestamp(submitted / 1000, CHINA) if isinstance(submitted, int) else None,
        raw=flow,
    )
