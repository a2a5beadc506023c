"""DingTalk (钉钉) server API (``oapi``): the org tree and the people in it; approval instances through
the workflow API (:mod:`expense_sync.hooks.dingtalk.approvals`).

Connection ``oa_dingtalk`` (login = AppKey, password = AppSecret). Token, errcodes, throttling and
endpoints: ``docs/vendors/dingtalk.md``.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator
from typing import Any, ClassVar

import requests
from pydantic import Field

from expense_sync.hooks.base import HookSettings
from expense_sync.hooks.contract import required
from expense_sync.hooks.dingtalk.approvals import DingTalkApprovals
from expense_sync.hooks.errcode import ErrcodeHook
from expense_sync.hooks.errors import (
    ThrottledError,
    VendorRequestError,
)
from expense_sync.hooks.paginate import CursorPaginator

log = logging.getLogger(__name__)

ROOT_DEPT_ID = 1
# department/list (the older API) names a department's fields as the v2 listsub does not
OLD_DEPARTMENT_FIELDS = {
    "id": "dept_id",
    "parentid": "parent_id",
    "createDeptGroup": "create_dept_group",
    "autoAddUser": "auto_add_user",
}
UNKNOWN_DEPARTMENT = 60003  # errcode of department/get for an id DingTalk does not have
UNKNOWN_USER = 60121  # errcode of user/get for a userid DingTalk does not have (找不到该用户)


class DingTalkSettings(HookSettings):
    """Extras of ``oa_dingtalk``: the hook's, plus the event-callback (事件与回调) secrets the webhook
    receiver verifies pushes with (the owner key defaults to the AppKey, the connection's login), and
    the approvals': the template's process code, the label of the form field that carries the
    business key, and the workflow API's base URL when it is not the default (see ``approvals``)."""

    callback_token: str | None = None
    callback_aes_key: str | None = Field(default=None, min_length=43, max_length=43)
    callback_owner_key: str | None = None
    approval_process_code: str | None = None
    approval_key_field: str = Field(default="业务单号", min_length=1)
    workflow_base_url: str | None = None


class DingTalkHook(DingTalkApprovals, ErrcodeHook[DingTalkSettings]):
    """DingTalk server API (``oapi``): departments in one ``department/list`` call (else via ``listsub``),
    users via ``user/list`` cursors; approval instances (:class:`DingTalkApprovals`)."""

    default_conn_name = "oa_dingtalk"
    hook_name = "DingTalk"
    vendor = "dingtalk"
    role = "oa"
    quota_qps = 20.0  # an internal app of the standard edition (40 professional, 60 exclusive)
    settings_model = DingTalkSettings
    token_param = "access_token"
    html_throttle = True  # the gateway blocks an IP that calls too often with an HTML page
    token_invalid_codes = frozenset({40014, 42001, 40001, 33001})
    # 90002 global, 90018 internal-app QPS, 90019 ISV-app QPS: all per-second budgets.
    throttle_codes = {90002: 1.0, 90018: 1.0, 90019: 1.0}

    page_size = 100
    # Manager fields only some answers carry (docs/vendors/dingtalk.md, "Managers"): department/get's
    # dept_manager_userid_list (the listings lack it) and user/get's manager_userid (only when set).
    # Their absence from a listing is no schema drift. The listing names a department's managers by
    # its members' ``leader`` flag instead (``members``, ``listed_managers``).
    withheld_fields: ClassVar[frozenset[str]] = frozenset({"dept_manager_userid_list", "manager_userid"})
    # 通讯录事件 (EventType) naming the people (UserId) or departments (DeptId) that changed.
    contact_events: ClassVar[frozenset[str]] = frozenset(
        {
            "user_add_org",
            "user_modify_org",
            "user_leave_org",
            "user_active_org",
            "org_dept_create",
            "org_dept_modify",
            "org_dept_remove",
        }
    )

    def __init__(self, conn_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(conn_id, **kwargs)
        # department id (str) -> userid of its first member listed with leader=true (see ``members``)
        self.listed_managers: dict[str, str] = {}

    def fetch_token(self) -> tuple[str, float]:
        conn = self.connection
        body = self.request_token("GET", "/gettoken", params={"appkey": conn.login, "appsecret": conn.password})
        token = required(body, "access_token", vendor=self.vendor, endpoint="GET /gettoken")
        # DingTalk's own example answer carries no expires_in; its page gives the life as 7200 s.
        return token, float(body.get("expires_in", 7200))

    def check_body(self, response: requests.Response, body: Any, endpoint: str) -> None:
        if isinstance(body, dict) and body.get("punish") == "deny":
            configured = self.settings.throttle_wait
            raise ThrottledError(
                "egress IP blocked for calling too often",
                retry_after=float(body.get("wait") or 5) * 60 if configured is None else configured,
                vendor=self.vendor,
                endpoint=endpoint,
                status=response.status_code,
                code=body.get("status"),
            )
        self.check_v1_error(response, body, endpoint)
        super().check_body(response, body, endpoint)

    def list_sub_departments(self, dept_id: int) -> list[dict]:
        """The direct children of a department (``topapi/v2/department/listsub``)."""
        body = self.request("POST", "/topapi/v2/department/listsub", json={"dept_id": dept_id, "language": "zh_CN"})
        return body.get("result") or []

    def get_department(self, dept_id: int) -> dict:
        body = self.request("POST", "/topapi/v2/department/get", json={"dept_id": dept_id, "language": "zh_CN"})
        return body["result"]

    def department_tree(self) -> list[dict] | None:
        """Every department under the root in one call (``GET /department/list`` with ``fetch_child``),
        in the shape ``listsub`` gives (``dept_id``, ``parent_id``, …); ``None`` when DingTalk refuses
        the call (an errcode: an app without the right, an ISV app, the older API withdrawn)."""
        try:
            body = self.request("GET", "/department/list", params={"id": ROOT_DEPT_ID, "fetch_child": "true"})
        except VendorRequestError as err:
            log.warning("DingTalk refuses department/list (%s): walking the tree with listsub", err)
            return None
        departments = required(body, "department", vendor=self.vendor, endpoint="GET /department/list")
        return [{OLD_DEPARTMENT_FIELDS.get(k, k): v for k, v in dept.items()} for dept in departments]

    def iter_departments(self) -> Iterator[dict]:
        """Every department, root first: the whole tree in one call where DingTalk allows it, else
        walking it breadth-first one level per call. The step's counts say which (``department_tree``
        or ``department_walk``)."""
        root = self.get_department(ROOT_DEPT_ID)
        yield {"dept_id": root["dept_id"], "name": root["name"], "parent_id": None}
        seen: set[Any] = {ROOT_DEPT_ID}
        tree = self.department_tree()
        if tree is not None:
            self.count("department_tree")
            for dept in tree:
                if dept.get("dept_id") not in seen:  # listed twice: once is enough
                    seen.add(dept.get("dept_id"))
                    yield dept
            return
        self.count("department_walk")
        queue = deque([ROOT_DEPT_ID])
        while queue:
            for dept in self.list_sub_departments(queue.popleft()):
                if dept["dept_id"] in seen:  # a cycle in the vendor's tree: never loop on it
                    continue
                seen.add(dept["dept_id"])
                queue.append(dept["dept_id"])
                yield dept

    def iter_users(self, dept_id: int) -> Iterator[list[dict]]:
        """Pages of the users directly in one department (``topapi/v2/user/list``)."""
        paginator = CursorPaginator(
            cursor_param="cursor",
            next_cursor_path="result.next_cursor",
            has_more_path="result.has_more",
            size_param="size",
            size=self.page_size,
            initial_cursor=0,
            items_path="result.list",
        )
        yield from self.paginate(
            "POST",
            "/topapi/v2/user/list",
            paginator,
            json={"dept_id": dept_id, "order_field": "entry_asc", "contain_access_limit": False, "language": "zh_CN"},
            paging_in="json",
        )

    # -- the directory interface every OA hook offers -------------------------------------------
    def departments(self) -> Iterator[dict]:
        self.listed_managers = {}  # a new listing: the managers its members name start afresh
        return self.iter_departments()

    def department(self, dept_id: Any) -> dict | None:
        try:
            return self.get_department(int(dept_id))
        except VendorRequestError as err:
            if err.code == UNKNOWN_DEPARTMENT:
                return None
            raise

    def person(self, key: Any) -> dict | None:
        """One user (``topapi/v2/user/get``) in the shape ``members`` yields, or ``None`` when DingTalk
        has no such userid (a leaver). The departments it leads (``leader_in_dept``) join
        ``listed_managers`` as a listing's ``leader`` flags would."""
        try:
            body = self.request("POST", "/topapi/v2/user/get", json={"userid": str(key), "language": "zh_CN"})
        except VendorRequestError as err:
            if err.code == UNKNOWN_USER:
                return None
            raise
        user = dict(required(body, "result", vendor=self.vendor, endpoint="POST /topapi/v2/user/get"))
        for entry in user.pop("leader_in_dept", None) or []:
            if isinstance(entry, dict) and entry.get("leader") is True and user.get("userid"):
                self.listed_managers.setdefault(str(entry.get("dept_id")), str(user["userid"]))
        user.pop("role_list", None)  # not in a listing's record, and never mapped
        return user

    @staticmethod
    def contact_change(payload: dict[str, Any]) -> tuple[list[str], list[str]]:
        """The userids and department ids one 通讯录事件 names (``UserId``, ``DeptId``: lists)."""
        return (
            [str(u) for u in payload.get("UserId") or [] if u not in (None, "")],
            [str(d) for d in payload.get("DeptId") or [] if d not in (None, "")],
        )

    def members(self, dept_id: Any) -> Iterator[dict]:
        """The users listed in one department. Their ``leader`` (是否为部门的主管) is about the department
        listed, not the person: it is taken off the record (a manager of one department listed in another
        would otherwise be one person with two contents, which the landing quarantines) and the first
        user listed with ``leader`` true is kept as the department's manager in ``listed_managers``
        (a department with several leaders: the first in the listing's order, ``entry_asc``)."""
        key = str(dept_id)
        for page in self.iter_users(int(dept_id)):
            for user in page:
                if user.pop("leader", None) is True and user.get("userid"):
                    self.listed_managers.setdefault(key, str(user["userid"]))
                yield user
