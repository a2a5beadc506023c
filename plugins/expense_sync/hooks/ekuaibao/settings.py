"""The extras of the ``expense_ekuaibao`` connection (``docs/vendors/ekuaibao.md``, "Connection")."""

from __future__ import annotations

from pydantic import Field

from expense_sync.hooks.base import HookSettings


class EkuaibaoSettings(HookSettings):
    """The base hook's settings, plus the dimension categories the chart sync writes to and the
    签名秘钥 (signKey) of each outbound-message configuration the webhook receiver accepts."""

    cost_center_dimension: str = Field(default="成本中心", min_length=1)  # category id, name or code
    project_dimension: str = Field(default="项目", min_length=1)
    outbound_sign_keys: list[str] = []
