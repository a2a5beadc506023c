"""DingTalk approval instances (OA 审批) through the current workflow API, ``api.dingtalk.com/v1.0``.

Why v1.0 and not ``topapi/processinstance/create``: DingTalk moved the ``topapi`` approval calls to
"历史文档（不推荐）" on 2022-10-08, keeps them "仅保持现有功能", and answers a new app's request for
their permission with "暂不支持新增申请"; the v1.0 ``processInstances`` calls are the documented
current ones (``docs/vendors/dingtalk.md``, "Approval instances").

* create ``POST /v1.0/workflow/processInstances`` with ``approvers``: one entry per node,
  ``actionType`` ``OR`` (或签, two or more people) or ``NONE`` (one person), so DingTalk runs our
  nodes instead of the template's own flow; the business key goes into the form field the extra
  ``approval_key_field`` names (default ``业务单号``), the request's form after it;
* find ``POST /v1.0/workflow/processes/instanceIds/query`` (the originator's instances of the
  process since a time, 20 a page, windows of at most 120 days), then each instance's form;
* read ``GET /v1.0/workflow/processInstances?processInstanceId=``;
* transfer (转交) ``POST /v1.0/workflow/tasks/redirect`` as the task's current approver.

The token is the one ``/gettoken`` gives, sent in the header ``x-acs-dingtalk-access-token`` [I:
DingTalk's pages point the header at ``/v1.0/oauth2/accessToken``; both are the app's token]. The
host is ``api.dingtalk.com`` when the connection points at ``oapi.dingtalk.com``, else the
connection's own host (a proxy or the sandbox), unless the extra ``workflow_base_url`` says otherwise.
Errors are HTTP 400 ``{"code", "message"}``: ``InvalidAuthentication`` is a stale token, the rest
refusals (:meth:`DingTalkApprovals.check_v1_error`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests

from expense_sync.approvals.contract import (
    ApprovalDetail,
    ApprovalRequest,
    ApprovalState,
    ApprovalTask,
    TaskState,
)
from expense_sync.hooks.contract import required
from expense_sync.hooks.errors import (
    ConfigurationError,
    ContractError,
    ThrottledError,
    TokenInvalidError,
    VendorRequestError,
)

if TYPE_CHECKING:
    from expense_sync.hooks.dingtalk.hook import DingTalkSettings
    from expense_sync.hooks.errcode import ErrcodeHook

    Base = ErrcodeHook[DingTalkSettings]
else:
    Base = object

log = logging.getLogger(__name__)

TOKEN_HEADER = "x-acs-dingtalk-access-token"
WORKFLOW = "/v1.0/workflow/"  # the paths served by the workflow API's host
OFFICIAL_OAPI, OFFICIAL_API = "oapi.dingtalk.com", "https://api.dingtalk.com"
QPM_LIMIT = "Forbidden.AccessDenied.QpmLimitForAppkeyAndApi"  # 403: the app's per-minute quota of an API
PAGE = 20  # instanceIds/query: maxResults "最多传20"
WINDOW = dt.timedelta(days=120)  # instanceIds/query: "时间范围不能超过120天"
DONE: dict[str, TaskState] = {"AGREE": "approved", "REFUSE": "rejected"}  # a COMPLETED task's result
DECISIONS = ("EXECUTE_TASK_NORMAL", "EXECUTE_TASK_AGENT")  # operation records that decide a task


def instance_state(status: Any, result: Any) -> ApprovalState:
    """``status`` RUNNING | TERMINATED | COMPLETED (+ ``result`` agree | refuse) → the canonical state;
    NEW and anything unknown count as running (never as decided)."""
    status, result = str(status or "").upper(), str(result or "").lower()
    if status == "COMPLETED":
        return "approved" if result == "agree" else "rejected"
    if status in ("TERMINATED", "CANCELED"):
        return "withdrawn"
    return "running"


def task_state(status: Any, result: Any) -> TaskState:
    """A task's ``status`` (NEW, RUNNING, PAUSED, CANCELED, COMPLETED, TERMINATED) and ``result``
    (AGREE, REFUSE, REDIRECTED) → the canonical task state. REDIRECTED wins whatever the status."""
    status, result = str(status or "").upper(), str(result or "").upper()
    if result == "REDIRECTED":
        return "transferred"
    if status == "COMPLETED":
        return DONE.get(result, "canceled")
    if status in ("CANCELED", "TERMINATED"):
        return "canceled"
    return "pending"  # RUNNING, PAUSED, NEW (a later node not reached yet)


def parse_time(value: Any) -> dt.datetime | None:
    """``2022-08-31T11:52Z`` (the documented form, UTC) or with seconds; None when empty or other."""
    text = str(value or "").strip()
    for fmt in ("%Y-%m-%dT%H:%MZ", "%Y-%m-%dT%H:%M:%SZ"):
        try:
            return dt.datetime.strptime(text, fmt).replace(tzinfo=dt.UTC)
        except ValueError:
            continue
    return None


def millis(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


class DingTalkApprovals(Base):
    """The :class:`~expense_sync.approvals.contract.OaApprovals` side of :class:`DingTalkHook`."""

    # -- the v1.0 transport ---------------------------------------------------------------------------
    @property
    def workflow_base(self) -> str:
        configured = self.settings.workflow_base_url
        if configured:
            return configured.rstrip("/")
        base = self.base_url
        return OFFICIAL_API if urlsplit(base).hostname == OFFICIAL_OAPI else base

    def workflow(self, method: str, path: str, **kw: Any) -> Any:
        """One v1.0 call: the token in its header (:meth:`authorize` fills it), errors per
        :meth:`check_v1_error`."""
        return self.request(method, path, headers={TOKEN_HEADER: ""}, **kw)

    def url(self, path: str) -> str:
        """The workflow API's paths on its own host; errors still name the path alone."""
        return self.workflow_base + path if path.startswith(WORKFLOW) else super().url(path)

    def authorize(self, request: dict[str, Any]) -> None:
        headers = request.get("headers")
        if isinstance(headers, dict) and TOKEN_HEADER in headers:
            headers[TOKEN_HEADER] = self.get_token()
            return
        super().authorize(request)

    def check_v1_error(self, response: requests.Response, body: Any, endpoint: str) -> None:
        """A v1.0 error: HTTP 400 ``{"code", "message"}`` is a refusal, ``InvalidAuthentication`` a
        stale token; 403 ``Forbidden.AccessDenied.QpmLimitForAppkeyAndApi`` is the per-minute quota
        (wait a minute unless ``throttle_wait`` says otherwise); any other 401/403 stays an
        authentication refusal (the shared table)."""
        status = response.status_code
        if status not in (400, 403) or not isinstance(body, dict) or "errcode" in body or "code" not in body:
            return
        code, message = str(body["code"]), str(body.get("message") or body["code"])
        where: dict[str, Any] = {"vendor": self.vendor, "endpoint": endpoint, "status": status, "code": code}
        if status == 403:
            if code == QPM_LIMIT:
                wait = self.settings.throttle_wait
                raise ThrottledError(message, retry_after=60.0 if wait is None else wait, **where)
            return
        if code == "InvalidAuthentication":
            raise TokenInvalidError(message, **where)
        raise VendorRequestError(message, **where)

    @property
    def process_code(self) -> str:
        code = self.settings.approval_process_code
        if not code:
            raise ConfigurationError(
                f"connection {self.conn_id!r} names no approval_process_code (the approval template)",
                vendor=self.vendor,
            )
        return code

    # -- OaApprovals --------------------------------------------------------------------------------
    def create_approval(self, request: ApprovalRequest) -> str:
        if not request.nodes:
            raise ValueError(f"approval {request.business_key} has no nodes")
        key_field = self.settings.approval_key_field
        body: dict[str, Any] = {
            "originatorUserId": request.originator,
            "processCode": self.process_code,
            "approvers": [
                {"actionType": "OR" if len(node.approvers) > 1 else "NONE", "userIds": list(node.approvers)}
                for node in request.nodes
            ],
            "formComponentValues": [
                {"name": key_field, "value": request.business_key},
                *({"name": label, "value": value} for label, value in request.form if label != key_field),
            ],
        }
        if request.department.lstrip("-").isdigit():
            body["deptId"] = int(request.department)
        answer = self.workflow("POST", "/v1.0/workflow/processInstances", json=body, idempotent=False)
        instance_id = required(
            answer, "instanceId", vendor=self.vendor, endpoint="POST /v1.0/workflow/processInstances"
        )
        self.count("approvals_created")
        return str(instance_id)

    def find_approval(self, request: ApprovalRequest, since: dt.datetime) -> str | None:
        for instance_id in self.instance_ids(request.originator, since):
            if self.approval(instance_id).business_key == request.business_key:
                return instance_id
        return None

    def instance_ids(self, originator: str, since: dt.datetime, until: dt.datetime | None = None) -> Iterator[str]:
        """The ids of the instances of our process ``originator`` started in [since, until], in
        windows of 120 days, 20 ids a call."""
        end = until or dt.datetime.now(dt.UTC)
        start = since
        while start <= end:
            stop = min(start + WINDOW, end)
            token = 0
            while True:
                body = {
                    "processCode": self.process_code,
                    "startTime": millis(start),
                    "endTime": millis(stop),
                    "nextToken": token,
                    "maxResults": PAGE,
                    "userIds": [originator],
                }
                answer = self.workflow("POST", "/v1.0/workflow/processes/instanceIds/query", json=body)
                page = required(
                    answer,
                    "result.list",
                    vendor=self.vendor,
                    endpoint="POST /v1.0/workflow/processes/instanceIds/query",
                )
                yield from (str(i) for i in page)
                following = (answer.get("result") or {}).get("nextToken")
                if not following or not page:
                    break
                token = int(following)
            start = stop + dt.timedelta(milliseconds=1)

    def approval(self, instance_id: str) -> ApprovalDetail:
        endpoint = "GET /v1.0/workflow/processInstances"
        answer = self.workflow("GET", "/v1.0/workflow/processInstances", params={"processInstanceId": instance_id})
        result = required(answer, "result", vendor=self.vendor, endpoint=endpoint)
        if not isinstance(result, dict):
            raise ContractError("result is not an object", vendor=self.vendor, endpoint=endpoint)
        key_field = self.settings.approval_key_field
        key = next(
            (str(f.get("value")) for f in result.get("formComponentValues") or [] if f.get("name") == key_field), None
        )
        tasks = tuple(
            ApprovalTask(
                task_id=str(required(t, "taskId", vendor=self.vendor, endpoint=endpoint)),
                approver=str(required(t, "userId", vendor=self.vendor, endpoint=endpoint)),
                state=task_state(t.get("status"), t.get("result")),
            )
            for t in result.get("tasks") or []
        )
        acted = [r for r in result.get("operationRecords") or [] if r.get("type") in DECISIONS]
        decided = [r for r in acted if str(r.get("result") or "").upper() in ("AGREE", "REFUSE")]
        remarks = [r for r in decided if r.get("remark")]
        return ApprovalDetail(
            instance_id=instance_id,
            state=instance_state(
                required(result, "status", vendor=self.vendor, endpoint=endpoint), result.get("result")
            ),
            business_key=key,
            tasks=tasks,
            comment=str(remarks[-1]["remark"]) if remarks else "",
            decided_by=str(decided[-1].get("userId")) if decided else None,
            finished_at=parse_time(result.get("finishTime")),
        )

    def transfer_task(self, instance_id: str, task: ApprovalTask, to_user: str, remark: str) -> None:
        """转交 as the task's approver (DingTalk checks ``operateUserId`` is the current one). Not
        idempotent: a second redirect of the same task is refused, so a lost answer is reported as
        unknown and the caller reads the instance before trying again."""
        body = {"taskId": int(task.task_id), "toUserId": to_user, "operateUserId": task.approver, "remark": remark}
        answer = self.workflow("POST", "/v1.0/workflow/tasks/redirect", json=body, idempotent=False)
        if answer.get("result") is not True:
            raise VendorRequestError(
                f"redirect of task {task.task_id} in {instance_id} not confirmed: {answer!r}",
                vendor=self.vendor,
                endpoint="POST /v1.0/workflow/tasks/redirect",
            )
        self.count("approval_tasks_transferred")

    def approval_state(self, instance_id: str) -> str:
        """The canonical state of an instance (``running``, ``approved``, ``rejected``, ``withdrawn``)."""
        return self.approval(instance_id).state
