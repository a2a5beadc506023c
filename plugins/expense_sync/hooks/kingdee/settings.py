"""The extras of the ``erp_kingdee`` connection; what each one means: ``docs/vendors/kingdee.md``."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, field_validator

from expense_sync.erp.model import CHART_KINDS, ChartKind
from expense_sync.hooks.base import HookSettings

FieldKey = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]

# role -> field key of each chart form on a standard installation; a role set to None is not read
# (an expense item has no GL account link in standard K3Cloud)
STANDARD_CHART: dict[str, dict] = {
    "gl_account": {"form": "BD_Account", "fields": {"parent": "FParentID", "detail": "FIsDetail", "group": "FGROUPID"}},
    "expense_item": {"form": "BD_Expense", "fields": {"gl_account": None}},
    "cost_center": {
        "form": "BD_Department",
        "fields": {"parent": "FParentID", "valid_from": "FEffectDate", "valid_to": "FLapseDate"},
    },
    "project": {"form": "BD_Project", "fields": {}},
}


class ChartForm(BaseModel, extra="forbid"):
    """Where one chart entity lives: on or off, its FormId and the field key of each role."""

    enabled: bool = True
    form: FieldKey
    fields: dict[str, FieldKey | None] = {}


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
    # the chart forms, each merged over STANDARD_CHART: {"cost_center": {"enabled": false}},
    # {"expense_item": {"fields": {"gl_account": "F_XX_AccountId"}}}, {"cost_center": {"form": "…"}}
    chart_forms: dict[ChartKind, ChartForm] = Field(default_factory=dict, validate_default=True)
    explanation_length: int = Field(default=255, ge=40)  # FEXPLANATION 摘要 characters K3Cloud keeps [I]
    cost_center_flex: FieldKey = "FFLEX5"
    project_flex: FieldKey = "FF100002"
    changed_since: list[ChartKind] = list(CHART_KINDS)  # kinds whose form filters on FModifyDate
    page_size: int = Field(default=2000, ge=1, le=10_000)
    # the budget center's forms ([I]: K3Cloud documents no budget query; docs/vendors/kingdee.md "Budget")
    budget_balance_form: FieldKey = "BM_BudgetBalance"
    budget_center_form: FieldKey = "BM_BudgetCenter"
    session_ttl: float = Field(default=1800.0, ge=60)  # K3Cloud names no expiry: log in again after this
    timezone: str = "Asia/Shanghai"  # K3Cloud keeps naive server-local times

    @field_validator("chart_forms", mode="before")
    @classmethod
    def _over_standard(cls, value: object) -> dict:
        given = value if isinstance(value, dict) else {}
        unknown = set(given) - set(STANDARD_CHART)
        if unknown:
            raise ValueError(f"unknown chart kinds {sorted(unknown)}; known: {sorted(STANDARD_CHART)}")
        merged = {}
        for kind, standard in STANDARD_CHART.items():
            mine = given.get(kind) or {}
            if not isinstance(mine, dict):
                raise ValueError(f"{kind}: expected an object")
            fields = {**standard["fields"], **(mine.get("fields") or {})}
            merged[kind] = {**standard, **mine, "fields": fields}
        return merged

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value
