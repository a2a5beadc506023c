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
"""

from __future__ import annotations

import base64
import json
import random
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from expense_sync_sandboxes.approvals import wecom_info
from expense_sync_sandboxes.core import VendorHTTPError, json_response
from expense_sync_sandboxes.oa import DirectorySandbox
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
