"""OA approval instances (审批实例) that mirror 合思 flows, served by the DingTalk and WeCom sandboxes.

One :class:`Approvals` store per OA sandbox, in canonical states ``running``, ``agree``, ``refuse``,
``terminated`` (withdrawn). An instance has nodes (one step each: 或签 ``OR``, 会签 ``AND`` or a
single approver ``NONE``) and one task per approver of each node; the nodes run in order. Each OA
renders the store in its own shape (:func:`dingtalk_instance`, :func:`dingtalk_v1_instance`,
:func:`wecom_info`); wire facts and sources: ``docs/vendors/dingtalk.md`` and ``wecom.md``,
"Approval instances".

Unknown instance: DingTalk v1.0 answers HTTP 400 ``processInstanceNotExist`` [V: the error table of
"获取单个审批实例详情"]; ``topapi`` errcode 880002 [I]; WeCom errcode 301025 "请求参数错误" [V: the
error table of "批量获取审批单号"; for getapprovaldetail it is I].

Control mutations (what people do in the OA):

* ``start_approval`` (instance_id, title, originator, state) and ``set_approval`` (instance_id,
  state): an instance without nodes, forced into a state;
* ``decide_task`` (instance_id, approver, result ``agree`` | ``refuse``, comment): the approver's
  running task is decided; 或签 cancels the node's other tasks, a refusal ends the instance, the last
  node's agreement approves it;
* ``withdraw_approval`` (instance_id): the originator withdraws (撤销) a running instance;
* ``comment_approval`` (instance_id, userid, text): a remark (评论 / 备注) that decides nothing;
* ``configure_callback`` (url, token, aes_key, receive_id; none to stop): every change is pushed
  to ``url`` the way the OA pushes it (:mod:`expense_sync_sandboxes.oa_callbacks`).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

STATES = ("running", "agree", "refuse", "terminated")
MODES = ("OR", "AND", "NONE")


class Refused(Exception):
    """The OA refuses an API call on an instance: its code and message, rendered by each sandbox."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class Task:
    task_id: int
    node: int
    approver: str
    status: str = "NEW"  # NEW (node not reached) | RUNNING | COMPLETED | CANCELED
    result: str = ""  # "" | agree | refuse | redirected
    comment: str = ""
    created: int = field(default_factory=now_ms)
    finished: int | None = None


@dataclass
class Node:
    mode: str  # OR 或签 | AND 会签 | NONE one approver
    approvers: list[str]


@dataclass
class Approval:
    instance_id: str
    title: str
    originator: str
    state: str = "running"
    created: int = field(default_factory=now_ms)  # milliseconds
    finished: int | None = None
    dept: str = "1"
    process_code: str = ""
    form: list[tuple[str, str]] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)  # operation records, oldest first
    comments: list[dict[str, Any]] = field(default_factory=list)  # 评论 / 备注: {userid, text, ms, id}
    summary: list[str] = field(default_factory=list)

    def running(self, approver: str) -> Task | None:
        return next((t for t in self.tasks if t.approver == approver and t.status == "RUNNING"), None)

    def task(self, task_id: Any) -> Task | None:
        return next((t for t in self.tasks if str(t.task_id) == str(task_id)), None)


# A change the OA tells its callback about: ("instance", "start"|"finish"|"terminate", None),
# ("task", "start"|"finish"|"cancel"|"redirect", task), and, once a decision or a remark has had
# all its effects, ("settled", "decided"|"remark", task or None) for OAs that push one event per act.
Change = tuple[str, str, Task | None]


