"""WeCom (企业微信) contacts API sandbox (``/cgi-bin/...``), served from the shared :class:`Directory`.

WeCom members have no job-number field: this tenant keeps the 工号 in a custom attribute (``extattr``,
type 0 text) named ``job_number_attr`` (reset setting, default ``工号``) beside another custom
attribute; reset setting ``unnumbered`` leaves that many people (chosen by the seed) without one. The
userid is the account (``u0000001``), not the 工号.

Two secrets: the 通讯录同步 (contacts) secret ``CORP_SECRET`` and a self-built app's ``APP_SECRET``.
Reset setting ``new_app`` makes the sandbox answer as WeCom does under its 2022 rules, for a contacts
secret used from an IP added after 2022-08-15 and an app created after 2022-06-20: the contacts
secret is refused ``user/list``, ``user/simplelist``, ``department/list``, ``user/get`` and
``department/get`` (errcode 48009) and keeps ``user/list_id`` and ``department/simplelist``; the app
secret is refused ``user/list_id`` ("仅支持通过通讯录同步secret调用"); member records carry no private
fields (avatar, thumb_avatar, gender, mobile, email, biz_mail, qr_code, address).

``department/list`` is unpaged (the whole tree, or a subtree with ``id``); members come per
department from ``user/list`` / ``user/simplelist`` (``fetch_child`` 0|1), or all at once through
the cursor API ``user/list_id``. Errors are HTTP 200 with an ``errcode``: 40014 bad token, 42001
expired token, 45009 over the frequency limit, 48009 refused to this caller (``new_app``), 60123
unknown department, 60111 unknown user, 40058 bad parameter, -1 busy.

Approvals (审批): ``POST /cgi-bin/oa/applyevent`` (creator_userid, template_id,
use_template_approver 0 with ``process.node_list[{type 1, apv_rel 1 会签 | 2 或签, userid}]``,
``apply_data.contents``, ``summary_list``) → ``sp_no`` (``YYYYMMDD`` and a four-digit count);
``POST /cgi-bin/oa/getapprovalinfo`` (starttime, endtime ≤ 31 days apart, new_cursor, size ≤ 100,
filters template_id / creator / sp_status) → ``sp_no_list`` and ``new_next_cursor`` while more
remain; ``POST /cgi-bin/oa/getapprovaldetail`` → ``info``; errors 301025 (bad parameter, unknown
sp_no). WeCom has no API to transfer a waiting task. Each act on an instance (submitted, agreed,
refused, withdrawn, a remark) is pushed as one ``sys_approval_change`` to the receiver set by
``configure_callback`` (receive id: the CorpID unless given).
"""

from __future__ import annotations

import base64
import json
import random
import time
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from expense_sync_sandboxes.approvals import Approval, Change, Node, wecom_info
from expense_sync_sandboxes.core import VendorHTTPError, json_response
from expense_sync_sandboxes.oa import DirectorySandbox
from expense_sync_sandboxes.oa_callbacks import wecom_contact_event, wecom_event
from expense_sync_sandboxes.orgdata import Department, Person

CORP_ID, CORP_SECRET = "wwsandboxcorp0001", "wecom-sandbox-secret"  # the 通讯录同步 (contacts) secret
APP_SECRET = "wecom-sandbox-app-secret"  # a self-built app's secret, visible range: the whole company
APP_TOKEN = "app-"  # prefix of the tokens the app secret gets
# Under new_app, what each secret is refused (errcode 48009): the contacts secret (from an IP added
# after 2022-08-15) every listing and detail but the ID lists; the app secret the ID list of members.
CONTACTS_REFUSED = (
    "/cgi-bin/user/list",
    "/cgi-bin/user/simplelist",
    "/cgi-bin/department/list",
    "/cgi-bin/user/get",
    "/cgi-bin/department/get",
)
APP_REFUSED = ("/cgi-bin/user/list_id",)
MAX_LIST_ID = 10_000
MAX_APPROVAL_PAGE = 100  # getapprovalinfo: "size … 上限值为100"
MAX_APPROVAL_SPAN = 31 * 86_400  # getapprovalinfo: "起始时间跨度不能超过31天"
NODE_MODES = {1: "AND", 2: "OR"}  # process.node_list.apv_rel: 1 会签, 2 或签 (3 依次审批: not served)
# StatuChangeEvent of sys_approval_change: 1 提单, 2 同意, 3 驳回, 6 撤销, 10 添加备注
CHANGE_EVENTS = {("instance", "start"): 1, ("instance", "terminate"): 6, ("settled", "remark"): 10}
PRIVATE_FIELDS = ("avatar", "thumb_avatar", "gender", "mobile", "email", "biz_mail", "qr_code", "address")
REFUSED = 48009
EXTERNAL_PROFILE = {  # the company's 对外属性, the same for everyone (text, web page and mini program)
    "external_corp_name": "示例集团",
    "external_attr": [
        {"type": 0, "name": "服务热线", "text": {"value": "400-000-0000"}},
        {"type": 1, "name": "官网", "web": {"url": "https://www.example.com", "title": "示例集团"}},
        {
            "type": 2,
            "name": "小程序",
            "miniprogram": {"appid": "wx0000000000000000", "pagepath": "/index", "title": "示例"},
        },
    ],
}


