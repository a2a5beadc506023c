"""The tenant's chart: GL accounts (会计科目), expense items (费用项目), cost centers and projects.

Deterministic from a seed, with realistic Chinese names, a hierarchy and ``ts`` change times.
Sizes come from the reset options ``accounts``, ``expense_items``, ``cost_centers``, ``projects``.

Wire ([V] = docs/vendors/research.md §5.1, [I] = our choice):

* GL accounts: ``POST /yonbip/AMP/fipub/basedoc/querybd/accsubjectByPager`` [V] — body ``fields``
  (a JSON array), ``pageIndex``, ``pageSize``, ``conditions[{field, value, operator}]`` with fields
  ``ts`` / ``code`` / ``mnemoniccode`` / ``accsubjectchart`` and operators ``>= = <=`` →
  ``{"code": "200", "message": "查询成功！", "data": {pageIndex, pageSize, recordCount, recordList,
  pageCount, beginPageIndex, endPageIndex}}``. Record fields beyond the documented ``id, code, name,
  multidimension, mnemoniccode`` are [I]: ``parent, parent_code, enable (1 on / 2 off), isEnd,
  accproperty_name, direction, accsubjectchart, ts``.
* Expense items, cost centers, projects: [I] paths in the same ``querybd`` family —
  ``/yonbip/fi/fipub/basedoc/querybd/expenseitem`` (metadata ``finbd.bd_expenseitemref``),
  ``…/querybd/costcenter`` (``finbd.bd_costcenterref``), ``…/querybd/project`` — answering, with
  the reset option ``chart_shape="bare"`` (default), like the documented ``querybd/multidimext`` and
  ``querybd/basedocmapping``: ``{"code": 200, "message": "查询成功！", "success": true, "data": [...],
  "total": n}`` (a *numeric* code); with ``chart_shape="paged"``, like ``accsubjectByPager``
  (``data.{pageIndex, pageSize, recordCount, recordList, pageCount, …}``). The same
  ``fields``/``conditions``/paging body either way.
* Auxiliary accounting types: ``POST /yonbip/fi/fipub/basedoc/querybd/multidimext`` [D] →
  ``{"success": "", "data": [{code, name, id}], "code": 200, "total": n}`` as the documented
  example shows it; the codes of cost centre and project are the reset options
  ``cost_center_aux_code`` / ``project_aux_code`` (default 0010 / 0006) [I].
* Accounting books and periods: ``querybd/accbook`` and ``querybd/accperiod`` [V shapes].
* ``fields`` not an array → ``{"code": "999", …}`` [V: manual]; a bad condition → the family's
  ``{"success": false, "message": "查询失败：…", "data": null, "code": 0}`` [V shape].
* ``disableshow: true`` hides disabled records (``enable`` = 2).
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from expense_sync_sandboxes.core import VendorHTTPError
from expense_sync_sandboxes.yonyou import wire

KINDS = ("accsubject", "expenseitem", "costcenter", "project")
SHAPES = ("bare", "paged")
# Fields every record of a kind carries, null when not set (the tenant lists them as null).
KIND_FIELDS = {
    "expenseitem": ("accsubject_code",),
    "costcenter": ("dept_code", "begindate", "enddate"),
    "project": ("begindate", "enddate"),
}
OPERATORS: dict[str, Callable[[str, str], bool]] = {
    ">=": lambda a, b: a >= b,
    "=": lambda a, b: a == b,
    "<=": lambda a, b: a <= b,
}
SEED_EPOCH = dt.datetime(2024, 1, 2, 9, 0, 0)  # seeded records were last changed in 2024
CHART_ID = "1970994525955424258"
ORG_CODE = "0001"

ACCOUNTS = [
    ("1001", "库存现金"),
    ("1002", "银行存款"),
    ("100201", "工商银行"),
    ("100202", "建设银行"),
    ("1012", "其他货币资金"),
    ("1122", "应收账款"),
    ("1123", "预付账款"),
    ("1221", "其他应收款"),
    ("122101", "员工借款"),
    ("122102", "备用金"),
    ("1403", "原材料"),
    ("1405", "库存商品"),
    ("1601", "固定资产"),
    ("1602", "累计折旧"),
    ("1701", "无形资产"),
    ("2001", "短期借款"),
    ("2202", "应付账款"),
    ("2203", "预收账款"),
    ("2211", "应付职工薪酬"),
    ("221101", "工资"),
    ("221102", "职工福利费"),
    ("2221", "应交税费"),
    ("222101", "应交增值税"),
    ("22210101", "进项税额"),
    ("22210102", "销项税额"),
    ("2241", "其他应付款"),
    ("224101", "应付报销款"),
    ("224102", "押金"),
    ("224103", "预提费用"),
    ("224109", "费用报销清算"),
    ("4001", "实收资本"),
    ("4103", "本年利润"),
    ("4104", "利润分配"),
    ("5001", "生产成本"),
    ("5101", "制造费用"),
    ("6001", "主营业务收入"),
    ("6051", "其他业务收入"),
    ("6401", "主营业务成本"),
    ("6403", "税金及附加"),
    ("6601", "销售费用"),
    ("660101", "差旅费"),
    ("660102", "业务招待费"),
    ("660103", "广告宣传费"),
    ("660104", "会议费"),
    ("6602", "管理费用"),
    ("660201", "差旅费"),
    ("660202", "办公费"),
    ("660203", "业务招待费"),
    ("660204", "会议费"),
    ("660205", "通讯费"),
    ("660206", "交通费"),
    ("660207", "培训费"),
    ("660208", "福利费"),
    ("660209", "咨询费"),
    ("660210", "租赁费"),
    ("6603", "财务费用"),
    ("660301", "利息支出"),
    ("660302", "手续费"),
    ("6711", "营业外支出"),
]
# Larger charts grow detail accounts under the selling-expense accounts, one level at a time.
GROWTH_ROOTS = ["660101", "660102", "660103", "660104"]
CITIES = ["北京", "上海", "广州", "深圳", "杭州", "南京", "成都", "武汉", "西安", "重庆", "天津", "苏州"]
UNITS = [
    "财务部",
    "人力资源部",
    "研发中心",
    "销售部",
    "市场部",
    "采购部",
    "法务部",
    "行政部",
    "审计部",
    "运营部",
    "客服部",
    "信息技术部",
]
EXPENSE_ITEMS = [
    ("01", "差旅费", None, "660201"),
    ("0101", "长途交通费", "01", "660201"),
    ("0102", "住宿费", "01", "660201"),
    ("0103", "出差补助", "01", "660201"),
    ("0104", "市内交通费", "01", "660201"),
    ("02", "业务招待费", None, "660203"),
    ("0201", "餐费", "02", "660203"),
    ("0202", "礼品费", "02", "660203"),
    ("03", "办公费", None, "660202"),
    ("0301", "办公用品", "03", "660202"),
    ("0302", "打印复印费", "03", "660202"),
    ("0303", "快递费", "03", "660202"),
    ("04", "会议费", None, "660204"),
    ("05", "通讯费", None, "660205"),
    ("06", "交通费", None, "660206"),
    ("0601", "车辆油费", "06", "660206"),
    ("0602", "过路过桥费", "06", "660206"),
    ("0603", "停车费", "06", "660206"),
    ("07", "培训费", None, "660207"),
    ("08", "福利费", None, "660208"),
    ("0801", "节日慰问", "08", "660208"),
    ("0802", "员工体检", "08", "660208"),
    ("09", "咨询费", None, "660209"),
    ("10", "租赁费", None, "660210"),
]
PROJECT_PREFIXES = [
    "智慧园区",
    "数字化转型",
    "供应链协同",
    "新零售",
    "华东市场拓展",
    "西南渠道建设",
    "研发平台",
    "数据中台",
    "客户服务升级",
    "财务共享中心",
    "海外业务",
    "绿色工厂",
]
PROJECT_SUFFIXES = ["一期工程", "二期工程", "建设项目", "推广项目", "试点项目", "改造项目"]


def _property(code: str) -> tuple[str, str]:
    """Account category and balance direction by the first digit (企业会计准则)."""
    first = code[0]
    category = {"1": "资产", "2": "负债", "3": "共同", "4": "所有者权益", "5": "成本", "6": "损益"}[first]
    credit = first in "24" or code[:2] in ("60", "61")
    return category, "贷" if credit else "借"


class Chart:
    """Every chart the tenant keeps, as records keyed by code, plus the change mutations."""

    def __init__(self, seed: int, accounts: int, expense_items: int, cost_centers: int, projects: int) -> None:
        self.rng = random.Random(seed)
        self._ids = 0
        self._clock = SEED_EPOCH
        self.records: dict[str, dict[str, dict[str, Any]]] = {kind: {} for kind in KINDS}
        self._accounts(accounts)
        self._expense_items(expense_items)
        self._cost_centers(cost_centers)
        self._projects(projects)
        self._mark_leaves()

    # -- seeding ----------------------------------------------------------------------------------
    def next_id(self) -> str:
        self._ids += 1
        return str(1_974_000_000_000_000_000 + self._ids * 4099)

    def _seed_ts(self) -> str:
        self._clock += dt.timedelta(minutes=self.rng.randint(1, 300))
        return wire.ts(self._clock)

    def _put(self, kind: str, code: str, name: str, parent_code: str | None, **fields: Any) -> dict:
        parent = self.records[kind].get(parent_code) if parent_code else None
        record = {
            "id": self.next_id(),
            "code": code,
            "name": name,
            "parent": parent["id"] if parent else None,
            "parent_code": parent_code,
            "enable": 1,
            "ts": fields.pop("ts", None) or self._seed_ts(),
            **dict.fromkeys(KIND_FIELDS.get(kind, ())),
            **fields,
        }
        self.records[kind][code] = record
        return record

    def _account_parent(self, code: str) -> str | None:
        """A GL account's parent is the longest existing prefix of its code (4-2-2… digits)."""
        return next((code[:n] for n in range(len(code) - 2, 3, -2) if code[:n] in self.records["accsubject"]), None)

    def _account(self, code: str, name: str, **fields: Any) -> None:
        category, direction = _property(code)
        self._put(
            "accsubject",
            code,
            name,
            self._account_parent(code),
            mnemoniccode=f"KM{code}",
            multidimension="",
            accproperty_name=category,
            direction=direction,
            accsubjectchart=CHART_ID,
            isEnd=True,
            **fields,
        )

    def _accounts(self, size: int) -> None:
        for code, name in ACCOUNTS[:size]:
            self._account(code, name)
        parents = [p for p in GROWTH_ROOTS if p in self.records["accsubject"]]
        depth = 0
        while len(self.records["accsubject"]) < size and parents:
            suffixes = CITIES if depth == 0 else UNITS if depth == 1 else [f"{n:02d}" for n in range(1, 13)]
            children = []
            for parent in parents:
                for k, suffix in enumerate(suffixes, start=1):
                    if len(self.records["accsubject"]) >= size:
                        break
                    code = f"{parent}{k:02d}"
                    self._account(code, f"{self.records['accsubject'][parent]['name']}-{suffix}")
                    children.append(code)
            parents, depth = children, depth + 1

    def _expense_items(self, size: int) -> None:
        for code, name, parent, account in EXPENSE_ITEMS[:size]:
            self._expense(code, name, parent, account)
        roots = [code for code, _, parent, _ in EXPENSE_ITEMS if parent is None]
        n = 0
        while len(self.records["expenseitem"]) < size:
            root = self.records["expenseitem"][roots[n % len(roots)]]
            k = 50 + n // len(roots)
            self._expense(
                f"{root['code']}{k:02d}",
                f"{root['name']}-{CITIES[n % len(CITIES)]}",
                root["code"],
                root["accsubject_code"],
            )
            n += 1

    def _expense(self, code: str, name: str, parent: str | None, account: str) -> None:
        gl = self.records["accsubject"].get(account)
        self._put(
            "expenseitem",
            code,
            name,
            parent,
            accsubject_code=account,
            accsubject_name=gl["name"] if gl else None,
        )

    def _cost_centers(self, size: int) -> None:
        n = 0
        while len(self.records["costcenter"]) < size:
            city = CITIES[n % len(CITIES)]
            top = f"CC{n + 1:02d}"
            self._put(
                "costcenter",
                top,
                f"{city}分公司",
                None,
                dept_code=f"D{n + 1:02d}",
                dept_name=f"{city}分公司",
                begindate="2020-01-01",
            )
            for k, unit in enumerate(UNITS, start=1):
                if len(self.records["costcenter"]) >= size:
                    break
                self._put(
                    "costcenter",
                    f"{top}{k:02d}",
                    f"{city}{unit}",
                    top,
                    dept_code=f"D{n + 1:02d}{k:02d}",
                    dept_name=f"{city}分公司{unit}",
                    begindate="2020-01-01",
                )
            n += 1

    def _projects(self, size: int) -> None:
        for n in range(size):
            prefix = PROJECT_PREFIXES[n % len(PROJECT_PREFIXES)]
            suffix = PROJECT_SUFFIXES[(n // len(PROJECT_PREFIXES)) % len(PROJECT_SUFFIXES)]
            year = 2021 + n % 4
            round_ = n // (len(PROJECT_PREFIXES) * len(PROJECT_SUFFIXES))
            name = f"{prefix}{suffix}" + (f"({round_ + 1})" if round_ else "")
            self._put(
                "project",
                f"PRJ{year}{n + 1:04d}",
                name,
                None,
                begindate=f"{year}-03-01",
                enddate=f"{year + 2}-12-31",
            )

    def _mark_leaves(self, changed_at: str | None = None) -> None:
        """Set ``isEnd``; an account that stops being a leaf is a change (its ``ts`` moves)."""
        accounts = self.records["accsubject"]
        parents = {r["parent_code"] for r in accounts.values() if r["parent_code"]}
        for code, record in accounts.items():
            leaf = code not in parents
            if changed_at and record["isEnd"] != leaf:
                record["ts"] = changed_at
            record["isEnd"] = leaf

    # -- queries ----------------------------------------------------------------------------------
    def get(self, kind: str, code: str) -> dict[str, Any] | None:
        return self.records[kind].get(code)

    # -- mutations (POST /_sandbox/mutate) --------------------------------------------------------
    def _existing(self, kind: str, code: str) -> dict[str, Any]:
        if kind not in self.records:
            raise KeyError(f"no chart {kind!r}; known: {', '.join(KINDS)}")
        if code not in self.records[kind]:
            raise KeyError(f"no {kind} {code!r}")
        return self.records[kind][code]

    def add_record(self, kind: str, code: str, name: str, parent_code: str | None = None, **fields: Any) -> dict:
        if kind not in self.records:
            raise KeyError(f"no chart {kind!r}; known: {', '.join(KINDS)}")
        if code in self.records[kind]:
            raise ValueError(f"{kind} {code!r} exists already")
        if parent_code:
            self._existing(kind, parent_code)
        stamp = wire.ts(wire.now())
        if kind == "accsubject":
            if self._account_parent(code) != parent_code:
                raise ValueError(f"account {code!r} belongs under {self._account_parent(code)!r}, not {parent_code!r}")
            self._account(code, name, ts=stamp, **fields)
            self._mark_leaves(changed_at=stamp)
        else:
            self._put(kind, code, name, parent_code, ts=stamp, **fields)
        return self.records[kind][code]

    def rename_record(self, kind: str, code: str, name: str) -> dict:
        record = self._existing(kind, code)
        record.update(name=name, ts=wire.ts(wire.now()))
        return record

    def set_enabled(self, kind: str, code: str, enabled: bool) -> dict:
        record = self._existing(kind, code)
        record.update(enable=1 if enabled else 2, ts=wire.ts(wire.now()))
        return record


class AccountingBooks:
    """The tenant's accounting books (账簿) and periods."""

    BOOKS = [
        ("1971500567562289169", "0001", "示例集团本部"),
        ("1971500567562289170", "0002", "示例集团华东分公司"),
    ]

    def __init__(self) -> None:
        self.books = [
            {
                "id": book_id,
                "code": code,
                "name": name,
                "accsubjectchart": CHART_ID,
                "accperiodscheme": "1900405595968110666",
                "ratetype": "01",
                "accstandard": "1900405587390759245",
                "currency": "CNY",
                "createTime": "2020-01-01 00:00:00",
                "ts": "2020-01-01 00:00:00",
            }
            for book_id, code, name in self.BOOKS
        ]
        self.periods = [
            {
                "id": str(1_900_405_595_968_110_668 + i),
                "code": f"{2020 + i // 12}-{i % 12 + 1:02d}",
                "name": f"{2020 + i // 12}-{i % 12 + 1:02d}",
                "ts": "2020-01-01 00:00:00",
                "enable": 1,
            }
            for i in range(12 * 11)
        ]

    def by_code(self, code: str | None) -> dict[str, Any] | None:
        return next((b for b in self.books if b["code"] == code), None)

    def by_id(self, book_id: str | None) -> dict[str, Any] | None:
        return next((b for b in self.books if b["id"] == book_id), None)

    def has_period(self, period: str | None) -> bool:
        return any(p["code"] == period for p in self.periods)


# -- the querybd protocol ----------------------------------------------------------------------------
def query_failed(message: str) -> VendorHTTPError:
    return VendorHTTPError(wire.respond({"success": False, "message": f"查询失败：{message}", "data": None, "code": 0}))


def select(records: list[dict[str, Any]], body: dict[str, Any]) -> tuple[list[dict], int, int, int]:
    """Filter, order and page records as the ``querybd`` family does; returns page, total, index, size."""
    fields = body.get("fields")
    if fields is not None and not isinstance(fields, list):
        raise VendorHTTPError(wire.respond({"code": "999", "message": "fields参数类型错误，应为数组", "data": None}))
    try:
        index = max(1, int(body.get("pageIndex") or 1))
        size = max(1, int(body.get("pageSize") or 20))
    except (TypeError, ValueError):
        raise query_failed("分页参数格式错误") from None
    found = [r for r in records if not (body.get("disableshow") is True and r.get("enable") == 2)]
    for condition in body.get("conditions") or []:
        if not isinstance(condition, dict):
            raise query_failed("查询条件格式错误")
        field, value, operator = (
            condition.get("field"),
            condition.get("value"),
            condition.get("operator") or "=",
        )
        if not field:
            continue  # the documented example sends an empty field; it filters nothing
        if operator not in OPERATORS:
            raise query_failed(f"不支持的操作符[{operator}]")
        if field == "pk_orgCode":
            found = found if value == ORG_CODE else []
            continue
        if found and field not in found[0]:
            raise query_failed(f"不支持的查询字段[{field}]")
        found = [r for r in found if r.get(field) is not None and OPERATORS[operator](str(r[field]), str(value))]
    found.sort(key=lambda r: r["code"])
    page = found[(index - 1) * size : index * size]
    if fields:
        page = [{f: r.get(f) for f in fields if f in r} for r in page]
    return page, len(found), index, size


def pager(page: list[dict[str, Any]], total: int, index: int, size: int) -> dict[str, Any]:
    """The ``data`` of a paged answer (``accsubjectByPager``)."""
    pages = math.ceil(total / size) if total else 0
    begin = max(1, index - 1)
    return {
        "pageIndex": index,
        "pageSize": size,
        "recordCount": total,
        "recordList": page,
        "pageCount": pages,
        "beginPageIndex": begin,
        "endPageIndex": max(begin, min(pages, begin + 2)),
    }


def add_routes(sandbox) -> None:
    """Serve the chart under the gateway: the pager answer for GL accounts, ``querybd`` for the rest."""
    gateway = sandbox.gateway

    @gateway("/yonbip/AMP/fipub/basedoc/querybd/accsubjectByPager")
    async def accsubject(request: Request) -> Response:
        body = await wire.json_body(request)
        page, total, index, size = select(list(sandbox.chart.records["accsubject"].values()), body)
        return wire.respond({"code": "200", "message": "查询成功！", "data": pager(page, total, index, size)})

    def querybd(records: Callable[[], list[dict[str, Any]]], pageable: bool = False):
        async def handler(request: Request) -> Response:
            page, total, index, size = select(records(), await wire.json_body(request))
            if pageable and sandbox.chart_shape == "paged":
                return wire.respond({"code": "200", "message": "查询成功！", "data": pager(page, total, index, size)})
            return wire.respond({"code": 200, "message": "查询成功！", "success": True, "data": page, "total": total})

        return handler

    for kind in ("expenseitem", "costcenter", "project"):
        gateway(f"/yonbip/fi/fipub/basedoc/querybd/{kind}")(
            querybd(lambda kind=kind: list(sandbox.chart.records[kind].values()), pageable=True)
        )
    gateway("/yonbip/fi/fipub/basedoc/querybd/accbook")(querybd(lambda: sandbox.books.books))
    gateway("/yonbip/fi/fipub/basedoc/querybd/accperiod")(querybd(lambda: sandbox.books.periods))

    @gateway("/yonbip/fi/fipub/basedoc/querybd/multidimext")
    async def multidimext(request: Request) -> Response:
        types = [
            {"id": f"0{n}AF72B-04FC-46A2-8536-63776C3BA75{n}", "code": code, "name": name}
            for n, (code, (name, _)) in enumerate(sandbox.ledger.aux_types.items())
        ]
        page, total, _, _ = select(types, await wire.json_body(request))
        return wire.respond({"success": "", "data": page, "code": 200, "total": total})