class Approvals:
    def __init__(self) -> None:
        self.items: dict[str, Approval] = {}
        self.task_ids = itertools.count(60_000_001)
        self.listeners: list[Callable[[Approval, Change], None]] = []

    # -- what the OA's API does ---------------------------------------------------------------------
    def create(
        self,
        instance_id: str,
        *,
        title: str,
        originator: str,
        nodes: list[Node],
        dept: str = "1",
        process_code: str = "",
        form: list[tuple[str, str]] | None = None,
        summary: list[str] | None = None,
    ) -> Approval:
        if not nodes or any(n.mode not in MODES or not n.approvers for n in nodes):
            raise ValueError("every node needs a mode (OR, AND, NONE) and approvers")
        a = Approval(instance_id, title, originator, dept=dept, process_code=process_code, form=list(form or []))
        a.summary = list(summary or [])
        a.nodes = nodes
        for index, node in enumerate(nodes):
            a.tasks += [Task(next(self.task_ids), index, userid) for userid in node.approvers]
        self.items[instance_id] = a
        a.records.append(self.record(originator, "START_PROCESS_INSTANCE", "NONE"))
        self.notify(a, ("instance", "start", None))
        self.open_node(a, 0)
        return a

    def transfer(self, instance_id: str, task_id: Any, to_user: str, operator: str, remark: str = "") -> Task:
        """转交: the running task of ``operator`` goes to ``to_user`` (a new task on the same node)."""
        a = self.require(instance_id)
        task = a.task(task_id)
        if task is None:
            raise Refused("param.illegal", "不合法的参数taskId")
        if a.state != "running":
            raise Refused("instance.status.error", "当前流程实例状态不是运行中不支持转交操作")
        if task.status != "RUNNING":
            raise Refused("task.status.error", "当前任务状态不是运行中不支持转交操作")
        if task.approver != operator:
            raise Refused("param.illegal.operator", "不合法的参数operateUserId")
        task.status, task.result, task.finished, task.comment = "CANCELED", "redirected", now_ms(), remark
        a.records.append(self.record(operator, "REDIRECT_TASK", "NONE", remark))
        self.notify(a, ("task", "redirect", task))
        new = Task(next(self.task_ids), task.node, to_user, status="RUNNING")
        a.tasks.append(new)
        self.notify(a, ("task", "start", new))
        return new

    def ids(self, start_ms: int, end_ms: int | None, originators: list[str], process_code: str = "") -> list[str]:
        """Instances started in [start_ms, end_ms] by one of ``originators`` (all when empty), oldest first."""
        end = end_ms if end_ms else now_ms()
        found = [
            a
            for a in self.items.values()
            if start_ms <= a.created <= end
            and (not originators or a.originator in originators)
            and (not process_code or not a.process_code or a.process_code == process_code)
        ]
        return [a.instance_id for a in sorted(found, key=lambda a: (a.created, a.instance_id))]

    # -- what people do in the OA (control mutations) ---------------------------------------------
    def decide(self, instance_id: str, approver: str, result: str, comment: str = "") -> dict:
        if result not in ("agree", "refuse"):
            raise ValueError("result is agree or refuse")
        a = self.require(instance_id)
        task = a.running(approver)
        if task is None or a.state != "running":
            raise ValueError(f"{approver} has no running task in {instance_id}")
        task.status, task.result, task.comment, task.finished = "COMPLETED", result, comment, now_ms()
        a.records.append(self.record(approver, "EXECUTE_TASK_NORMAL", result.upper(), comment))
        self.notify(a, ("task", "finish", task))
        node = a.nodes[task.node]
        siblings = [t for t in a.tasks if t.node == task.node and t.status == "RUNNING"]
        if result == "refuse" or node.mode != "AND":
            for other in siblings:
                other.status, other.finished = "CANCELED", now_ms()
                self.notify(a, ("task", "cancel", other))
            if result == "refuse":
                self.finish(a, "refuse")
            else:
                self.open_node(a, task.node + 1)
        elif not siblings:
            self.open_node(a, task.node + 1)
        self.notify(a, ("settled", "decided", task))
        return self.view(a)

    def withdraw(self, instance_id: str) -> dict:
        a = self.require(instance_id)
        if a.state != "running":
            raise ValueError(f"{instance_id} is not running")
        for task in a.tasks:
            if task.status == "RUNNING":  # the nodes not reached stay unreached
                task.status, task.finished = "CANCELED", now_ms()
        a.records.append(self.record(a.originator, "TERMINATE_PROCESS_INSTANCE", "NONE"))
        self.finish(a, "terminated")
        return self.view(a)

    def comment(self, instance_id: str, userid: str, text: str) -> dict:
        """A remark (评论, 备注) someone adds to the instance without deciding anything."""
        a = self.require(instance_id)
        a.comments.append({"userid": userid, "text": text, "ms": now_ms(), "id": str(next(self.task_ids))})
        a.records.append(self.record(userid, "ADD_REMARK", "NONE", text))
        self.notify(a, ("settled", "remark", None))
        return self.view(a)

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
        approval.finished = None if state == "running" else now_ms()
        return self.view(approval)

    def apply(self, op: str, args: dict[str, Any]) -> dict | None:
        """Run an approval mutation; ``None`` when ``op`` is not one."""
        if op == "start_approval":
            return self.start(**args)
        if op == "set_approval":
            return self.set(**args)
        if op == "decide_task":
            return self.decide(**args)
        if op == "withdraw_approval":
            return self.withdraw(**args)
        if op == "comment_approval":
            return self.comment(**args)
        return None

    # -- helpers ------------------------------------------------------------------------------------
    def get(self, instance_id: Any) -> Approval | None:
        return self.items.get(str(instance_id or ""))

    def require(self, instance_id: str) -> Approval:
        a = self.get(instance_id)
        if a is None:
            raise KeyError(f"no approval {instance_id}")
        return a

    @staticmethod
    def record(userid: str, kind: str, result: str, remark: str = "") -> dict[str, Any]:
        return {"userId": userid, "type": kind, "result": result, "remark": remark, "ms": now_ms()}

    def open_node(self, a: Approval, index: int) -> None:
        if index >= len(a.nodes):
            self.finish(a, "agree")
            return
        for task in a.tasks:
            if task.node == index and task.status == "NEW":
                task.status, task.created = "RUNNING", now_ms()
                self.notify(a, ("task", "start", task))

    def finish(self, a: Approval, state: str) -> None:
        a.state, a.finished = state, now_ms()
        self.notify(a, ("instance", "terminate" if state == "terminated" else "finish", None))

    def notify(self, a: Approval, change: Change) -> None:
        for listener in self.listeners:
            listener(a, change)

    @staticmethod
    def view(a: Approval) -> dict[str, Any]:
        """What a mutation answers: the instance with its tasks."""
        return {
            "instance_id": a.instance_id,
            "state": a.state,
            "originator": a.originator,
            "tasks": [
                {"task_id": t.task_id, "node": t.node, "approver": t.approver, "status": t.status, "result": t.result}
                for t in a.tasks
            ],
        }


