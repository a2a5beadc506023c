"""The seeded basedata of one K3Cloud data center: accounts, expense items, departments, projects.

Deterministic from a seed, with realistic Chinese names and a hierarchy: accounts follow the
企业会计准则 chart (``6602 管理费用`` → ``6602.01 差旅费``), and only leaves (``FIsDetail``) accept
postings. Every record carries ``FForbidStatus`` (A enabled / B forbidden), ``FDocumentStatus``
(C audited), ``FCreateOrgId``/``FUseOrgId`` (org ``100``) and ``FModifyDate``, which every change
made through :meth:`Chart.apply` moves to the server's local now.

[I] choices (research gaps): cost centers are departments (``BD_Department``, voucher dimension
``FFLEX5`` 部门, as K3Cloud expense vouchers commonly use); projects are ``BD_Project`` (voucher
dimension ``FF100002``, a user-defined 核算维度); an expense item links its GL account through the
customer extension field ``F_ES_AccountId``; account categories (``FGROUPID``) are simplified.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any
from zoneinfo import ZoneInfo

SERVER_TZ = ZoneInfo("Asia/Shanghai")
SEED_EPOCH = dt.datetime(2024, 1, 2, 9, 0, 0)

ORG = {"Id": 1, "FNumber": "100", "FName": "示范公司"}
CURRENCIES = [
    {"Id": 1, "FNumber": "PRE001", "FName": "人民币", "FCode": "CNY"},
    {"Id": 7, "FNumber": "PRE007", "FName": "美元", "FCode": "USD"},
]
RATE_TYPES = [{"Id": 1, "FNumber": "HLTX01_SYS", "FName": "固定汇率"}]
VOUCHER_GROUPS = [
    {"Id": 1, "FNumber": "PRE001", "FName": "记"},
    {"Id": 2, "FNumber": "PRE002", "FName": "收"},
    {"Id": 3, "FNumber": "PRE003", "FName": "付"},
    {"Id": 4, "FNumber": "PRE004", "FName": "转"},
]
ACCOUNT_BOOKS = [{"Id": 1, "FNumber": "001", "FName": "示范公司主账簿", "FAccountOrgID": ORG, "FCurrencyID": None}]
ACCOUNT_GROUPS = {
    "流动资产": 1,
    "非流动资产": 2,
    "流动负债": 3,
    "所有者权益": 4,
    "成本": 5,
    "营业收入": 6,
    "营业成本及税金": 7,
    "期间费用": 8,
    "其他损失": 9,
}

# number, name, category (科目类别), balance direction (1 debit, -1 credit); parents come first
ACCOUNTS = [
    ("1001", "库存现金", "流动资产", 1),
    ("1002", "银行存款", "流动资产", 1),
    ("1002.01", "工商银行基本户", "流动资产", 1),
    ("1002.02", "招商银行一般户", "流动资产", 1),
    ("1012", "其他货币资金", "流动资产", 1),
    ("1122", "应收账款", "流动资产", 1),
    ("1123", "预付账款", "流动资产", 1),
    ("1221", "其他应收款", "流动资产", 1),
    ("1221.01", "员工备用金", "流动资产", 1),
    ("1221.02", "押金保证金", "流动资产", 1),
    ("1601", "固定资产", "非流动资产", 1),
    ("1602", "累计折旧", "非流动资产", -1),
    ("2202", "应付账款", "流动负债", -1),
    ("2211", "应付职工薪酬", "流动负债", -1),
    ("2211.01", "工资", "流动负债", -1),
    ("2211.02", "职工福利费", "流动负债", -1),
    ("2221", "应交税费", "流动负债", -1),
    ("2221.01", "应交增值税", "流动负债", -1),
    ("2221.01.01", "进项税额", "流动负债", -1),
    ("2221.01.02", "销项税额", "流动负债", -1),
    ("2241", "其他应付款", "流动负债", -1),
    ("2241.01", "员工报销款", "流动负债", -1),
    ("2241.02", "押金", "流动负债", -1),
    ("2241.03", "预提费用", "流动负债", -1),
    ("2241.09", "费用报销清算", "流动负债", -1),
    ("4001", "实收资本", "所有者权益", -1),
    ("4104", "利润分配", "所有者权益", -1),
    ("5001", "生产成本", "成本", 1),
    ("5301", "研发支出", "成本", 1),
    ("5301.01", "费用化支出", "成本", 1),
    ("5301.02", "资本化支出", "成本", 1),
    ("6001", "主营业务收入", "营业收入", -1),
    ("6401", "主营业务成本", "营业成本及税金", 1),
    ("6403", "税金及附加", "营业成本及税金", 1),
    ("6601", "销售费用", "期间费用", 1),
    ("6601.01", "差旅费", "期间费用", 1),
    ("6601.02", "业务招待费", "期间费用", 1),
    ("6601.03", "广告宣传费", "期间费用", 1),
    ("6601.04", "销售佣金", "期间费用", 1),
    ("6602", "管理费用", "期间费用", 1),
    ("6602.01", "差旅费", "期间费用", 1),
    ("6602.02", "交通费", "期间费用", 1),
    ("6602.03", "业务招待费", "期间费用", 1),
    ("6602.04", "办公费", "期间费用", 1),
    ("6602.05", "通讯费", "期间费用", 1),
    ("6602.06", "会议费", "期间费用", 1),
    ("6602.07", "培训费", "期间费用", 1),
    ("6602.08", "福利费", "期间费用", 1),
    ("6602.09", "租赁费", "期间费用", 1),
    ("6602.10", "水电费", "期间费用", 1),
    ("6602.11", "咨询服务费", "期间费用", 1),
    ("6602.12", "招聘费", "期间费用", 1),
    ("6603", "财务费用", "期间费用", 1),
    ("6603.01", "利息支出", "期间费用", 1),
    ("6603.02", "手续费", "期间费用", 1),
    ("6711", "营业外支出", "其他损失", 1),
]
FORBIDDEN_ACCOUNTS = {"6601.04"}  # a legacy account nobody may post to any more
# extra expense accounts beyond the standard chart go under these parents
EXTRA_ACCOUNT_PARENTS = ("6602", "6601")
EXTRA_ACCOUNT_NAMES = [
    "物业管理费", "修理费", "保险费", "审计费", "诉讼费", "车辆使用费", "低值易耗品摊销", "折旧费",
    "无形资产摊销", "快递费", "印刷费", "残疾人保障金", "工会经费", "职工教育经费", "董事会费", "软件服务费",
]  # fmt: skip

# name, linked GL account ([I] custom field F_ES_AccountId)
EXPENSE_ITEMS = [
    ("差旅费", "6602.01"), ("交通费", "6602.02"), ("业务招待费", "6602.03"), ("办公费", "6602.04"),
    ("通讯费", "6602.05"), ("会议费", "6602.06"), ("培训费", "6602.07"), ("福利费", "6602.08"),
    ("租赁费", "6602.09"), ("水电费", "6602.10"), ("咨询服务费", "6602.11"), ("招聘费", "6602.12"),
    ("销售差旅费", "6601.01"), ("客户招待费", "6601.02"), ("市场推广费", "6601.03"), ("住宿费", "6602.01"),
    ("餐补", "6602.08"), ("快递费", "6602.04"), ("软件订阅费", "6602.11"), ("团建费", "6602.08"),
    ("网络费", "6602.05"), ("体检费", "6602.08"), ("研发材料费", "5301.01"), ("银行手续费", "6603.02"),
]  # fmt: skip

# name, index of the parent (None: top level)
DEPARTMENTS = [
    ("总经办", None), ("财务中心", None), ("人力行政中心", None), ("营销中心", None), ("研发中心", None),
    ("供应链中心", None), ("会计部", 1), ("资金部", 1), ("人力资源部", 2), ("行政部", 2), ("华东销售部", 3),
    ("华南销售部", 3), ("市场部", 3), ("平台研发部", 4), ("产品部", 4), ("采购部", 5), ("仓储物流部", 5),
    ("质量部", 5),
]  # fmt: skip
PROJECTS = [
    "华东门店数字化改造", "ERP二期实施", "费控系统上线", "新品发布会", "年度审计", "数据中台建设",
    "华南仓储扩建", "品牌升级", "员工培训计划", "海外市场调研", "研发中心装修", "客户满意度提升",
]  # fmt: skip
REGIONS = ["华东", "华南", "华北", "西南", "西北", "东北", "华中"]

BASE_FIELDS = (
    "Id", "FMasterId", "FNumber", "FName", "FForbidStatus", "FDocumentStatus", "FCreateOrgId", "FUseOrgId",
    "FCreateDate", "FModifyDate", "FDescription",
)  # fmt: skip
# form id -> (primary key field, extra fields with their default)
FORMS: dict[str, tuple[str, dict[str, Any]]] = {
    "BD_Account": (
        "FACCTID",
        {"FParentID": None, "FIsDetail": True, "FLevel": 1, "FFullName": "", "FGROUPID": None, "FDC": 1},
    ),
    "BD_Expense": ("FEXPID", {"F_ES_AccountId": None}),
    "BD_Department": ("FDEPTID", {"FParentID": None, "FEffectDate": None, "FLapseDate": None}),
    "BD_Project": ("FID", {}),
}


def now() -> dt.datetime:
    """The server's local time (K3Cloud keeps naive local times), to the millisecond."""
    moment = dt.datetime.now(SERVER_TZ).replace(tzinfo=None)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def variant(names: list[str], i: int) -> str:
    """The ``i``-th name: the list itself first, then regional variants, then numbered ones."""
    base, round_ = names[i % len(names)], i // len(names)
    if round_ == 0:
        return base
    region = REGIONS[(round_ - 1) % len(REGIONS)]
    lap = (round_ - 1) // len(REGIONS)
    return f"{base}（{region}{lap + 1 if lap else ''}）"