def ok(**fields: Any) -> Response:
    return json_response({"errcode": 0, "errmsg": "ok", **fields})


def fail(code: int, message: str) -> VendorHTTPError:
    return VendorHTTPError(json_response({"errcode": code, "errmsg": message}))


def refused(path: str) -> VendorHTTPError:
    """WeCom's answer to a contact API it no longer serves this caller (in the wording of live answers:
    message, hint, caller's IP and the errcode lookup page)."""
    return fail(
        REFUSED,
        "api forbidden for contact assistant, hint: [1700000000000000000000000], from ip: 127.0.0.1, "
        f"more info at https://open.work.weixin.qq.com/devtool/query?e={REFUSED}",
    )


class WeComSandbox(DirectorySandbox):
    vendor = "wecom"

    def push_change(self, approval: Approval, change: Change) -> None:
        kind, what, task = change
        if (kind, what) == ("settled", "decided") and task is not None:
            code = 2 if task.result == "agree" else 3
        else:
            code = CHANGE_EVENTS.get((kind, what), 0)
        if code:
            plain = wecom_event(CORP_ID, wecom_info(approval), code)
            event = {"SpNo": approval.instance_id, "StatuChangeEvent": code}
            self.pushes.push(plain, millis=False, xml=True, event=event)

    def push_contact(self, kind: str, key: Any) -> None:
        event = {"kind": kind, "key": key}
        self.pushes.push(wecom_contact_event(CORP_ID, kind, key), millis=False, xml=True, event=event)

    def next_sp_no(self) -> str:
        day = time.strftime("%Y%m%d")
        taken = sum(1 for sp_no in self.approvals.items if sp_no.startswith(day))
        return f"{day}{taken + 1:04d}"

    def apply_event(self, body: dict[str, Any]) -> Approval:
        creator, template = str(body.get("creator_userid") or ""), str(body.get("template_id") or "")
        if creator not in self.directory.people or not template:
            raise fail(301025, "invalid creator_userid or template_id")
        if int(body.get("use_template_approver", 0) or 0) != 0:
            raise fail(301025, "the sandbox serves use_template_approver 0 only")
        nodes = []
        for item in (body.get("process") or {}).get("node_list") or []:
            if int(item.get("type", 1)) != 1:
                continue  # 抄送人 / 办理人: not modelled
            users = [str(u) for u in item.get("userid") or []]
            mode = NODE_MODES.get(int(item.get("apv_rel") or 0))
            if not users or mode is None or any(u not in self.directory.people for u in users):
                raise fail(301025, "invalid process.node_list")
            nodes.append(Node(mode if len(users) > 1 else "NONE", users))
        if not nodes:
            raise fail(301025, "process.node_list has no approver node")
        contents = (body.get("apply_data") or {}).get("contents") or []
        form = []
        for control in contents:
            if control.get("control") in ("Text", "Textarea"):
                form.append((str(control.get("id") or ""), str((control.get("value") or {}).get("text") or "")))
        summary = [
            str(((line.get("summary_info") or [{}])[0]).get("text") or "") for line in body.get("summary_list") or []
        ]
        if not summary or len(summary) > 3:
            raise fail(301025, "summary_list needs 1 to 3 lines")
        person = self.directory.people[creator]
        dept = body.get("choose_department") or (person.dept_ids[0] if person.dept_ids else 1)
        return self.approvals.create(
            self.next_sp_no(),
            title="报销审批",
            originator=creator,
            nodes=nodes,
            dept=str(dept),
            process_code=template,
            form=form,
            summary=summary,
        )

    def approval_page(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            start, end, size = int(body["starttime"]), int(body["endtime"]), int(body.get("size") or 100)
            cursor = int(body.get("new_cursor") or 0)
        except (KeyError, TypeError, ValueError):
            raise fail(301025, "invalid starttime, endtime, size or new_cursor") from None
        if end <= start or end - start > MAX_APPROVAL_SPAN or not 1 <= size <= MAX_APPROVAL_PAGE:
            raise fail(301025, "invalid time range or size")
        filters = {f.get("key"): str(f.get("value")) for f in body.get("filters") or []}
        creators = [filters["creator"]] if "creator" in filters else []
        found = self.approvals.ids(start * 1000, end * 1000 + 999, creators, filters.get("template_id", ""))
        if "sp_status" in filters:
            found = [n for n in found if str(wecom_info(self.approvals.items[n])["sp_status"]) == filters["sp_status"]]
        page: dict[str, Any] = {"sp_no_list": found[cursor : cursor + size]}
        if cursor + size < len(found):
            page["new_next_cursor"] = str(cursor + size)
        return page

    def reset(
        self,
        *,
        seed: int = 1,
        new_app: bool = False,
        job_number_attr: str = "工号",
        unnumbered: int = 0,
        **sizes: Any,
    ) -> None:
        super().reset(seed=seed, **sizes)
        self.new_app = bool(new_app)
        self.job_number_attr = job_number_attr
        people = sorted(self.directory.people)
        self.unnumbered = set(random.Random(seed).sample(people, min(int(unnumbered), len(people))))

    def refuse_if_new_app(self, request: Request) -> None:
        """Under ``new_app``, refuse what WeCom refuses the caller's secret (see the module doc)."""
        if not self.new_app:
            return
        path = request.url.path
        app = (request.query_params.get("access_token") or "").startswith(APP_TOKEN)
        if path in (APP_REFUSED if app else CONTACTS_REFUSED):
            raise refused(path)

    def throttle_response(self, path: str) -> Response:
        return json_response({"errcode": 45009, "errmsg": "api freq out of limit"})

    def server_error_response(self, path: str) -> Response:
        return json_response({"errcode": -1, "errmsg": "system busy"}, status=503)

    # -- rendering --------------------------------------------------------------------------------
    def department_json(self, d: Department) -> dict[str, Any]:
        leader = self.directory.department_manager(d.id)
        return {
            "id": d.id,
            "name": d.name,
            "name_en": "",
            "department_leader": [leader] if leader else [],
            "parentid": d.parent_id or 0,
            "order": d.order,
        }

    def extattr(self, p: Person) -> dict[str, Any]:
        """The member's custom attributes: the 工号 (unless the person is one of ``unnumbered`` or
        has none), type 0 ``{name, text: {value}}``, and a web page (type 1 ``{name, web: {url, title}}``)."""
        attrs: list[dict[str, Any]] = [
            {
                "type": 1,
                "name": "个人主页",
                "web": {"url": f"https://intranet.example.com/~{p.userid}", "title": "主页"},
            }
        ]
        if p.job_number and p.userid not in self.unnumbered:
            attrs.insert(0, {"type": 0, "name": self.job_number_attr, "text": {"value": p.job_number}})
        return {"attrs": attrs}

    def user_json(self, p: Person) -> dict[str, Any]:
        record = self.full_user_json(p)
        if self.new_app:
            for name in PRIVATE_FIELDS:
                record.pop(name, None)
        return self.drifted(record)

    def full_user_json(self, p: Person) -> dict[str, Any]:
        return {
            "userid": p.userid,
            "name": p.name,
            "department": list(p.dept_ids),
            "order": [0] * len(p.dept_ids),
            "position": p.title,
            "mobile": p.mobile,
            "gender": "1",
            "email": p.email,
            "biz_mail": "",
            "avatar": "",
            "thumb_avatar": "",
            "status": 1 if p.active else 2,
            "enable": 1 if p.active else 0,
            "isleader": 0,
            "is_leader_in_dept": [0] * len(p.dept_ids),
            "direct_leader": [p.manager] if p.manager else [],
            "main_department": p.dept_ids[0] if p.dept_ids else 0,
            "telephone": "",
            "alias": "",
            "hide_mobile": 0,
            "english_name": "",
            "extattr": self.extattr(p),
            "external_position": p.title,
            "external_profile": EXTERNAL_PROFILE,
            "open_userid": "wo" + p.userid,
            "qr_code": "",
            "address": "",
        }

    # -- helpers ----------------------------------------------------------------------------------
    def authed(self, request: Request) -> None:
        state = self.tokens.state(request.query_params.get("access_token"))
        if state == "expired":
            raise fail(42001, "access_token expired")
        if state != "valid":
            raise fail(40014, "invalid access_token")

    def department(self, dept_id: Any) -> Department:
        try:
            return self.directory.departments[int(dept_id)]
        except (KeyError, TypeError, ValueError):
            raise fail(60123, "invalid party id") from None

    def subtree(self, root: int) -> list[Department]:
        found, queue = [self.directory.departments[root]], [root]
        while queue:
            for child in self.directory.children(queue.pop(0)):
                found.append(child)
                queue.append(child.id)
        return found

    def members(self, request: Request) -> list[Person]:
        q = request.query_params
        dept = self.department(q.get("department_id"))
        if q.get("fetch_child", "0") in ("1", "true"):
            ids = {d.id for d in self.subtree(dept.id)}
            return [p for p in self.directory.people.values() if ids & set(p.dept_ids)]
        return self.directory.members(dept.id)

    # -- routes -----------------------------------------------------------------------------------
    def routes(self) -> None:
        app = self.app

        @app.post("/cgi-bin/oa/applyevent")
        async def apply_event(request: Request) -> Response:
            self.authed(request)
            raw = await request.body()
            return ok(sp_no=self.apply_event(json.loads(raw) if raw else {}).instance_id)

        @app.post("/cgi-bin/oa/getapprovalinfo")
        async def approval_info(request: Request) -> Response:
            self.authed(request)
            raw = await request.body()
            return ok(**self.approval_page(json.loads(raw) if raw else {}))

        @app.post("/cgi-bin/oa/getapprovaldetail")
        async def approval_detail(request: Request) -> Response:
            self.authed(request)
            raw = await request.body()
            approval = self.approvals.get((await request.json()).get("sp_no") if raw else None)
            if approval is None:
                raise fail(301025, "sp_no not found")
            return ok(info=wecom_info(approval))

        @app.get("/cgi-bin/gettoken")
        async def gettoken(request: Request) -> Response:
            q = request.query_params
            if q.get("corpid") != CORP_ID:
                return json_response({"errcode": 40013, "errmsg": "invalid corpid"})
            if q.get("corpsecret") not in (CORP_SECRET, APP_SECRET):
                return json_response({"errcode": 40001, "errmsg": "invalid credential"})
            token, ttl = self.tokens.issue(APP_TOKEN if q.get("corpsecret") == APP_SECRET else "")
            return ok(access_token=token, expires_in=int(ttl))

        @app.get("/cgi-bin/department/list")
        async def department_list(request: Request) -> Response:
            self.authed(request)
            self.refuse_if_new_app(request)
            root = request.query_params.get("id")
            if root is None:
                depts = sorted(self.directory.departments.values(), key=lambda d: d.id)
            else:
                depts = self.subtree(self.department(root).id)
            return ok(department=[self.department_json(d) for d in depts])

        @app.get("/cgi-bin/department/simplelist")
        async def department_simplelist(request: Request) -> Response:
            self.authed(request)
            root = request.query_params.get("id")
            depts = (
                sorted(self.directory.departments.values(), key=lambda d: d.id)
                if root is None
                else self.subtree(self.department(root).id)
            )
            return ok(department_id=[{"id": d.id, "parentid": d.parent_id or 0, "order": d.order} for d in depts])

        @app.get("/cgi-bin/department/get")
        async def department_get(request: Request) -> Response:
            self.authed(request)
            self.refuse_if_new_app(request)
            return ok(department=self.department_json(self.department(request.query_params.get("id"))))

        @app.get("/cgi-bin/user/list")
        async def user_list(request: Request) -> Response:
            self.authed(request)
            self.refuse_if_new_app(request)
            return ok(userlist=[self.user_json(p) for p in self.members(request)])

        @app.get("/cgi-bin/user/simplelist")
        async def user_simplelist(request: Request) -> Response:
            self.authed(request)
            self.refuse_if_new_app(request)
            return ok(
                userlist=[
                    {
                        "userid": p.userid,
                        "name": p.name,
                        "department": list(p.dept_ids),
                        "open_userid": "wo" + p.userid,
                    }
                    for p in self.members(request)
                ]
            )

        @app.get("/cgi-bin/user/get")
        async def user_get(request: Request) -> Response:
            self.authed(request)
            self.refuse_if_new_app(request)
            wanted = request.query_params.get("userid", "")
            person = self.directory.people.get(wanted)
            if person is None:
                raise fail(60111, "invalid string value `userid`")
            return ok(**self.user_json(person))

        @app.post("/cgi-bin/user/list_id")
        async def user_list_id(request: Request) -> Response:
            self.authed(request)
            self.refuse_if_new_app(request)
            raw = await request.body()
            body = json.loads(raw) if raw else {}
            limit = int(body.get("limit") or MAX_LIST_ID)
            if not 1 <= limit <= MAX_LIST_ID:
                raise fail(40058, "invalid limit")
            try:
                offset = int(base64.urlsafe_b64decode(body["cursor"]).decode()) if body.get("cursor") else 0
            except (ValueError, UnicodeDecodeError):
                raise fail(40058, "invalid cursor") from None
            pairs = [
                (p.userid, d)
                for p in sorted(self.directory.people.values(), key=lambda p: p.userid)
                for d in p.dept_ids
            ]
            page = pairs[offset : offset + limit]
            end = offset + limit
            cursor = base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(pairs) else ""
            return ok(next_cursor=cursor, dept_user=[{"userid": u, "department": d} for u, d in page])
