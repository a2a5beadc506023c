"""The general ledger behind both APIs: vouchers, their checks and states, and the balance reports.

YonBIP's ``addVoucher`` and NC Cloud's ``gl/voucher/insert`` parse their own bodies into
:class:`Line` objects and call :meth:`Ledger.create`, so both refuse the same things: an unknown
book, voucher type, period, maker, account or auxiliary value; a non-leaf or disabled account; a
line with both or neither side; an unbalanced voucher; a repeated business id
(the APIs look that up first, see :meth:`Ledger.by_business`).

States (``voucherStatus``, [V]): ``00`` 暂存, ``01`` 保存, ``02`` 错误, ``03`` 已审核, ``04`` 已记账,
``05`` 作废. A voucher is saved as ``01`` with the next ``billCode`` of its book, period and type;
the ERP's accountant audits (``03``) and posts (``04``) it — here through the control API.

Reports ([I] beyond the envelope): one report item per account that moved, ``BEGINNING`` = balance
at the start of the year, ``TERMINAL`` = balance at the end of the period (``/yonbip/fi/rpt/balance``);
``OCCUR`` / ``UP_OCCUR`` / ``GRAND`` = this period's, the previous period's and the year's net
movement (``/yonbip/fi/rpt/profit``); amounts signed by the account's direction; vouchers in states
01, 03 and 04 count (包含未记账凭证).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from expense_sync_sandboxes.yonyou import wire
from expense_sync_sandboxes.yonyou.chart import AccountingBooks, Chart

STATES = {"00": "暂存", "01": "保存", "02": "错误", "03": "已审核", "04": "已记账", "05": "作废"}
LEDGER_STATES = ("01", "03", "04")
VOUCHER_TYPES = {
    "1": {"id": "1525643774565285961", "code": "1", "name": "记账凭证", "voucherstr": "记"},
    "2": {"id": "1525643774565285962", "code": "2", "name": "收款凭证", "voucherstr": "收"},
    "3": {"id": "1525643774565285963", "code": "3", "name": "付款凭证", "voucherstr": "付"},
    "4": {"id": "1525643774565285964", "code": "4", "name": "转账凭证", "voucherstr": "转"},
}
# Auxiliary accounting types (辅助核算项): code → (name, the chart its values come from). The codes
# are tenant settings [I]; reset options ``cost_center_aux_code`` / ``project_aux_code`` change them.
AUX_TYPES = {
    "0010": ("成本中心", "costcenter"),
    "0006": ("项目", "project"),
    "0011": ("费用项目", "expenseitem"),
}


def aux_types(cost_center_code: str = "0010", project_code: str = "0006") -> dict[str, tuple[str, str]]:
    """The tenant's auxiliary accounting types, with cost centre and project under the given codes."""
    return {
        cost_center_code: ("成本中心", "costcenter"),
        project_code: ("项目", "project"),
        "0011": ("费用项目", "expenseitem"),
    }


USERS = [
    {
        "id": "2180000000000000001",
        "code": "zhangkj",
        "name": "张会计",
        "mobile": "13800000000",
        "email": "zhang.kj@example.com",
    },
    {
        "id": "2180000000000000002",
        "code": "lizg",
        "name": "李主管",
        "mobile": "13900000000",
        "email": "li.zg@example.com",
    },
]


class LedgerError(ValueError):
    """The ledger refuses a voucher or a state change; the API wraps the message in its envelope."""


@dataclass
class Line:
    description: str
    account_code: str
    debit: Decimal | None
    credit: Decimal | None
    debit_original: Decimal | None = None
    credit_original: Decimal | None = None
    auxiliary: list[tuple[str, str]] = field(default_factory=list)
    busidate: str | None = None
    free: dict[str, str] = field(default_factory=dict)


def user(mobile: str | None = None, email: str | None = None, code: str | None = None) -> dict | None:
    return next(
        (
            u
            for u in USERS
            if (mobile and u["mobile"] == mobile) or (email and u["email"] == email) or (code and u["code"] == code)
        ),
        None,
    )


