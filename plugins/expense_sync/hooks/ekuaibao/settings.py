"""The extras of the ``expense_ekuaibao`` connection (``docs/vendors/ekuaibao.md``, "Connection")."""

from __future__ import annotations

from pydantic import Field

from expense_sync.hooks.base import HookSettings


class EkuaibaoSettings(HookSettings):
    """The base hook's settings, plus the dimension categories the chart sync writes to and what
    the webhook receiver needs for outbound messages (出站消息): the secret path tokens of the
    调用Url each configuration posts to (several while one is being replaced), the source
    addresses allowed to post (CIDRs; empty: any), and the 签名秘钥 (signKey) of each
    configuration, which 合思 does not send: only a receiver calling back (E-Bot) sends it; the E-Bot
    callback tries them in order (a wrong key is refused before anything is done). Bookings are read
    from the 订单管理 business object whose 业务对象ID is ``booking_entity_id``."""

    cost_center_dimension: str = Field(default="成本中心", min_length=1)  # category id, name or code
    project_dimension: str = Field(default="项目", min_length=1)
    outbound_path_tokens: list[str] = []
    outbound_allowed_cidrs: list[str] = []
    outbound_sign_keys: list[str] = []
    booking_entity_id: str = ""  # 订单管理's 业务对象ID (its fields are named E_<id>_<name>)