class Chart:
    """The basedata forms, each a list of records (dicts keyed by K3Cloud field keys)."""

    def __init__(self, *, seed: int, accounts: int, expense_items: int, cost_centers: int, projects: int) -> None:
        self.rng = random.Random(seed)
        self.forms: dict[str, list[dict[str, Any]]] = {form: [] for form in FORMS}
        self.index: dict[str, dict[str, dict[str, Any]]] = {form: {} for form in FORMS}
        self.next_id = 100_001
        self._seed_accounts(accounts)
        self._seed_expense_items(expense_items)
        self._seed_departments(cost_centers)
        self._seed_projects(projects)
        self.static = {
            "BD_AccountBook": ACCOUNT_BOOKS,
            "BD_VOUCHERGROUP": VOUCHER_GROUPS,
            "BD_Currency": CURRENCIES,
            "BD_RateType": RATE_TYPES,
            "ORG_Organizations": [ORG],
        }

    # -- seeding ----------------------------------------------------------------------------------
    def _seeded_dates(self) -> tuple[dt.datetime, dt.datetime]:
        created = SEED_EPOCH + dt.timedelta(days=self.rng.randrange(0, 400), seconds=self.rng.randrange(0, 36_000))
        return created, created + dt.timedelta(days=self.rng.randrange(0, 120), seconds=self.rng.randrange(0, 3_600))

    def _new(self, form: str, number: str, name: str, *, modified: dt.datetime | None = None, **fields: Any) -> dict:
        pk, extra = FORMS[form]
        created, seeded_modified = self._seeded_dates()
        record = {
            "Id": self.next_id,
            pk: self.next_id,
            "FMasterId": self.next_id,
            "FNumber": number,
            "FName": name,
            "FForbidStatus": "A",
            "FDocumentStatus": "C",
            "FCreateOrgId": ORG,
            "FUseOrgId": ORG,
            "FCreateDate": modified or created,
            "FModifyDate": modified or seeded_modified,
            "FDescription": "",
            **extra,
            **fields,
        }
        self.next_id += 1
        self.forms[form].append(record)
        self.index[form][number] = record
        return record

    def _account(self, number: str, name: str, category: str, dc: int, **kw: Any) -> dict:
        parent = self.index["BD_Account"].get(number.rsplit(".", 1)[0]) if "." in number else None
        if parent is not None:
            parent["FIsDetail"] = False
        group = {"Id": ACCOUNT_GROUPS[category], "FNumber": str(ACCOUNT_GROUPS[category]), "FName": category}
        return self._new(
            "BD_Account",
            number,
            name,
            FParentID=parent,
            FLevel=number.count(".") + 1,
            FFullName=f"{parent['FFullName']}_{name}" if parent else name,
            FGROUPID=group,
            FDC=dc,
            **kw,
        )

    def _seed_accounts(self, size: int) -> None:
        for number, name, category, dc in ACCOUNTS[:size]:
            self._account(number, name, category, dc, FForbidStatus="B" if number in FORBIDDEN_ACCOUNTS else "A")
        extras = []
        for i in range(max(0, size - len(ACCOUNTS))):
            parent = EXTRA_ACCOUNT_PARENTS[i % len(EXTRA_ACCOUNT_PARENTS)]
            extras.append(self._account(f"{parent}.{50 + i // 2}", variant(EXTRA_ACCOUNT_NAMES, i // 2), "期间费用", 1))
        self._forbid_some(extras)

    def _seed_expense_items(self, size: int) -> None:
        for i in range(size):
            name, account = EXPENSE_ITEMS[i % len(EXPENSE_ITEMS)]
            label = variant([n for n, _ in EXPENSE_ITEMS], i)
            self._new("BD_Expense", f"FYXM{i + 1:04d}", label, F_ES_AccountId=self.index["BD_Account"].get(account))
        self._forbid_some(self.forms["BD_Expense"])

    def _seed_departments(self, size: int) -> None:
        seeded: list[dict] = []
        teams = [(n, p) for n, p in DEPARTMENTS if p is not None]
        for i in range(size):
            if i < len(DEPARTMENTS):  # the company's departments, then regional copies of its teams
                name, parent_at = DEPARTMENTS[i]
            else:
                extra = len(teams) + i - len(DEPARTMENTS)
                name, parent_at = variant([n for n, _ in teams], extra), teams[extra % len(teams)][1]
            parent = seeded[parent_at] if parent_at is not None and parent_at < len(seeded) else None
            created, _ = self._seeded_dates()
            seeded.append(
                self._new("BD_Department", f"BM{i + 1:06d}", name, FParentID=parent, FEffectDate=created.date())
            )

    def _seed_projects(self, size: int) -> None:
        for i in range(size):
            self._new("BD_Project", f"XM{2024001 + i}", variant(PROJECTS, i))

    def _forbid_some(self, records: list[dict[str, Any]]) -> None:
        """A few forbidden records, as every real chart has."""
        for record in records:
            if self.rng.random() < 0.04:
                record["FForbidStatus"] = "B"

    # -- access -----------------------------------------------------------------------------------
    def rows(self, form: str) -> list[dict[str, Any]] | None:
        """The records of a form (by FormId, case-insensitive), or ``None`` for an unknown form."""
        for name, records in (*self.forms.items(), *self.static.items()):
            if name.lower() == form.lower():
                return records
        return None

    def fields(self, form: str) -> list[str]:
        """The field keys of a form (known even when it has no records)."""
        for name, (pk, extra) in FORMS.items():
            if name.lower() == form.lower():
                return [*BASE_FIELDS, pk, *extra]
        records = self.rows(form) or []
        return list(records[0]) if records else []

    def get(self, form: str, number: str | None) -> dict[str, Any] | None:
        """A record by its ``FNumber`` (through the index where the form has one)."""
        if number is None:
            return None
        if form in self.index:
            return self.index[form].get(number)
        return next((r for r in self.rows(form) or [] if r["FNumber"] == number), None)

    # -- changes (the control API) ----------------------------------------------------------------
    def apply(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        """``add`` / ``rename`` / ``forbid`` / ``enable`` one record; its ``FModifyDate`` moves to now."""
        form = args["form"]
        if form not in FORMS:
            raise ValueError(f"unknown form {form!r}; known: {', '.join(FORMS)}")
        moment = now()
        if op == "add":
            return describe(self._add(form, args, moment))
        record = self.index[form].get(args["number"])
        if record is None:
            raise KeyError(f"{form} has no record {args['number']!r}")
        if op == "rename":
            record["FName"] = args["name"]
        elif op in ("forbid", "enable"):
            record["FForbidStatus"] = "B" if op == "forbid" else "A"
        else:
            raise ValueError(f"unknown chart change {op!r}")
        record["FModifyDate"] = moment
        return describe(record)

    def _add(self, form: str, args: dict[str, Any], moment: dt.datetime) -> dict[str, Any]:
        number, name = args["number"], args["name"]
        if number in self.index[form]:
            raise ValueError(f"{form} already has {number!r}")
        if form == "BD_Account":
            parent = self.index[form].get(number.rsplit(".", 1)[0]) if "." in number else None
            if parent is not None:
                parent["FModifyDate"] = moment
            category = parent["FGROUPID"]["FName"] if parent else args.get("category", "期间费用")
            return self._account(number, name, category, parent["FDC"] if parent else 1, modified=moment)
        fields: dict[str, Any] = {}
        if form == "BD_Expense" and args.get("account"):
            fields["F_ES_AccountId"] = self.index["BD_Account"][args["account"]]
        if form == "BD_Department" and args.get("parent"):
            fields["FParentID"] = self.index[form][args["parent"]]
        return self._new(form, number, name, modified=moment, **fields)


def describe(record: dict[str, Any]) -> dict[str, Any]:
    """A record in plain JSON: references by number, times in ISO form."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, dict):
            value = value.get("FNumber")
        elif isinstance(value, dt.date):
            value = value.isoformat()
        out[key] = value
    return out