def brief(u: dict | None) -> dict | None:
    return {"id": u["id"], "code": u["code"], "name": u["name"]} if u else None


class Ledger:
    def __init__(self, chart: Chart, books: AccountingBooks, types: dict[str, tuple[str, str]] | None = None) -> None:
        self.chart, self.books = chart, books
        self.aux_types = AUX_TYPES if types is None else types
        self.vouchers: dict[str, dict[str, Any]] = {}
        self.by_business_id: dict[str, str] = {}
        self._seq = 0
        # indexes kept at write time (vouchers are never deleted, only voided): the bill codes taken
        # per (book code, period, voucher type) with the highest, the voucher ids per (book, period)
        self.taken: dict[tuple[str, str, str], set[int]] = defaultdict(set)
        self.highest: dict[tuple[str, str, str], int] = defaultdict(int)
        self.periods: dict[tuple[str, str, str], list[str]] = defaultdict(list)  # (book id, code, period)

    # -- writes -----------------------------------------------------------------------------------
    def create(
        self,
        *,
        accbook_code: str | None,
        voucher_type: str | None,
        period: str | None,
        maker: dict | None,
        make_time: str,
        description: str,
        lines: list[Line],
        business_id: str | None = None,
        external: dict[str, Any] | None = None,
        src_system: str = "figl",
        bill_code: int | None = None,
        attached: int = 0,
        origin: str = "bip",
    ) -> dict[str, Any]:
        """Check and save one voucher (state ``01``); raise :class:`LedgerError` to refuse it.

        The API looks a repeated business id up first (:meth:`by_business`) and answers its own way.
        """
        if business_id and business_id in self.by_business_id:
            raise LedgerError(f"凭证保存不成功,业务唯一标识[{business_id}]重复！")
        if not accbook_code:
            raise LedgerError("凭证保存不成功,账簿code不能为空！")
        book = self.books.by_code(accbook_code)
        if book is None:
            raise LedgerError(f"凭证保存不成功,账簿[{accbook_code}]不存在！")
        vtype = VOUCHER_TYPES.get(str(voucher_type or ""))
        if vtype is None:
            raise LedgerError(f"凭证保存不成功,凭证类型[{voucher_type}]不存在！")
        period = period or make_time[:7]
        if not self.books.has_period(period):
            raise LedgerError(f"凭证保存不成功,会计期间[{period}]不存在！")
        if maker is None:
            raise LedgerError("凭证保存不成功,制单人不存在或手机号和邮箱同时为空！")
        if not lines:
            raise LedgerError("凭证保存不成功,分录不能为空！")
        bodies = [self._body(n, line, make_time) for n, line in enumerate(lines, start=1)]
        debit = sum((b["debit_org"] for b in bodies), Decimal("0"))
        credit = sum((b["credit_org"] for b in bodies), Decimal("0"))
        if debit != credit:
            raise LedgerError(f"凭证保存不成功,借贷不平衡！借方合计{wire.money(debit)}，贷方合计{wire.money(credit)}")
        number_key = (book["code"], period, vtype["code"])
        taken = self.taken[number_key]
        if bill_code in taken:
            raise LedgerError(f"凭证保存不成功,凭证号[{bill_code}]已被占用！")
        self._seq += 1
        voucher_id = str(1_674_770_115_738_468_360 + self._seq * 7919)
        voucher = {
            "id": voucher_id,
            "accbook": {k: book[k] for k in ("id", "code", "name")},
            "period": period,
            "voucher_type": vtype,
            "bill_code": bill_code or self.highest[number_key] + 1,
            "make_time": make_time,
            "description": description,
            "status": "01",
            "business_id": business_id,
            "external": external or {},
            "src_system": src_system,
            "attached": attached,
            "origin": origin,
            "maker": brief(maker),
            "auditor": None,
            "tallyman": None,
            "bodies": bodies,
            "total_debit": wire.money(debit),
            "total_credit": wire.money(credit),
            "ts": wire.ts(wire.now()),
        }
        for n, body in enumerate(bodies, start=1):
            body.update(id=f"{voucher_id}{n:03d}", voucherid=voucher_id)
        self.vouchers[voucher_id] = voucher
        taken.add(voucher["bill_code"])
        self.highest[number_key] = max(self.highest[number_key], voucher["bill_code"])
        self.periods[(voucher["accbook"]["id"], voucher["accbook"]["code"], period)].append(voucher_id)
        if business_id:
            self.by_business_id[business_id] = voucher_id
        return voucher

    def by_business(self, business_id: str | None) -> dict[str, Any] | None:
        """The voucher saved under an idempotency key (YonBIP ``businessId``, NCC ``busi_id``)."""
        voucher_id = self.by_business_id.get(business_id) if business_id else None
        return self.vouchers[voucher_id] if voucher_id else None

    def _body(self, n: int, line: Line, make_time: str) -> dict[str, Any]:
        if not line.description:
            raise LedgerError(f"凭证保存不成功,第{n}行分录摘要不能为空！")
        account = self.chart.get("accsubject", line.account_code or "")
        if account is None:
            raise LedgerError(f"凭证保存不成功,第{n}行科目[{line.account_code}]不存在！")
        if not account["isEnd"]:
            raise LedgerError(f"凭证保存不成功,第{n}行科目[{line.account_code}]不是末级科目！")
        if account["enable"] != 1:
            raise LedgerError(f"凭证保存不成功,第{n}行科目[{line.account_code}]已停用！")
        debit, credit = line.debit or Decimal("0"), line.credit or Decimal("0")
        if (debit != 0) == (credit != 0):
            raise LedgerError(f"凭证保存不成功,第{n}行借贷不能同时填写，也不能同时为空！")
        if debit < 0 or credit < 0:
            raise LedgerError(f"凭证保存不成功,第{n}行金额不能为负数！")
        original_debit = debit if line.debit_original is None else line.debit_original
        original_credit = credit if line.credit_original is None else line.credit_original
        if (original_debit, original_credit) != (debit, credit):
            raise LedgerError(f"凭证保存不成功,第{n}行原币金额与本币金额不一致（汇率1）！")
        auxiliary = []
        for type_code, value_code in line.auxiliary:
            if type_code not in self.aux_types:
                raise LedgerError(f"凭证保存不成功,第{n}行辅助核算项[{type_code}]不存在！")
            type_name, kind = self.aux_types[type_code]
            value = self.chart.get(kind, value_code or "")
            if value is None or value["enable"] != 1:
                raise LedgerError(f"凭证保存不成功,第{n}行{type_name}[{value_code}]不存在或已停用！")
            auxiliary.append(
                {
                    "typecode": type_code,
                    "typename": type_name,
                    "doctype": kind,
                    "id": value["id"],
                    "code": value["code"],
                    "name": value["name"],
                }
            )
        return {
            "recordnumber": n,
            "description": line.description,
            "accsubject": {k: account[k] for k in ("id", "code", "name")},
            "direction": account["direction"],
            "debit_org": wire.money(debit),
            "credit_org": wire.money(credit),
            "debit_original": wire.money(debit),
            "credit_original": wire.money(credit),
            "busidate": line.busidate or make_time,
            "auxiliary": auxiliary,
            "free": dict(line.free),
        }

    def _voucher(self, voucher_id: str) -> dict[str, Any]:
        if voucher_id not in self.vouchers:
            raise KeyError(f"no voucher {voucher_id!r}")
        return self.vouchers[voucher_id]

    def _move(self, voucher_id: str, allowed: tuple[str, ...], state: str, **fields: Any) -> dict[str, Any]:
        voucher = self._voucher(voucher_id)
        if voucher["status"] not in allowed:
            raise ValueError(
                f"voucher {voucher_id} is {voucher['status']} ({STATES[voucher['status']]}); "
                f"expected one of {', '.join(allowed)}"
            )
        voucher.update(status=state, ts=wire.ts(wire.now()), **fields)
        return voucher

    def audit(self, voucher_id: str, auditor: str = "lizg") -> dict[str, Any]:
        return self._move(voucher_id, ("01",), "03", auditor=brief(user(code=auditor)))

    def unaudit(self, voucher_id: str) -> dict[str, Any]:
        return self._move(voucher_id, ("03",), "01", auditor=None)

    def post(self, voucher_id: str, tallyman: str = "lizg") -> dict[str, Any]:
        return self._move(voucher_id, ("03",), "04", tallyman=brief(user(code=tallyman)))

    def void(self, voucher_id: str) -> dict[str, Any]:
        return self._move(voucher_id, ("00", "01", "02"), "05")

    def mark_error(self, voucher_id: str) -> dict[str, Any]:
        return self._move(voucher_id, ("00", "01"), "02")

    # -- reads ------------------------------------------------------------------------------------
    def of_book(
        self, book_id: str | None = None, code: str | None = None, start: str = "", end: str = "\uffff"
    ) -> Iterator[dict[str, Any]]:
        """The vouchers of a book (by id or code) in the periods ``start`` to ``end``, through the index."""
        for (held_id, held_code, period), ids in self.periods.items():
            if book_id not in (None, held_id) or code not in (None, held_code) or not start <= period <= end:
                continue
            yield from (self.vouchers[i] for i in ids)

    def movements(self, book_id: str, periods: set[str] | None = None, before: str | None = None) -> dict[str, Decimal]:
        """Net movement per account (signed by the account's direction) of the ledger's vouchers."""
        net: dict[str, Decimal] = defaultdict(Decimal)
        for voucher in self.of_book(book_id):
            if voucher["accbook"]["id"] != book_id or voucher["status"] not in LEDGER_STATES:
                continue
            if periods is not None and voucher["period"] not in periods:
                continue
            if before is not None and voucher["period"] >= before:
                continue
            for body in voucher["bodies"]:
                sign = 1 if body["direction"] == "借" else -1
                net[body["accsubject"]["code"]] += sign * (body["debit_org"] - body["credit_org"])
        return net

    def report_items(self, book_id: str, period: str, report: str) -> list[dict[str, Any]]:
        year = period[:4]
        if report == "balance":
            opening = self.movements(book_id, before=f"{year}-01")
            closing = self.movements(book_id, before=_next_period(period))
            codes, columns = (
                set(opening) | set(closing),
                lambda c: {
                    "BEGINNING": wire.money(opening.get(c, Decimal("0"))),
                    "TERMINAL": wire.money(closing.get(c, Decimal("0"))),
                },
            )
        else:
            this = self.movements(book_id, {period})
            previous = self.movements(book_id, {_previous_period(period)})
            to_date = self.movements(book_id, before=_next_period(period))
            earlier = self.movements(book_id, before=f"{year}-01")
            codes, columns = (
                set(this) | set(previous) | set(to_date),
                lambda c: {
                    "OCCUR": wire.money(this.get(c, Decimal("0"))),
                    "UP_OCCUR": wire.money(previous.get(c, Decimal("0"))),
                    "GRAND": wire.money(to_date.get(c, Decimal("0")) - earlier.get(c, Decimal("0"))),
                },
            )
        items = []
        for code in sorted(codes):
            account = self.chart.get("accsubject", code)
            items.append({"code": code, "name": account["name"] if account else code, **columns(code)})
        return items


def _next_period(period: str) -> str:
    year, month = int(period[:4]), int(period[5:7])
    return f"{year + month // 12}-{month % 12 + 1:02d}"


def _previous_period(period: str) -> str:
    year, month = int(period[:4]), int(period[5:7])
    return f"{year - (month == 1)}-{(month - 2) % 12 + 1:02d}"
