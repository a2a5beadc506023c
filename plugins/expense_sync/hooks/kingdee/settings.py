"""The extras of the ``erp_kingdee`` connection; what each one means: ``docs/vendors/kingdee.md``."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from expense_sync.erp.model import CHART_KINDS, ChartKind
from expense_sync.hooks.base import HookSettings

FieldKey = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


class KingdeeSettings(HookSettings):
    """Extras of ``erp_kingdee`` (besides the base hook's retry, rate and timeout settings)."""

    acct_id: str = Field(min_length=1)  # 数据中心 (账套) id
    app_id: str = Field(min_length=1)  # 第三方系统登录授权 应用ID
    lcid: int = 2052
    path_prefix: str = "/k3cloud/"
    org_number: str | None = "100"  # use org of the chart (FUseOrgId); None: no org filter
    account_book: str = "001"  # FAccountBookID number when a voucher or a balance names no company
    voucher_group: str = "PRE001"  # 凭证字 FNumber; PRE001 is 记 in the standard preset data
    currencies: dict[str, str] = {"CNY": "PRE001"}  # ISO code -> BD_Currency FNumber
    exchange_rate_type: str = "HLTX01_SYS"  # 固定汇率
    external_ref_field: FieldKey = "F_ES_ExternalRef"
    # the expense item's GL account link; include/mappings/kingdee/expense_category.yaml reads it by name
    expense_account_field: FieldKey | None = "F_ES_AccountId"
    cost_center_form: FieldKey = "BD_Department"  # a form with FParentID, FEffectDate, FLapseDate
    cost_center_flex: FieldKey = "FFLEX5"
    project_form: FieldKey = "BD_Project"
    project_flex: FieldKey = "FF100002"
    changed_since: list[ChartKind] = list(CHART_KINDS)  # kinds whose form filters on FModifyDate
    page_size: int = Field(default=2000, ge=1, le=10_000)
    session_ttl: float = Field(default=1800.0, ge=60)  # K3Cloud names no expiry: log in again after this
    timezone: str = "Asia/Shanghai"  # K3Cloud keeps naive server-local times

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value
