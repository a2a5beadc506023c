"""The sandbox tenant's master data: a deterministic Chinese-style ``YCOA`` chart, cost centers and projects.

Rebuilt from a seed with sizes (``gl_accounts``, ``cost_centers``, ``projects``). Rows hold Python
values keyed by the OData property names of :mod:`expense_sync_sandboxes.sap.services`.

What a sync has to cope with is seeded on purpose:

* G/L accounts of every type (``X`` balance sheet, ``C`` cash, ``P`` primary costs/revenue, ``N``
  non-operating, ``S`` secondary costs — the value list in the metadata's documentation), one blocked
  for posting and one marked for deletion; texts in ``ZH`` and ``EN`` (not every account has ``EN``);
* cost centers with **two validity periods** (every fifth: renamed on 2024-01-01), one expired on
  2022-12-31, one blocked for primary-cost postings;
* projects in processing statuses ``10`` (released), ``00`` (created) and ``42`` (closed) [I].

Mutations (``POST /_sandbox/mutate``) add, rename and block records and bump ``LastChangeDateTime``;
renaming a G/L account bumps only its text's timestamp unless ``touch_account`` is set [I: SAP keeps
a separate timestamp on ``A_GLAccountText``].
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from typing import Any

CHART_OF_ACCOUNTS = "YCOA"
CONTROLLING_AREA = "A000"
COMPANIES = {  # code -> (name, city)
    "1000": ("示例集团上海有限公司", "上海"),
    "2000": ("示例集团深圳有限公司", "深圳"),
}
CURRENCY = "CNY"
OPEN_END = dt.date(9999, 12, 31)
CUTOVER = dt.date(2024, 1, 1)
SEED_EPOCH = dt.datetime(2023, 1, 2, 8, 0, tzinfo=dt.UTC)

# (GLAccount, group, type, ZH name, EN name or None, flags)
BASE_ACCOUNTS: list[tuple[str, str, str, str, str | None, str]] = [
    ("1001010000", "ASST", "C", "库存现金", "Cash on Hand", ""),
    ("1002010000", "ASST", "C", "银行存款-工商银行", "Bank - ICBC", ""),
    ("1221010000", "ASST", "X", "其他应收款-员工借款", "Employee Advances", ""),
    ("2202010000", "LIAB", "X", "应付账款-一般供应商", "Accounts Payable", ""),
    ("2241010000", "LIAB", "X", "其他应付款-员工报销", "Employee Expenses Payable", ""),
    ("2241090000", "LIAB", "X", "其他应付款-报销清算", "Expense Claims Clearing", ""),
    ("2241030000", "LIAB", "X", "其他应付款-预提费用", None, ""),
    ("2221010100", "LIAB", "X", "应交税费-应交增值税-进项税额", "Input VAT", ""),
    ("4103000000", "EQTY", "X", "本年利润", "Current-Year Earnings", ""),
    ("6001000000", "REVN", "P", "主营业务收入", "Sales Revenue", ""),
    ("6601010000", "EXPN", "P", "销售费用-差旅费", "Selling Exp. - Travel", ""),
    ("6601020000", "EXPN", "P", "销售费用-业务招待费", "Selling Exp. - Entertainment", ""),
    ("6602010000", "EXPN", "P", "管理费用-差旅费", "Admin Exp. - Travel", ""),
    ("6602020000", "EXPN", "P", "管理费用-办公费", "Admin Exp. - Office", ""),
    ("6602030000", "EXPN", "P", "管理费用-业务招待费", "Admin Exp. - Entertainment", ""),
    ("6602040000", "EXPN", "P", "管理费用-交通费", "Admin Exp. - Local Transport", ""),
    ("6602050000", "EXPN", "P", "管理费用-通讯费", None, ""),
    ("6602060000", "EXPN", "P", "管理费用-培训费", "Admin Exp. - Training", ""),
    ("6602980000", "EXPN", "P", "管理费用-会议费(停用)", "Admin Exp. - Meetings (old)", "blocked"),
    ("6602990000", "EXPN", "P", "管理费用-其他(待删除)", "Admin Exp. - Other (to delete)", "deleted"),
    ("6603010000", "EXPN", "N", "财务费用-手续费", "Finance Exp. - Bank Charges", ""),
    ("9401000000", "SECC", "S", "内部作业分摊", "Internal Activity Allocation", ""),
]
EXTRA_EXPENSES = [
    "邮寄费",
    "印刷费",
    "咨询费",
    "审计费",
    "租赁费",
    "物业费",
    "水电费",
    "车辆费",
    "差旅补贴",
    "会务费",
    "招聘费",
    "福利费",
    "劳保费",
    "软件服务费",
    "维修费",
    "广告费",
    "保险费",
    "快递费",
]
UNITS = [
    ("财务部", "Finance"),
    ("人力资源部", "Human Resources"),
    ("研发中心", "R&D Center"),
    ("销售部", "Sales"),
    ("市场部", "Marketing"),
    ("采购部", "Purchasing"),
    ("法务部", "Legal"),
    ("行政部", "Administration"),
    ("审计部", "Internal Audit"),
    ("运营部", "Operations"),
    ("客服部", "Customer Service"),
    ("质量部", "Quality"),
    ("生产部", "Production"),
    ("物流部", "Logistics"),
    ("信息技术部", "IT"),
]
PEOPLE = "王伟 李娜 张敏 刘洋 陈静 杨磊 黄勇 赵艳 吴杰 周涛 徐明 孙超 马丽 朱强 胡军".split()
PROJECT_STATUSES = ["10", "10", "10", "00", "10", "42"]


def _text(account: str, language: str, name: str, at: dt.datetime) -> dict[str, Any]:
    return {
        "ChartOfAccounts": CHART_OF_ACCOUNTS,
        "GLAccount": account,
        "Language": language,
        "GLAccountName": name[:20],
        "GLAccountLongName": name[:50],
        "LastChangeDateTime": at,
    }


def _parse_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _parse_time(value: Any) -> dt.datetime:
    if value is None:
        return dt.datetime.now(dt.UTC).replace(microsecond=0)
    stamp = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)).replace(microsecond=0)


class Chart:
    """G/L accounts, cost centers, projects and company codes, as OData rows."""

    def __init__(self, seed: int = 1, gl_accounts: int = 40, cost_centers: int = 20, projects: int = 6) -> None:
        self.rng = random.Random(seed)
        self.gl_accounts: dict[str, dict[str, Any]] = {}
        self.gl_texts: dict[tuple[str, str], dict[str, Any]] = {}
        self.cost_centers: dict[tuple[str, dt.date], dict[str, Any]] = {}
        self.cost_center_texts: dict[tuple[str, str, dt.date], dict[str, Any]] = {}
        self.projects: dict[str, dict[str, Any]] = {}
        self.companies = [
            {
                "CompanyCode": code,
                "CompanyCodeName": name,
                "CityName": city,
                "Country": "CN",
                "Currency": CURRENCY,
                "Language": "ZH",
                "ChartOfAccounts": CHART_OF_ACCOUNTS,
                "FiscalYearVariant": "K4",
                "ControllingArea": CONTROLLING_AREA,
            }
            for code, (name, city) in COMPANIES.items()
        ]
        for account, group, kind, zh, en, flags in BASE_ACCOUNTS:
            self.add_gl_account(
                account,
                zh,
                group=group,
                type=kind,
                name_en=en,
                at=self._seed_time(),
                blocked=flags == "blocked",
                deleted=flags == "deleted",
            )
        for i in range(max(0, gl_accounts - len(BASE_ACCOUNTS))):
            subject = EXTRA_EXPENSES[i % len(EXTRA_EXPENSES)]
            suffix = "" if i < len(EXTRA_EXPENSES) else str(i // len(EXTRA_EXPENSES) + 1)
            self.add_gl_account(
                f"66021{i:03d}00", f"管理费用-{subject}{suffix}", group="EXPN", type="P", at=self._seed_time()
            )
        for i in range(cost_centers):
            self._seed_cost_center(i, cost_centers)
        for i in range(projects):
            code = f"P{100001 + i}"
            self.add_project(
                code,
                f"{UNITS[i % len(UNITS)][0]}专项项目{i + 1}",
                status=PROJECT_STATUSES[i % len(PROJECT_STATUSES)],
                start="2024-01-01",
                end="2026-12-31",
                at=self._seed_time(),
            )

    def _seed_time(self) -> dt.datetime:
        return SEED_EPOCH + dt.timedelta(days=self.rng.randint(0, 330), seconds=self.rng.randint(0, 36_000))

    def _seed_cost_center(self, i: int, total: int) -> None:
        company = list(COMPANIES)[i % len(COMPANIES)]
        code = f"{company}{i + 1:06d}"
        unit, unit_en = UNITS[i % len(UNITS)]
        person = PEOPLE[i % len(PEOPLE)]
        department = f"D{i % len(UNITS) + 1:03d}"
        if i == total - 1 and total > 3:  # expired
            self.add_cost_center(
                code,
                f"{unit}(已撤销)",
                company=company,
                valid_from="2020-01-01",
                valid_to="2022-12-31",
                name_en=f"{unit_en} (closed)",
                person=person,
                department=department,
            )
        elif i % 5 == 2:  # two validity periods, renamed at the cutover
            self.add_cost_center(
                code,
                f"{unit}(旧)",
                company=company,
                valid_from="2020-01-01",
                valid_to=CUTOVER - dt.timedelta(days=1),
                name_en=f"{unit_en} (old)",
                person=PEOPLE[(i + 3) % len(PEOPLE)],
                department=department,
            )
            self.add_cost_center(
                code,
                unit,
                company=company,
                valid_from=CUTOVER,
                valid_to=OPEN_END,
                name_en=unit_en,
                person=person,
                department=department,
            )
        else:
            self.add_cost_center(
                code,
                unit if i < len(UNITS) else f"{unit}{i // len(UNITS) + 1}",
                company=company,
                valid_from="2020-01-01",
                valid_to=OPEN_END,
                name_en=unit_en,
                person=person,
                department=department,
                blocked=i == 3,
            )

    # -- G/L accounts ----------------------------------------------------------------------------
    def add_gl_account(
        self,
        gl_account: str,
        name: str,
        *,
        group: str = "EXPN",
        type: str = "P",
        name_en: str | None = None,
        at: Any = None,
        blocked: bool = False,
        deleted: bool = False,
    ) -> dict[str, Any]:
        if gl_account in self.gl_accounts:
            raise ValueError(f"G/L account {gl_account} exists")
        stamp = _parse_time(at)
        balance_sheet = type in ("X", "C")
        row = {
            "ChartOfAccounts": CHART_OF_ACCOUNTS,
            "GLAccount": gl_account,
            "IsBalanceSheetAccount": balance_sheet,
            "GLAccountGroup": group,
            "CorporateGroupAccount": None,
            "ProfitLossAccountType": None if balance_sheet else "X",
            "SampleGLAccount": None,
            "AccountIsMarkedForDeletion": deleted,
            "AccountIsBlockedForCreation": False,
            "AccountIsBlockedForPosting": blocked or deleted,
            "AccountIsBlockedForPlanning": False,
            "PartnerCompany": None,
            "FunctionalArea": None,
            "CreationDate": stamp.date(),
            "CreatedByUser": "SAP_SANDBOX",
            "LastChangeDateTime": stamp,
            "GLAccountType": type,
            "GLAccountExternal": gl_account,
            "IsProfitLossAccount": not balance_sheet,
        }
        self.gl_accounts[gl_account] = row
        self.gl_texts[(gl_account, "ZH")] = _text(gl_account, "ZH", name, stamp)
        if name_en:
            self.gl_texts[(gl_account, "EN")] = _text(gl_account, "EN", name_en, stamp)
        return row

    def gl_account(self, gl_account: str) -> dict[str, Any]:
        try:
            return self.gl_accounts[gl_account]
        except KeyError:
            raise KeyError(f"unknown G/L account {gl_account}") from None

    def rename_gl_account(
        self, gl_account: str, name: str, *, language: str = "ZH", touch_account: bool = False, at: Any = None
    ) -> dict[str, Any]:
        row, stamp = self.gl_account(gl_account), _parse_time(at)
        self.gl_texts[(gl_account, language)] = _text(gl_account, language, name, stamp)
        if touch_account:
            row["LastChangeDateTime"] = stamp
        return self.gl_texts[(gl_account, language)]

    def block_gl_account(
        self, gl_account: str, *, posting: bool = True, deletion: bool = False, at: Any = None
    ) -> dict[str, Any]:
        row = self.gl_account(gl_account)
        row["AccountIsBlockedForPosting"] = posting or deletion
        row["AccountIsMarkedForDeletion"] = deletion
        row["LastChangeDateTime"] = _parse_time(at)
        return row

    # -- cost centers ----------------------------------------------------------------------------
    def add_cost_center(
        self,
        cost_center: str,
        name: str,
        *,
        company: str = "1000",
        valid_from: Any = "2020-01-01",
        valid_to: Any = OPEN_END,
        name_en: str | None = None,
        person: str = "王伟",
        department: str = "D001",
        blocked: bool = False,
    ) -> dict[str, Any]:
        start, end = _parse_date(valid_from), _parse_date(valid_to)
        if start > end:
            raise ValueError("valid_from is after valid_to")
        for (code, other_end), other in self.cost_centers.items():
            if code == cost_center and other["ValidityStartDate"] <= end and start <= other_end:
                raise ValueError(f"cost center {cost_center} already has a period overlapping {start}..{end}")
        row = {
            "ControllingArea": CONTROLLING_AREA,
            "CostCenter": cost_center,
            "ValidityEndDate": end,
            "ValidityStartDate": start,
            "CompanyCode": company,
            "BusinessArea": None,
            "CostCtrResponsiblePersonName": person,
            "CostCtrResponsibleUser": None,
            "CostCenterCurrency": CURRENCY,
            "ProfitCenter": f"YB{company}",
            "Department": department,
            "CostingSheet": None,
            "FunctionalArea": "YB40",
            "Country": "CN",
            "Region": None,
            "CityName": COMPANIES.get(company, ("", ""))[1],
            "CostCenterStandardHierArea": f"{company}_ROOT",
            "CostCenterCategory": "H",
            "IsBlkdForPrimaryCostsPosting": "X" if blocked else None,
            "IsBlkdForSecondaryCostsPosting": None,
            "IsBlockedForRevenuePosting": None,
            "IsBlockedForCommitmentPosting": None,
            "IsBlockedForPlanPrimaryCosts": None,
            "IsBlockedForPlanSecondaryCosts": None,
            "IsBlockedForPlanRevenues": None,
            "ConsumptionQtyIsRecorded": None,
            "Language": "ZH",
            "CostCenterCreatedByUser": "SAP_SANDBOX",
            "CostCenterCreationDate": start,
        }
        self.cost_centers[(cost_center, end)] = row
        for language, text in (("ZH", name), ("EN", name_en)):
            if text:
                self.cost_center_texts[(cost_center, language, end)] = {
                    "CostCenter": cost_center,
                    "ControllingArea": CONTROLLING_AREA,
                    "Language": language,
                    "ValidityEndDate": end,
                    "ValidityStartDate": start,
                    "CostCenterName": text[:20],
                    "CostCenterDescription": text[:40],
                }
        return row

    def cost_center_on(self, cost_center: str, day: dt.date) -> dict[str, Any] | None:
        """The period of a cost center valid on ``day``."""
        for (code, end), row in self.cost_centers.items():
            if code == cost_center and row["ValidityStartDate"] <= day <= end:
                return row
        return None

    def _current_period(self, cost_center: str) -> dict[str, Any]:
        row = self.cost_center_on(cost_center, dt.date.today())
        if row is None:
            raise KeyError(f"cost center {cost_center} has no period valid today")
        return row

    def rename_cost_center(self, cost_center: str, name: str, *, language: str = "ZH") -> dict[str, Any]:
        row = self._current_period(cost_center)
        key = (cost_center, language, row["ValidityEndDate"])
        text = self.cost_center_texts.setdefault(
            key,
            {
                "CostCenter": cost_center,
                "ControllingArea": CONTROLLING_AREA,
                "Language": language,
                "ValidityEndDate": row["ValidityEndDate"],
                "ValidityStartDate": row["ValidityStartDate"],
            },
        )
        text.update(CostCenterName=name[:20], CostCenterDescription=name[:40])
        return text

    def block_cost_center(self, cost_center: str, *, blocked: bool = True) -> dict[str, Any]:
        row = self._current_period(cost_center)
        row["IsBlkdForPrimaryCostsPosting"] = "X" if blocked else None
        return row

    # -- projects --------------------------------------------------------------------------------
    def add_project(
        self,
        project: str,
        name: str,
        *,
        status: str = "10",
        company: str = "1000",
        start: Any = "2024-01-01",
        end: Any = "2026-12-31",
        at: Any = None,
    ) -> dict[str, Any]:
        if project in self.projects:
            raise ValueError(f"project {project} exists")
        stamp = _parse_time(at)
        row = {
            "ProjectUUID": str(uuid.uuid5(uuid.NAMESPACE_URL, f"sap-sandbox/project/{project}")),
            "ProjectInternalID": f"{len(self.projects) + 1:08d}",
            "Project": project,
            "ProjectDescription": name[:40],
            "EnterpriseProjectType": "YP05",
            "PriorityCode": "2",
            "ProjectStartDate": _parse_date(start),
            "ProjectEndDate": _parse_date(end),
            "ProcessingStatus": status,
            "ResponsibleCostCenter": None,
            "ProfitCenter": f"YB{company}",
            "ProjectProfileCode": "YP05",
            "FunctionalArea": "YB40",
            "CompanyCode": company,
            "ControllingArea": CONTROLLING_AREA,
            "Plant": None,
            "Location": None,
            "ProjectCurrency": CURRENCY,
            "CreatedByUser": "SAP_SANDBOX",
            "CreationDateTime": stamp,
            "LastChangedByUser": "SAP_SANDBOX",
            "LastChangeDateTime": stamp,
        }
        self.projects[project] = row
        return row

    def set_project_status(self, project: str, status: str, *, at: Any = None) -> dict[str, Any]:
        try:
            row = self.projects[project]
        except KeyError:
            raise KeyError(f"unknown project {project}") from None
        row.update(ProcessingStatus=status, LastChangeDateTime=_parse_time(at))
        return row

    # -- OData tables ----------------------------------------------------------------------------
    def tables(self) -> dict[str, list[dict[str, Any]]]:
        return {
            "A_GLAccountInChartOfAccounts": list(self.gl_accounts.values()),
            "A_GLAccountText": list(self.gl_texts.values()),
            "A_CostCenter": list(self.cost_centers.values()),
            "A_CostCenterText": list(self.cost_center_texts.values()),
            "A_EnterpriseProject": list(self.projects.values()),
            "A_CompanyCode": self.companies,
        }

    MUTATIONS = (
        "add_gl_account",
        "rename_gl_account",
        "block_gl_account",
        "add_cost_center",
        "rename_cost_center",
        "block_cost_center",
        "add_project",
        "set_project_status",
    )
