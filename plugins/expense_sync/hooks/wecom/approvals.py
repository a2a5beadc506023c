"""WeCom approval applications (审批) through ``cgi-bin/oa``.

* create ``POST /cgi-bin/oa/applyevent`` as the employee (``creator_userid``) on the template the
  extra ``approval_template_id`` names, ``use_template_approver`` 0 with our nodes as
  ``process.node_list`` (``type`` 1 审批人, ``apv_rel`` 2 或签), the business key in the Text control
  the extra ``approval_key_control`` names, the request's form as ``label: value`` lines in the
  Textarea control ``approval_form_control`` (when configured), the title and key as the summary;
* find ``POST /cgi-bin/oa/getapprovalinfo`` (submitted in a window of at most 31 days, filtered by
  template and creator, 100 a page) then each application's detail;
* read ``POST /cgi-bin/oa/getapprovaldetail``: ``sp_status`` for the state, ``sp_record`` (one entry
  per node reached, a ``details`` entry per approver) for the tasks, the deciding approver's
  ``speech`` for the comment;
* transfer: WeCom documents no API that hands a waiting approver's task to someone else (转审 is done
  in the app), so :meth:`WeComApprovals.transfer_task` raises
  :class:`~expense_sync.approvals.contract.TransferUnsupportedError`.

WeCom gives a task no id: the hook names one ``<sp_no>:<node>:<userid>``. Wire facts and what stays
inferred: ``docs/vendors/wecom.md``, "Approval instances".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from expense_sync.approvals.contract import (
    ApprovalDetail,
    ApprovalRequest,
    ApprovalState,
    ApprovalTask,
    TaskState,
    TransferUnsupportedError,
)
from expense_sync.hooks.contract import required
from expense_sync.hooks.errors import ConfigurationError, ContractError

if TYPE_CHECKING:
    from expense_sync.hooks.errcode import ErrcodeHook
    from expense_sync.hooks.wecom.hook import WeComSettings

    Base = ErrcodeHook[WeComSettings]
else:
    Base = object

# info.sp_status: 1 审批中, 2 已通过, 3 已驳回, 4 已撤销, 6 通过后撤销, 7 已删除, 10 已支付
SP_STATUS: dict[int, ApprovalState] = {
    1: "running",
    2: "approved",
    3: "rejected",
    4: "withdrawn",
    6: "withdrawn",
    7: "withdrawn",
    10: "approved",
}
# sp_record[].details[].sp_status: 1 审批中, 2 已同意, 3 已驳回, 4 已转审, 11 已退回, 12 已加签,
# 13 已同意并加签 (14 已办理 and 15 已转交 are the process_list's own values)
DETAIL_STATUS: dict[int, TaskState] = {
    1: "pending",
    2: "approved",
    3: "rejected",
    4: "transferred",
    11: "canceled",
    12: "pending",
    13: "approved",
    14: "approved",
    15: "transferred",
}
OR_SIGN = 2  # process.node_list.apv_rel: 1 会签, 2 或签, 3 依次审批
PAGE = 100  # getapprovalinfo: size "上限值为100"
WINDOW = dt.timedelta(days=31)  # getapprovalinfo: "起始时间跨度不能超过31天"
SUMMARY_CHARS = 20  # summary_list text: "不要超过20个字符"


def texts(contents: Any) -> dict[str, str]:
    """The text of each Text / Textarea control of ``apply_data.contents``, by control id."""
    found: dict[str, str] = {}
    for control in contents or []:
        if isinstance(control, dict) and control.get("control") in ("Text", "Textarea"):
            found[str(control.get("id"))] = str((control.get("value") or {}).get("text") or "")
    return found


class WeComApprovals(Base):
    """The :class:`~expense_sync.approvals.contract.OaApprovals` side of :class:`WeComHook`."""

    def approval_setting(self, name: str) -> str:
        value = getattr(self.settings, name)
        if not value:
            raise ConfigurationError(f"connection {self.conn_id!r} names no {name}", vendor=self.vendor)
        return str(value)

    # -- OaApprovals --------------------------------------------------------------------------------
    def create_approval(self, request: ApprovalRequest) -> str:
        if not request.nodes:
            raise ValueError(f"approval {request.business_key} has no nodes")
        contents: list[dict[str, Any]] = [
            {
                "control": "Text",
                "id": self.approval_setting("approval_key_control"),
                "value": {"text": request.business_key},
            }
        ]
        form_control = self.settings.approval_form_control
        if form_control and request.form:
            lines = "\n".join(f"{label}: {value}" for label, value in request.form)
            contents.append({"control": "Textarea", "id": form_control, "value": {"text": lines}})
        body: dict[str, Any] = {
            "creator_userid": request.originator,
            "template_id": self.approval_setting("approval_template_id"),
            "use_template_approver": 0,
            "process": {
                "node_list": [{"type": 1, "apv_rel": OR_SIGN, "userid": list(node.approvers)} for node in request.nodes]
            },
            "apply_data": {"contents": contents},
            "summary_list": [
                {"summary_info": [{"text": line[:SUMMARY_CHARS], "lang": "zh_CN"}]}
                for line in (request.title, request.business_key)
                if line
            ],
        }
        if request.department.isdigit():
            body["choose_department"] = int(request.department)
        answer = self.request("POST", "/cgi-bin/oa/applyevent", json=body, idempotent=False)
        sp_no = required(answer, "sp_no", vendor=self.vendor, endpoint="POST /cgi-bin/oa/applyevent")
        self.count("approvals_created")
        return str(sp_no)

    def find_approval(self, request: ApprovalRequest, since: dt.datetime) -> str | None:
        for sp_no in self.sp_numbers(request.originator, since):
            if self.approval(sp_no).business_key == request.business_key:
                return sp_no
        return None

    def sp_numbers(self, creator: str, since: dt.datetime, until: dt.datetime | None = None) -> Iterator[str]:
        """The numbers of the applications ``creator`` submitted on our template in [since, until],
        in windows of 31 days, 100 a call."""
        end = until or dt.datetime.now(dt.UTC)
        start = since
        filters = [
            {"key": "template_id", "value": self.approval_setting("approval_template_id")},
            {"key": "creator", "value": creator},
        ]
        while start <= end:
            stop = min(start + WINDOW, end + dt.timedelta(seconds=1))
            cursor = ""
            while True:
                body = {
                    "starttime": str(int(start.timestamp())),
                    "endtime": str(int(stop.timestamp())),
                    "new_cursor": cursor,
                    "size": PAGE,
                    "filters": filters,
                }
                answer = self.request("POST", "/cgi-bin/oa/getapprovalinfo", json=body)
                yield from (str(n) for n in answer.get("sp_no_list") or [])
                cursor = str(answer.get("new_next_cursor") or "")
                if not cursor:
                    break
            start = stop + dt.timedelta(seconds=1)

    def approval(self, instance_id: str) -> ApprovalDetail:
        endpoint = "POST /cgi-bin/oa/getapprovaldetail"
        info = required(
            self.request("POST", "/cgi-bin/oa/getapprovaldetail", json={"sp_no": instance_id}),
            "info",
            vendor=self.vendor,
            endpoint=endpoint,
        )
        if not isinstance(info, dict):
            raise ContractError("info is not an object", vendor=self.vendor, endpoint=endpoint)
        status = int(required(info, "sp_status", vendor=self.vendor, endpoint=endpoint))
        state = SP_STATUS.get(status, "running")
        tasks: list[ApprovalTask] = []
        decided: list[tuple[int, str, str]] = []  # (sptime, approver, speech) of each decision
        for index, node in enumerate(info.get("sp_record") or []):
            node_open = int(node.get("sp_status") or 1) == 1
            for detail in node.get("details") or []:
                approver = str(required(detail, "approver.userid", vendor=self.vendor, endpoint=endpoint))
                task_state = DETAIL_STATUS.get(int(detail.get("sp_status") or 1), "pending")
                if task_state == "pending" and (not node_open or state != "running"):
                    task_state = "canceled"  # the other approvers of a decided 或签 node, or a closed instance
                tasks.append(ApprovalTask(f"{instance_id}:{index}:{approver}", approver, task_state, node=index))
                if task_state in ("approved", "rejected"):
                    decided.append((int(detail.get("sptime") or 0), approver, str(detail.get("speech") or "")))
        decided.sort(key=lambda d: d[0])
        remarks = [d for d in decided if d[2]]
        key_control = self.settings.approval_key_control
        key = texts((info.get("apply_data") or {}).get("contents")).get(key_control or "")
        last = decided[-1][0] if decided else 0
        return ApprovalDetail(
            instance_id=str(info.get("sp_no") or instance_id),
            state=state,
            business_key=key,
            tasks=tuple(tasks),
            comment=remarks[-1][2] if remarks else "",
            decided_by=decided[-1][1] if decided else None,
            finished_at=dt.datetime.fromtimestamp(last, dt.UTC) if state != "running" and last else None,
        )

    def transfer_task(self, instance_id: str, task: ApprovalTask, to_user: str, remark: str) -> None:
        raise TransferUnsupportedError(
            f"WeCom has no API to transfer a waiting approval task: {task.approver}'s task in {instance_id} "
            f"must be transferred to {to_user} in the WeCom app (转审)"
        )

    def approval_state(self, instance_id: str) -> str:
        """The canonical state of an application (``running``, ``approved``, ``rejected``, ``withdrawn``)."""
        return self.approval(instance_id).state