# -- DingTalk -----------------------------------------------------------------------------------------
def stamp(ms: int | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    return time.strftime(fmt, time.localtime(ms / 1000)) if ms else ""


def iso(ms: int | None) -> str:
    """DingTalk v1.0's times: ``2022-08-31T11:52Z`` (UTC, minutes) as its example shows."""
    return time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime(ms / 1000)) if ms else ""


DING_STATUS = {"running": "RUNNING", "agree": "COMPLETED", "refuse": "COMPLETED", "terminated": "TERMINATED"}


def dingtalk_instance(a: Approval) -> dict[str, Any]:
    """``topapi/processinstance/get``'s ``process_instance``."""
    return {
        "title": a.title,
        "create_time": stamp(a.created),
        "finish_time": stamp(a.finished),
        "originator_userid": a.originator,
        "originator_dept_id": a.dept,
        "status": DING_STATUS[a.state],
        "result": a.state if a.state in ("agree", "refuse") else "",
        "business_id": a.instance_id[-12:],
        "form_component_values": [{"name": name, "value": value} for name, value in a.form],
        "operation_records": [
            {
                "userid": r["userId"],
                "date": stamp(r["ms"]),
                "operation_type": r["type"],
                "operation_result": r["result"],
            }
            | ({"remark": r["remark"]} if r["remark"] else {})
            for r in a.records
        ],
        "tasks": [
            {
                "userid": t.approver,
                "task_status": t.status,
                "task_result": t.result.upper() if t.result else "NONE",
                "create_time": stamp(t.created),
                "finish_time": stamp(t.finished),
                "taskid": str(t.task_id),
            }
            for t in a.tasks
            if t.status != "NEW"
        ],
        "cc_userid_list": [],
    }


def dingtalk_v1_instance(a: Approval) -> dict[str, Any]:
    """``GET /v1.0/workflow/processInstances``'s ``result`` (the fields of the documented example)."""
    return {
        "title": a.title,
        "finishTime": iso(a.finished),
        "originatorUserId": a.originator,
        "originatorDeptId": a.dept,
        "originatorDeptName": "",
        "status": DING_STATUS[a.state],
        "approverUserIds": sorted({u for n in a.nodes for u in n.approvers}),
        "ccUserIds": [],
        "result": a.state if a.state in ("agree", "refuse") else "",
        "businessId": a.instance_id[-12:],
        "operationRecords": [
            {
                "userId": r["userId"],
                "date": iso(r["ms"]),
                "type": r["type"],
                "result": r["result"],
                "attachments": [],
                "ccUserIds": [],
                "activityId": "",
                "showName": "",
                "images": [],
            }
            | ({"remark": r["remark"]} if r["remark"] else {})
            for r in a.records
        ],
        "tasks": [
            {
                "taskId": t.task_id,
                "userId": t.approver,
                "status": t.status,
                "result": t.result.upper() if t.result else "NONE",
                "createTime": iso(t.created),
                "finishTime": iso(t.finished),
                "mobileUrl": "",
                "pcUrl": "",
                "processInstanceId": a.instance_id,
                "activityId": f"node-{t.node}",
                "taskGroupName": f"审批人{t.node + 1}",
            }
            for t in a.tasks
            if t.status != "NEW"
        ],
        "bizAction": "NONE",
        "bizData": "",
        "attachedProcessInstanceIds": [],
        "mainProcessInstanceId": "",
        "formComponentValues": [
            {"id": f"TextField-{n}", "name": name, "value": value, "extValue": "", "componentType": "TextField"}
            | {"bizAlias": ""}
            for n, (name, value) in enumerate(a.form)
        ],
        "createTime": iso(a.created),
    }


