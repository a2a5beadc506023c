"""OA approval instances (审批实例) that mirror 合思 flows, served by the DingTalk and WeCom sandboxes.

One :class:`Approvals` store per OA sandbox, in canonical states ``running``, ``agree``, ``refuse``,
``terminated`` (withdrawn); each OA renders them in its own shape:

* DingTalk ``POST /topapi/processinstance/get`` ``{"process_instance_id"}`` → ``{"errcode": 0,
  "process_instance": {title, create_time, finish_time, originator_userid, status: NEW | RUNNING |
  COMPLETED | TERMINATED | CANCELED, result: "" | agree | refuse, business_id, form_component_values,
  operation_records, tasks}}``; unknown id → errcode 880002 [I];
* WeCom ``POST /cgi-bin/oa/getapprovaldetail`` ``{"sp_no"}`` → ``{"errcode": 0, "info": {sp_no, sp_name,
  sp_status: 1 审批中 | 2 已通过 | 3 已驳回 | 4 已撤销, template_id, apply_time, applyer{userid},
  sp_record, notifyer, apply_data, comments}}``; unknown → errcode 301025 [I].

Control mutations: ``start_approval`` (instance_id, title, originator, state) and ``set_approval``
(instance_id, state), what approvers do in the OA.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

STATES = ("running", "agree", "refuse", "terminated")


@dataclass
class Approval:
    instance_id: str
    title: str
    originator: str
    state: str = "running"
    created: int = field(default_factory=lambda: int(time.time()))
    finished: int | None = None


class Approvals:
    def __init__(self) -> None:
        self.items: dict[str, Approval] = {}

    def start(self, instance_id: str, title: str = "报销审批", originator: str = "", state: str = "running") -> dict:
        self.items[instance_id] = Approval(instance_id, title, originator)
        return self.set(instance_id, state)

    def set(self, instance_id: str, state: str) -> dict:
        if state not in STATES:
            raise ValueError(f"approval state is one of {', '.join(STATES)}")
        approval = self.items.get(instance_id)
        if approval is None:
            raise KeyError(f"no approval {instance_id}")
        approval.state = state
        approval.finished = None if state == "running" else int(time.time())
        return approval.__dict__

    def get(self, instance_id: Any) -> Approval | None:
        return self.items.get(str(instance_id or ""))

    def apply(self, op: str, args: dict[str, Any]) -> dict | None:
        """Run an approval mutation; ``None`` when ``op`` is not one."""
        if op == "start_approval":
            return self.start(**args)
        if op == "set_approval":
            return self.set(**args)
        return None


def dingtalk_instance(a: Approval) -> dict[str, Any]:
    status = {"running": "RUNNING", "agree": "COMPLETED", "refuse": "COMPLETED", "terminated": "TERMINATED"}
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(a.created))
    return {
        "title": a.title,
        "create_time": stamp,
        "finish_time": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(a.finished)) if a.finished else "",
        "originator_userid": a.originator,
        "originator_dept_id": "1",
        "status": status[a.state],
        "result": a.state if a.state in ("agree", "refuse") else "",
        "business_id": a.instance_id[-12:],
        "form_component_values": [],
        "operation_records": [],
        "tasks": [],
        "cc_userid_list": [],
    }


def wecom_info(a: Approval) -> dict[str, Any]:
    status = {"running": 1, "agree": 2, "refuse": 3, "terminated": 4}
    return {
        "sp_no": a.instance_id,
        "sp_name": a.title,
        "sp_status": status[a.state],
        "template_id": "expense-claim",
        "apply_time": a.created,
        "applyer": {"userid": a.originator, "partyid": "1"},
        "sp_record": [],
        "notifyer": [],
        "apply_data": {"contents": []},
        "comments": [],
    }
