"""The ``erp_yonyou`` connection's extras (see ``docs/vendors/yonyou.md`` for what each one feeds)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from expense_sync.hooks.base import HookSettings


class YonyouSettings(HookSettings):
    """Extras of the ``erp_yonyou`` connection."""

    variant: Literal["bip", "ncc"] = "bip"
    tenant_id: str | None = None  # set: discover the gateway and token URLs from the host
    gateway_url: str | None = None  # without discovery: the tenant gateway (default: the host)
    token_url: str | None = None  # without discovery: the auth base (default: the gateway)
    send_tenant_id: bool = False  # add &tenantId= to gateway calls, as some deployments want
    ts_utc_offset: float = 8.0  # the tenant's clock for ``ts`` values (China: UTC+8)
    accbook_code: str | None = None  # the default book (账簿编码): searched first by find_voucher
    voucher_type_code: str = "1"  # 记账凭证 unless a voucher names its type
    maker_mobile: str | None = None  # 制单人: YonBIP needs the mobile or the e-mail of a user
    maker_email: str | None = None
    src_system_code: str = "figl"
    external_source_type: str = "费控报销单"
    external_system_name: str = "expense-sync"
    cost_center_aux_code: str = "0010"  # 辅助核算项 codes are tenant-specific
    project_aux_code: str = "0006"
    page_size: int = Field(default=500, ge=1, le=1000)
    throttle_codes: list[str] = ["310050"]
    balance_statuses: list[str] = ["01", "03", "04"]  # 保存, 已审核, 已记账 (未记账 included)
    # the budget center (YonBIP; [I] paths: docs/vendors/yonyou.md "Budget center")
    budget_balance_path: str = "/yonbip/fi/bcm/openapi/budget/balance"
    budget_holders_path: str = "/yonbip/fi/bcm/openapi/budget/costcenter/holders"
    # NC Cloud (variant "ncc")
    ncc_public_key: str | None = None  # the app's RSA public key (Base64 DER), from 第三方应用注册
    ncc_biz_center: str | None = None  # 账套编码
    ncc_version: Literal["2005", "legacy"] = "2005"
    ncc_usercode: str | None = None
    ncc_maker_code: str | None = None  # ``prepared``: the maker's user code
    ncc_ref_field: str = "freevalue1"  # the line field that carries our reference

    @model_validator(mode="after")
    def _ncc_needs_key(self) -> YonyouSettings:
        if self.variant == "ncc" and not (self.ncc_public_key and self.ncc_biz_center):
            raise ValueError("variant 'ncc' needs ncc_public_key and ncc_biz_center")
        return self
