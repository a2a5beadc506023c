"""WeCom (企业微信) ``cgi-bin`` API: the department tree, the members of each department and
approval states.

Connection ``oa_wecom`` (login = CorpID, password = a secret). Token, errcodes, throttling,
endpoints and which secret serves what: ``docs/vendors/wecom.md``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import Field

from expense_sync.hooks.base import HookSettings
from expense_sync.hooks.errcode import ErrcodeHook
from expense_sync.hooks.errors import VendorRequestError

UNKNOWN_DEPARTMENT = 60123  # errcode of department/get for an id WeCom does not have
SP_STATUS = {1: "running", 2: "approved", 3: "rejected", 4: "withdrawn", 6: "withdrawn", 7: "withdrawn", 10: "approved"}


class WeComSettings(HookSettings):
    """Extras of ``oa_wecom``: the hook's, plus the callback (接收事件) Token and EncodingAESKey the
    webhook receiver verifies events with. The receive id is the CorpID (the connection's login)."""

    callback_token: str | None = None
    callback_aes_key: str | None = Field(default=None, min_length=43, max_length=43)


class WeComHook(ErrcodeHook[WeComSettings]):
    """WeCom ``cgi-bin`` API. ``department/list`` is unpaged; members are read per department."""

    default_conn_name = "oa_wecom"
    hook_name = "WeCom"
    vendor = "wecom"
    role = "oa"
    quota_qps = 10_000 / 60  # 10 000 a minute per corp and API
    settings_model = WeComSettings
    token_param = "access_token"
    token_invalid_codes = frozenset({40014, 42001, 40001})
    # 45009: per-minute frequency limit, blocked for 60 s; 45033: too many concurrent calls.
    throttle_codes = {45009: 60.0, 45033: 1.0}

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

    # -- the directory interface every OA hook offers -------------------------------------------
    def departments(self) -> Iterator[dict]:
        return iter(self.list_departments())

    def department(self, dept_id: Any) -> dict | None:
        try:
            return self.request("GET", "/cgi-bin/department/get", params={"id": int(dept_id)})["department"]
        except VendorRequestError as err:
            if err.code == UNKNOWN_DEPARTMENT:
                return None
            raise

    def members(self, dept_id: Any) -> Iterator[dict]:
        return iter(self.list_users(int(dept_id)))

    # -- approvals --------------------------------------------------------------------------------
    def approval_state(self, instance_id: str) -> str:
        """The state of an approval (``oa/getapprovaldetail``, ``sp_status``): ``running`` (1),
        ``approved`` (2, or 10 paid), ``rejected`` (3) or ``withdrawn`` (4 撤销, 6 通过后撤销, 7 删除)."""
        info = self.request("POST", "/cgi-bin/oa/getapprovaldetail", json={"sp_no": instance_id})["info"]
        return SP_STATUS.get(int(info.get("sp_status") or 1), "running")
