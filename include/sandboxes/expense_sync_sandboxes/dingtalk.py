"""DingTalk (钉钉) server API sandbox: ``oapi`` contacts, both generations, and the new OAuth token.

Serves what our hook calls (``topapi/v2``: ``department/listsub|listsubid|get``, ``user/list|get``,
``topapi/user/listsimple|listid``) and what ``dingtalk-sdk`` calls (``department/list|get|list_ids``,
``user/list|simplelist|get``), consistently from one :class:`Directory`. Errors are HTTP 200 with an
``errcode``, as DingTalk answers: 40014 bad token, 42001 expired token (on ``topapi`` wrapped in
errcode 88 with the code as ``sub_code``), 90018 over the app's QPS,
60003 unknown department, 60121 unknown user, 400002 bad parameter, -1 busy.

Approvals (the current ``api.dingtalk.com/v1.0/workflow`` API, on the same host here): create
``POST /v1.0/workflow/processInstances`` (``approvers`` per node with ``actionType`` AND | OR |
NONE) → ``{"instanceId"}``; ``GET /v1.0/workflow/processInstances?processInstanceId=`` → ``{"result",
"success"}``; ``POST /v1.0/workflow/processes/instanceIds/query`` (processCode, startTime, endTime,
nextToken, maxResults ≤ 20, userIds) → ``{"result": {"list", "nextToken"}, "success"}``; transfer
``POST /v1.0/workflow/tasks/redirect`` → ``{"result": true}``. Their token travels in the header
``x-acs-dingtalk-access-token``; their errors are HTTP 400 ``{"code", "message", "requestid"}``
(``InvalidAuthentication`` for a bad token). The older ``topapi/processinstance/get`` is served too.
Every change of an instance is pushed as ``bpms_instance_change`` / ``bpms_task_change`` to the
receiver set by ``configure_callback`` (receive id: the AppKey unless given).
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from expense_sync_sandboxes.approvals import Approval, Change, Node, Refused, dingtalk_instance, dingtalk_v1_instance
from expense_sync_sandboxes.core import VendorHTTPError, json_response
from expense_sync_sandboxes.oa import DirectorySandbox
from expense_sync_sandboxes.oa_callbacks import dingtalk_contact_event, dingtalk_event
from expense_sync_sandboxes.orgdata import ROOT_ID, Department, Person

APP_KEY, APP_SECRET = "dingsandboxappkey", "dingtalk-sandbox-secret"
MAX_PAGE = 100
CORP_ID = "dingsandboxcorp0001"
MAX_INSTANCE_IDS = 20  # instanceIds/query: "maxResults … 最多传20"


def ok(**fields: Any) -> Response:
    return json_response({"errcode": 0, "errmsg": "ok", **fields, "request_id": "sandbox"})


def fail(code: int, message: str) -> VendorHTTPError:
    return VendorHTTPError(json_response({"errcode": code, "errmsg": message, "request_id": "sandbox"}))


def v1_fail(code: str, message: str, status: int = 400) -> VendorHTTPError:
    """An error of the v1.0 API: an HTTP status with ``{"code", "message", "requestid"}``."""
    return VendorHTTPError(json_response({"code": code, "message": message, "requestid": "sandbox"}, status=status))


class DingTalkSandbox(DirectorySandbox):
    vendor = "dingtalk"

    def push_change(self, approval: Approval, change: Change) -> None:
        event = dingtalk_event(CORP_ID, approval, change)
        if event is not None:
            self.pushes.push(json.dumps(event, ensure_ascii=False).encode(), millis=True, xml=False, event=event)

    def push_contact(self, kind: str, key: Any) -> None:
        event = dingtalk_contact_event(CORP_ID, kind, key)
        self.pushes.push(json.dumps(event, ensure_ascii=False).encode(), millis=True, xml=False, event=event)

    def v1_authed(self, request: Request) -> None:
        state = self.tokens.state(request.headers.get("x-acs-dingtalk-access-token"))
        if state != "valid":
            raise v1_fail("InvalidAuthentication", "不合法的access_token")

    def v1_instance(self, instance_id: Any) -> Approval:
        approval = self.approvals.get(instance_id)
        if approval is None:
            raise v1_fail("processInstanceNotExist", "审批实例不存在")
        return approval

    def v1_create(self, body: dict[str, Any]) -> Approval:
        """``processInstances``: the nodes from ``approvers`` (we never reuse the OA's own flow)."""
        originator, code = body.get("originatorUserId"), body.get("processCode")
        if not code:
            raise v1_fail("processCodeError", "获取审批模板失败或者模板已被删除")
        if str(originator or "") not in self.directory.people:
            raise v1_fail(
                "invalidParameter", "发起审批参数错误。具体可能为：企业ID、审批模板code等参数错误，或发起人已离职"
            )
        nodes = []
        for item in body.get("approvers") or []:
            users, mode = [str(u) for u in item.get("userIds") or []], str(item.get("actionType") or "NONE")
            if not users or mode not in ("AND", "OR", "NONE") or (mode == "NONE") != (len(users) == 1):
                raise v1_fail("processInstanceInvalidParameter", "审批实例参数错误")
            if any(u not in self.directory.people for u in users):
                raise v1_fail(
                    "processInstanceInvalidParameter", "审批实例参数错误，具体可能为:发起人、审批人、抄送人的userid错误"
                )
            nodes.append(Node(mode, users))
        if not nodes or len(nodes) > 20:
            raise v1_fail("processInstanceInvalidParameter", "审批实例参数错误")
        values = body.get("formComponentValues") or []
        if not values:
            raise v1_fail("processFormDataIsNull", "流程表单数据为空")
        form = [(str(v.get("name") or ""), str(v.get("value") or "")) for v in values]
        person = self.directory.people[str(originator)]
        return self.approvals.create(
            str(uuid.uuid4()),
            title=f"{person.name}提交的{code}",
            originator=str(originator),
            nodes=nodes,
            dept=str(body.get("deptId") or (person.dept_ids[0] if person.dept_ids else "-1")),
            process_code=str(code),
            form=form,
        )

    def throttle_response(self, path: str) -> Response:
        return json_response({"errcode": 90018, "errmsg": "当前企业调用该接口的QPS超过限制，请稍后再试"})

    def server_error_response(self, path: str) -> Response:
        return json_response({"errcode": -1, "errmsg": "系统繁忙"}, status=502)

    def html_throttle_response(self, path: str) -> Response:
        return json_response({"status": 1111, "wait": 5, "punish": "deny", "message": "访问过于频繁"})

    # -- rendering --------------------------------------------------------------------------------
    @staticmethod
    def v2_department(d: Department) -> dict[str, Any]:
        out = {
            "dept_id": d.id,
            "name": d.name,
            "create_dept_group": True,
            "auto_add_user": True,
            "ext": "{}",
            "from_union_org": False,
            "tags": "",
            "order": d.order,
        }
        if d.parent_id is not None:
            out["parent_id"] = d.parent_id
        return out

    @staticmethod
    def v2_user(p: Person, leader: bool = False) -> dict[str, Any]:
        """A ``topapi/v2/user`` record; ``leader`` (是否为部门的主管) is relative to the department
        listed: ``user/list`` sets it for that department's manager (:meth:`Directory.department_manager`)."""
        return {
            "userid": p.userid,
            "unionid": "union" + p.userid,
            "name": p.name,
            "avatar": "",
            "state_code": "86",
            "mobile": p.mobile,
            "hide_mobile": False,
            "telephone": "",
            "job_number": p.job_number,
            "title": p.title,
            "email": p.email,
            "org_email": "",
            "work_place": "",
            "remark": "",
            "dept_id_list": list(p.dept_ids),
            "dept_order": 0,
            "extension": "{}",
            "hired_date": p.hired_date,
            "active": p.active,
            "admin": False,
            "boss": False,
            "leader": leader,
            "exclusive_account": False,
        }

    @staticmethod
    def old_user(p: Person) -> dict[str, Any]:
        return {
            "userid": p.userid,
            "unionid": "union" + p.userid,
            "name": p.name,
            "mobile": p.mobile,
            "tel": "",
            "workPlace": "",
            "remark": "",
            "order": 0,
            "isAdmin": False,
            "isBoss": False,
            "isHide": False,
            "isLeader": False,
            "active": p.active,
            "department": list(p.dept_ids),
            "position": p.title,
            "email": p.email,
            "avatar": "",
            "jobnumber": p.job_number,
            "hiredDate": p.hired_date,
            "extattr": {},
        }

    # -- helpers ----------------------------------------------------------------------------------
    def app_token(self) -> tuple[str, float]:
        """``gettoken`` as DingTalk answers it: "有效期内重复获取会返回相同结果并自动续期，过期后获取会
        返回新的access_token" — the same token while it is valid (its life renewed), a new one once it
        expired (or was expired early through the control API)."""
        current = getattr(self, "current_app_token", None)
        if current is not None and self.tokens.state(current) == "valid":
            self.tokens.tokens[current] = time.time() + self.tokens.ttl
            return current, self.tokens.ttl
        token, ttl = self.tokens.issue()
        self.current_app_token = token
        return token, ttl

    def authed(self, request: Request) -> None:
        """Refuse a bad or expired token. ``topapi`` answers as oapi.dingtalk.com does (``errcode 88``
        鉴权异常 with the token code as ``sub_code``); the older paths with the code itself."""
        state = self.tokens.state(request.query_params.get("access_token"))
        if state == "valid":
            return
        code, message = (42001, "access_token超时") if state == "expired" else (40014, "不合法的access_token")
        if request.url.path.startswith("/topapi/"):
            raise VendorHTTPError(
                json_response(
                    {
                        "errcode": 88,
                        "sub_code": str(code),
                        "sub_msg": message,
                        "errmsg": f"ding talk error[subcode={code},submsg={message}]",
                        "request_id": "sandbox",
                    }
                )
            )
        raise fail(code, message)

    def department(self, dept_id: Any) -> Department:
        try:
            return self.directory.departments[int(dept_id)]
        except (KeyError, TypeError, ValueError):
            raise fail(60003, "部门不存在") from None

    def person(self, userid: Any) -> Person:
        person = self.directory.people.get(str(userid))
        if person is None:
            raise fail(60121, "找不到该用户")
        return person

    @staticmethod
    async def body(request: Request) -> dict[str, Any]:
        """topapi accepts JSON or form-encoded bodies."""
        if "json" in request.headers.get("content-type", ""):
            raw = await request.body()
            return (await request.json()) if raw else {}
        return dict(await request.form())

    @staticmethod
    def page_args(raw_cursor: Any, raw_size: Any) -> tuple[int, int]:
        try:
            cursor, size = int(raw_cursor or 0), int(raw_size or 0)
        except (TypeError, ValueError):
            raise fail(400002, "无效的参数") from None
        if size < 1 or size > MAX_PAGE or cursor < 0:
            raise fail(400002, "无效的参数")
        return cursor, size

    # -- routes -----------------------------------------------------------------------------------
    def routes(self) -> None:
        app = self.app

        @app.post("/v1.0/workflow/processInstances")
        async def v1_create(request: Request) -> Response:
            self.v1_authed(request)
            approval = self.v1_create(await self.body(request))
            return json_response({"instanceId": approval.instance_id})

        @app.get("/v1.0/workflow/processInstances")
        async def v1_get(request: Request) -> Response:
            self.v1_authed(request)
            approval = self.v1_instance(request.query_params.get("processInstanceId"))
            return json_response({"result": dingtalk_v1_instance(approval), "success": "true"})

        @app.post("/v1.0/workflow/processes/instanceIds/query")
        async def v1_instance_ids(request: Request) -> Response:
            self.v1_authed(request)
            body = await self.body(request)
            try:
                start, token, size = int(body["startTime"]), int(body.get("nextToken") or 0), int(body["maxResults"])
                end = int(body["endTime"]) if body.get("endTime") else None
            except (KeyError, TypeError, ValueError):
                raise v1_fail(
                    "invalidInstanceListIdsStartTime", "获取审批实例ID列表，审批实例开始时间不能为空"
                ) from None
            if not body.get("processCode"):
                raise v1_fail("invalidProcessCode", "审批模板processCode不能为空")
            if not 1 <= size <= MAX_INSTANCE_IDS:
                raise v1_fail("invalidMaxResults", "获取审批实例ID列表，分页参数非法，每页大小，最多传20。")
            users = [str(u) for u in body.get("userIds") or []]
            if len(users) > 10:
                raise v1_fail("invalidUserIds", "获取审批实例ID列表，发起userid列表参数非法，最大列表长度为10。")
            if end is not None and (end < start or end - start > 120 * 86_400_000):
                raise v1_fail(
                    "invalidEndTime",
                    "获取审批实例ID列表，审批实例结束时间不能小于开始时间；且查询时间范围不能超过120天。",
                )
            found = self.approvals.ids(start, end, users, str(body["processCode"]))
            page: dict[str, Any] = {"list": found[token : token + size]}
            if token + size < len(found):
                page["nextToken"] = str(token + size)
            return json_response({"result": page, "success": True})

        @app.post("/v1.0/workflow/tasks/redirect")
        async def v1_redirect(request: Request) -> Response:
            self.v1_authed(request)
            body = await self.body(request)
            for name in ("taskId", "toUserId", "operateUserId"):
                if not body.get(name):
                    raise v1_fail("param.blank", f"{name}参数不能为空")
            if str(body["toUserId"]) not in self.directory.people:
                raise v1_fail("param.illegal", "不合法的参数toUserId")
            approval = next((a for a in self.approvals.items.values() if a.task(body["taskId"])), None)
            if approval is None:
                raise v1_fail("param.illegal", "不合法的参数taskId")
            try:
                self.approvals.transfer(
                    approval.instance_id,
                    body["taskId"],
                    str(body["toUserId"]),
                    str(body["operateUserId"]),
                    str(body.get("remark") or ""),
                )
            except Refused as err:
                raise v1_fail(err.code, err.message) from None
            return json_response({"result": True})

        @app.post("/topapi/processinstance/get")
        async def process_instance(request: Request) -> Response:
            self.authed(request)
            approval = self.approvals.get((await self.body(request)).get("process_instance_id"))
            if approval is None:
                raise fail(880002, "审批实例不存在")
            return ok(process_instance=dingtalk_instance(approval), success=True)

        @app.get("/gettoken")
        async def gettoken(request: Request) -> Response:
            q = request.query_params
            key, secret = q.get("appkey") or q.get("corpid"), q.get("appsecret") or q.get("corpsecret")
            if key != APP_KEY or secret != APP_SECRET:
                return json_response({"errcode": 40089, "errmsg": "不合法的appKey或appSecret的组合"})
            token, ttl = self.app_token()
            return ok(access_token=token, expires_in=int(ttl))

        @app.post("/v1.0/oauth2/accessToken")
        async def new_token(request: Request) -> Response:
            body = await self.body(request)
            if body.get("appKey") != APP_KEY or body.get("appSecret") != APP_SECRET:
                return json_response(
                    {"code": "InvalidAuthentication", "message": "应用凭证无效", "requestid": "sandbox"}, status=400
                )
            token, ttl = self.tokens.issue()
            return json_response({"accessToken": token, "expireIn": int(ttl)})

        @app.post("/topapi/v2/department/listsub")
        async def listsub(request: Request) -> Response:
            self.authed(request)
            parent = self.department((await self.body(request)).get("dept_id", ROOT_ID))
            return ok(result=[self.v2_department(d) for d in self.directory.children(parent.id)])

        @app.post("/topapi/v2/department/listsubid")
        async def listsubid(request: Request) -> Response:
            self.authed(request)
            parent = self.department((await self.body(request)).get("dept_id", ROOT_ID))
            return ok(result={"dept_id_list": [d.id for d in self.directory.children(parent.id)]})

        @app.post("/topapi/v2/department/get")
        async def dept_get(request: Request) -> Response:
            self.authed(request)
            dept = self.department((await self.body(request)).get("dept_id"))
            return ok(
                result={
                    **self.v2_department(dept),
                    "dept_manager_userid_list": [m for m in [self.directory.department_manager(dept.id)] if m],
                    "outer_dept": False,
                    "source_identifier": "",
                }
            )

        @app.post("/topapi/v2/user/list")
        async def user_list(request: Request) -> Response:
            self.authed(request)
            body = await self.body(request)
            dept = self.department(body.get("dept_id"))
            cursor, size = self.page_args(body.get("cursor", 0), body.get("size", 0))
            members = self.directory.members(dept.id)
            page = members[cursor : cursor + size]
            more = cursor + size < len(members)
            manager = self.directory.department_manager(dept.id)
            listed = [self.drifted(self.v2_user(p, leader=p.userid == manager)) for p in page]
            result: dict[str, Any] = {"has_more": more, "list": listed}
            if more:
                result["next_cursor"] = cursor + size
            return ok(result=result)

        @app.post("/topapi/user/listsimple")
        async def user_listsimple(request: Request) -> Response:
            self.authed(request)
            body = await self.body(request)
            dept = self.department(body.get("dept_id"))
            cursor, size = self.page_args(body.get("cursor", 0), body.get("size", 0))
            members = self.directory.members(dept.id)
            page, more = members[cursor : cursor + size], cursor + size < len(members)
            result: dict[str, Any] = {"has_more": more, "list": [{"userid": p.userid, "name": p.name} for p in page]}
            if more:
                result["next_cursor"] = cursor + size
            return ok(result=result)

        @app.post("/topapi/user/listid")
        async def user_listid(request: Request) -> Response:
            self.authed(request)
            dept = self.department((await self.body(request)).get("dept_id"))
            return ok(result={"userid_list": [p.userid for p in self.directory.members(dept.id)]})

        @app.post("/topapi/v2/user/get")
        async def user_get(request: Request) -> Response:
            self.authed(request)
            person = self.person((await self.body(request)).get("userid"))
            detail = self.drifted(self.v2_user(person))
            detail.pop("leader")  # about a listed department: user/get says it per department instead
            leads = self.directory.department_manager
            detail["leader_in_dept"] = [{"dept_id": d, "leader": leads(d) == person.userid} for d in person.dept_ids]
            detail["role_list"] = []
            if person.manager:  # "员工在企业管理后台个人信息面板中，直属主管内有值，才会返回该字段"
                detail["manager_userid"] = person.manager
            return ok(result=detail)

        # ---- the older generation, as dingtalk-sdk calls it ----
        @app.get("/department/list")
        async def old_dept_list(request: Request) -> Response:
            self.authed(request)
            q = request.query_params
            parent = self.department(q.get("id", ROOT_ID))
            recursive = str(q.get("fetch_child", "false")).lower() == "true"
            found, queue, seen = [], [parent.id], {parent.id}
            while queue:
                for d in self.directory.children(queue.pop(0)):
                    if d.id in seen:  # a cycle (the control API can make one): listed once, as a walk would
                        continue
                    seen.add(d.id)
                    # the documented example shows no "order"; the sandbox serves it, as its listsub does,
                    # so that either path lands the same departments
                    found.append(
                        {
                            "id": d.id,
                            "name": d.name,
                            "parentid": d.parent_id,
                            "createDeptGroup": True,
                            "autoAddUser": True,
                            "order": d.order,
                        }
                    )
                    if recursive:
                        queue.append(d.id)
            return ok(department=found)

        @app.get("/department/list_ids")
        async def old_dept_ids(request: Request) -> Response:
            self.authed(request)
            parent = self.department(request.query_params.get("id", ROOT_ID))
            return ok(sub_dept_id_list=[d.id for d in self.directory.children(parent.id)])

        @app.get("/department/get")
        async def old_dept_get(request: Request) -> Response:
            self.authed(request)
            d = self.department(request.query_params.get("id"))
            return ok(
                id=d.id, name=d.name, order=d.order, parentid=d.parent_id or 0, createDeptGroup=True, autoAddUser=True
            )

        async def old_members(request: Request, render) -> Response:
            self.authed(request)
            q = request.query_params
            dept = self.department(q.get("department_id"))
            offset, size = self.page_args(q.get("offset", 0), q.get("size", MAX_PAGE))
            members = self.directory.members(dept.id)
            page = members[offset : offset + size]
            return ok(hasMore=offset + size < len(members), userlist=[render(p) for p in page])

        @app.get("/user/list")
        async def old_user_list(request: Request) -> Response:
            return await old_members(request, self.old_user)

        @app.get("/user/listbypage")
        async def old_user_listbypage(request: Request) -> Response:
            return await old_members(request, self.old_user)

        @app.get("/user/simplelist")
        async def old_user_simplelist(request: Request) -> Response:
            return await old_members(request, lambda p: {"userid": p.userid, "name": p.name})

        @app.get("/user/get")
        async def old_user_get(request: Request) -> Response:
            self.authed(request)
            return ok(**self.old_user(self.person(request.query_params.get("userid"))))
