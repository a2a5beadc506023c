"""WeCom (企业微信) ``cgi-bin`` API: the department tree and the members of each department;
approval applications (:mod:`expense_sync.hooks.wecom.approvals`).

Connection ``oa_wecom`` (login = CorpID, password = a secret). Token, errcodes, throttling,
endpoints and which secret serves what: ``docs/vendors/wecom.md``.

Two rules WeCom brought in during 2022 shape the member listing:

- from 2022-08-15, IPs newly added under 通讯录同步 may no longer call ``user/list``, ``user/get``,
  ``department/list`` nor ``department/get``: WeCom answers errcode 48009. The hook then lists the
  members with the cursor API ``user/list_id`` and the departments with ``department/simplelist``
  (which only the 通讯录同步 secret may call), and reads each one with ``user/get`` /
  ``department/get`` through the connection the extra ``details_conn_id`` names (a self-built app's
  secret, the way WeCom's 适配建议 gives), so the listing stays complete;
- from 2022-06-20, new self-built apps no longer receive the private fields (mobile, e-mail, gender,
  avatar, …). A member record without them says nothing about them: :data:`WeComHook.withheld_fields`
  tells the extraction and the merge that their absence means "unknown", not "cleared".

WeCom has no employee-number field. Tenants keep the 工号 in a custom attribute (``extattr``) whose
name they choose; the connection extra ``employee_no_attr`` names it (default ``工号``). The hook lifts
its value into the record as ``_employee_no`` (and the attribute's name as ``_employee_no_attr``, so a
quarantine can say which attribute was missing); the mapping reads ``_employee_no``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from functools import cached_property
from typing import Any, ClassVar

from pydantic import Field

from expense_sync.hooks.base import HookSettings
from expense_sync.hooks.contract import required
from expense_sync.hooks.errcode import ErrcodeHook
from expense_sync.hooks.errors import VendorRequestError
from expense_sync.hooks.paginate import CursorPaginator
from expense_sync.hooks.wecom.approvals import WeComApprovals

log = logging.getLogger(__name__)

UNKNOWN_DEPARTMENT = 60123  # errcode of department/get for an id WeCom does not have
UNKNOWN_USER = 60111  # errcode of user/get for a userid WeCom does not have
# errcode of the contact APIs WeCom no longer serves to this caller (通讯录同步 from an IP added after
# 2022-08-15): "api forbidden for contact assistant".
LISTING_REFUSED = 48009
LIST_ID_LIMIT = 10_000  # user/list_id: "limit 取值范围 1 ~ 10000"


class WeComSettings(HookSettings):
    """Extras of ``oa_wecom``: the hook's; the name of the custom attribute (``extattr``) that holds
    the employee number (工号); the connection that reads details where WeCom refuses them to this
    one (``details_conn_id``); the callback (接收事件) Token and EncodingAESKey the webhook
    receiver verifies events with (the receive id is the CorpID, the connection's login); and the
    approvals': the template, its Text control for the business key and, optionally, a Textarea
    control for the request's form (see ``approvals``)."""

    employee_no_attr: str = Field(default="工号", min_length=1)
    details_conn_id: str | None = None  # connection (a self-built app's secret) for user/get, department/get
    callback_token: str | None = None
    callback_aes_key: str | None = Field(default=None, min_length=43, max_length=43)
    approval_template_id: str | None = None
    approval_key_control: str | None = None
    approval_form_control: str | None = None


def extattr_text(record: dict[str, Any], name: str) -> str | None:
    """The text value of the custom attribute ``name`` (``extattr.attrs[{type: 0, name, text: {value}}]``),
    stripped; ``None`` when the member has no such attribute or it is empty."""
    attrs = (record.get("extattr") or {}).get("attrs") or []
    for attr in attrs:
        if isinstance(attr, dict) and attr.get("name") == name and attr.get("type", 0) == 0:
            value = (attr.get("text") or {}).get("value", attr.get("value"))
            text = str(value).strip() if value is not None else ""
            return text or None
    return None


class WeComHook(WeComApprovals, ErrcodeHook[WeComSettings]):
    """WeCom ``cgi-bin`` API. ``department/list`` is unpaged; members are read per department, by
    ``user/list`` or, where WeCom refuses it, by ``user/list_id`` and ``user/get``; approval
    applications (:class:`WeComApprovals`)."""

    default_conn_name = "oa_wecom"
    hook_name = "WeCom"
    vendor = "wecom"
    role = "oa"
    quota_qps = 10_000 / 60  # 10 000 a minute per corp and API
    settings_model = WeComSettings
    token_param = "access_token"
    token_invalid_codes = frozenset({40014, 42001, 40001})
    list_id_limit: ClassVar[int] = LIST_ID_LIMIT  # members per user/list_id page
    # 45009: per-minute frequency limit, blocked for 60 s; 45033: too many concurrent calls.
    throttle_codes = {45009: 60.0, 45033: 1.0}
    # Member fields new self-built apps no longer receive (page 96260): absent means unknown.
    withheld_fields: ClassVar[frozenset[str]] = frozenset(
        {"avatar", "thumb_avatar", "gender", "mobile", "email", "biz_mail", "qr_code", "address"}
    )

    # change_contact events (the receiver's event type is Event/ChangeType) naming a member (UserID,
    # NewUserID when the userid itself changed) or a department (Id).
    contact_events: ClassVar[frozenset[str]] = frozenset(
        f"change_contact/{change}"
        for change in ("create_user", "update_user", "delete_user", "create_party", "update_party", "delete_party")
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._user_list_refused = False
        self._department_list_refused = False
        self._member_ids: dict[int, list[str]] | None = None
        self._details: dict[str, dict[str, Any]] = {}

    def fetch_token(self) -> tuple[str, float]:
        conn = self.connection
        body = self.request_token(
            "GET", "/cgi-bin/gettoken", params={"corpid": conn.login, "corpsecret": conn.password}
        )
        return body["access_token"], float(body.get("expires_in", 7200))

    def list_departments(self, dept_id: int | None = None) -> list[dict[str, Any]]:
        """The whole department tree (or the subtree of ``dept_id``) in one call."""
        params = {} if dept_id is None else {"id": dept_id}
        return self.request("GET", "/cgi-bin/department/list", params=params).get("department") or []

    def list_users(self, dept_id: int) -> list[dict[str, Any]]:
        """The members directly in one department, with details (``user/list``, unpaged)."""
        body = self.request("GET", "/cgi-bin/user/list", params={"department_id": dept_id, "fetch_child": 0})
        return body.get("userlist") or []

    def list_member_ids(self) -> dict[int, list[str]]:
        """Every member's userid by department (``user/list_id``, cursor paged; a member in several
        departments is listed under each). Read once per hook: one extraction, one listing."""
        if self._member_ids is None:
            paginator = CursorPaginator(
                cursor_param="cursor",
                next_cursor_path="next_cursor",
                size_param="limit",
                size=self.list_id_limit,
                items_path="dept_user",
            )
            by_dept: dict[int, list[str]] = {}
            for page in self.paginate("POST", "/cgi-bin/user/list_id", paginator, json={}, paging_in="json"):
                for pair in page:
                    dept = required(pair, "department", vendor=self.vendor, endpoint="POST /cgi-bin/user/list_id")
                    userid = required(pair, "userid", vendor=self.vendor, endpoint="POST /cgi-bin/user/list_id")
                    by_dept.setdefault(int(dept), []).append(str(userid))
            self._member_ids = by_dept
        return self._member_ids

    @cached_property
    def details(self) -> WeComHook:
        """The hook that reads ``user/get`` and ``department/get`` once WeCom refused a listing: the
        connection ``details_conn_id`` names, else this one."""
        conn_id = self.settings.details_conn_id
        return WeComHook(conn_id=conn_id) if conn_id else self

    def reader(self) -> WeComHook:
        refused = self._user_list_refused or self._department_list_refused
        return self.details if refused else self

    def get_user(self, userid: str) -> dict[str, Any]:
        """One member's details (``user/get``), read once per hook even when in several departments."""
        if userid not in self._details:
            body = dict(self.request("GET", "/cgi-bin/user/get", params={"userid": userid}))
            for key in ("errcode", "errmsg"):
                body.pop(key, None)
            self._details[userid] = body
        return self._details[userid]

    def with_employee_no(self, record: dict[str, Any]) -> dict[str, Any]:
        """The member record with the configured extattr's 工号 lifted to ``_employee_no``."""
        attr = self.settings.employee_no_attr
        return {**record, "_employee_no": extattr_text(record, attr), "_employee_no_attr": attr}

    def list_department_ids(self) -> list[dict[str, Any]]:
        """Every department's id, parent and order (``department/simplelist``, unpaged)."""
        return self.request("GET", "/cgi-bin/department/simplelist").get("department_id") or []

    # -- the directory interface every OA hook offers -------------------------------------------
    def departments(self) -> Iterator[dict]:
        """The whole tree: ``department/list`` while WeCom serves it, else (errcode 48009)
        ``department/simplelist`` then ``department/get`` for each id."""
        if not self._department_list_refused:
            try:
                return iter(self.list_departments())
            except VendorRequestError as err:
                if err.code != LISTING_REFUSED:
                    raise
                log.warning("WeCom refuses department/list (%s): listing by simplelist and get", err)
                self.count("department_list_refused")
                self._department_list_refused = True
        endpoint = "GET /cgi-bin/department/simplelist"
        ids = [int(required(d, "id", vendor=self.vendor, endpoint=endpoint)) for d in self.list_department_ids()]
        return (dept for dept in (self.department(i) for i in ids) if dept is not None)

    def department(self, dept_id: Any) -> dict | None:
        reader = self.reader()
        try:
            return reader.request("GET", "/cgi-bin/department/get", params={"id": int(dept_id)})["department"]
        except VendorRequestError as err:
            if err.code == UNKNOWN_DEPARTMENT:
                return None
            raise

    def person(self, key: Any) -> dict | None:
        """One member (``user/get``) in the shape ``members`` yields, or ``None`` when WeCom has no such
        userid (a leaver). Where WeCom refuses ``user/get`` to this secret (48009), the details
        connection reads it, as for a refused listing."""
        try:
            try:
                user = self.reader().get_user(str(key))
            except VendorRequestError as err:
                if err.code != LISTING_REFUSED or self.reader() is self.details:
                    raise
                self._user_list_refused = True
                user = self.details.get_user(str(key))
        except VendorRequestError as err:
            if err.code == UNKNOWN_USER:
                return None
            raise
        return self.with_employee_no(user)

    @staticmethod
    def contact_change(payload: dict[str, Any]) -> tuple[list[str], list[str]]:
        """The userids and department ids one ``change_contact`` event names."""
        people = [str(payload[k]) for k in ("UserID", "NewUserID") if payload.get(k) not in (None, "")]
        party = payload.get("Id")
        return people, [str(party)] if party not in (None, "") and "party" in str(payload.get("ChangeType")) else []

    def members(self, dept_id: Any) -> Iterator[dict]:
        """The members directly in ``dept_id``: ``user/list`` while WeCom serves it, else (errcode
        48009, remembered for the rest of this hook's life) ``user/list_id`` then ``user/get`` each."""
        if not self._user_list_refused:
            try:
                users = self.list_users(int(dept_id))
            except VendorRequestError as err:
                if err.code != LISTING_REFUSED:
                    raise
                log.warning("WeCom refuses user/list (%s): listing members by user/list_id and user/get", err)
                self.count("user_list_refused")
                self._user_list_refused = True
            else:
                return (self.with_employee_no(user) for user in users)
        ids = self.list_member_ids().get(int(dept_id), [])
        return (self.with_employee_no(self.details.get_user(userid)) for userid in ids)