# -- WeCom --------------------------------------------------------------------------------------------
WECOM_STATUS = {"running": 1, "agree": 2, "refuse": 3, "terminated": 4}
# a task's sp_status: 1 审批中, 2 已同意, 3 已驳回, 4 已转审 (a task WeCom cancels has none: see wecom_info)
WECOM_TASK = {("RUNNING", ""): 1, ("COMPLETED", "agree"): 2, ("COMPLETED", "refuse"): 3, ("CANCELED", "redirected"): 4}
WECOM_ATTR = {"OR": 1, "NONE": 1, "AND": 2}  # sp_record.approverattr: 1 或签, 2 会签
WECOM_REL = {"OR": 2, "NONE": 2, "AND": 1}  # process_list.node_list.apv_rel: 1 会签, 2 或签


def wecom_node_status(a: Approval, index: int) -> int:
    tasks = [t for t in a.tasks if t.node == index]
    if any(t.result == "refuse" for t in tasks):
        return 3
    if tasks and all(t.status in ("COMPLETED", "CANCELED") for t in tasks) and any(t.result == "agree" for t in tasks):
        return 2
    return 1


def wecom_info(a: Approval) -> dict[str, Any]:
    """``oa/getapprovaldetail``'s ``info``. A task cancelled because another approver of its 或签 node
    decided is shown as still 审批中 with no time, as WeCom shows the untouched branch [I]."""

    def task_status(t: Task) -> int:
        return WECOM_TASK.get((t.status, t.result), 1)

    return {
        "sp_no": a.instance_id,
        "sp_name": a.title,
        "sp_status": WECOM_STATUS[a.state],
        "template_id": a.process_code or "expense-claim",
        "apply_time": a.created // 1000,
        "applyer": {"userid": a.originator, "partyid": a.dept},
        "sp_record": [
            {
                "sp_status": wecom_node_status(a, index),
                "approverattr": WECOM_ATTR[node.mode],
                "details": [
                    {
                        "approver": {"userid": t.approver},
                        "speech": t.comment,
                        "sp_status": task_status(t),
                        "sptime": (t.finished or 0) // 1000 if t.result else 0,
                        "media_id": [],
                    }
                    for t in a.tasks
                    if t.node == index
                ],
            }
            for index, node in enumerate(a.nodes)
            if any(t.node == index and t.status != "NEW" for t in a.tasks)  # the nodes reached so far [I]
        ],
        "notifyer": [],
        "apply_data": {
            "contents": [
                {
                    "control": "Text",
                    "id": name,  # WeCom forms are keyed by control id; the sandbox has no template titles
                    "title": [{"text": name, "lang": "zh_CN"}],
                    "value": {
                        "text": value,
                        "tips": [],
                        "members": [],
                        "departments": [],
                        "files": [],
                        "children": [],
                        "stat_field": [],
                    },
                }
                for name, value in a.form
            ]
        },
        "comments": [
            {
                "commentUserInfo": {"userid": c["userid"]},
                "commenttime": c["ms"] // 1000,
                "commentcontent": c["text"],
                "commentid": c["id"],
                "media_id": [],
            }
            for c in a.comments
        ],
        "process_list": {
            "node_list": [
                {
                    "node_type": 1,
                    "sp_status": wecom_node_status(a, index),
                    "apv_rel": WECOM_REL[node.mode],
                    "sub_node_list": [
                        {
                            "userid": t.approver,
                            "speech": t.comment,
                            "sp_yj": task_status(t),
                            "sptime": (t.finished or 0) // 1000 if t.result else 0,
                            "media_ids": [],
                        }
                        for t in a.tasks
                        if t.node == index
                    ],
                }
                for index, node in enumerate(a.nodes)
            ]
        },
    }
