"""GL_VOUCHER (凭证): Save, Submit, Audit, UnAudit, Delete and View, and the rows ExecuteBillQuery reads.

The Save model follows docs/vendors/research.md §4.5: header ``FAccountBookID``, ``FDate``,
``FVOUCHERGROUPID`` (凭证字), entries in ``FEntity`` with ``FACCOUNTID``, ``FDEBIT``/``FCREDIT``,
``FEXPLANATION`` (摘要, at most ``EXPLANATION_LENGTH`` characters [I]) and auxiliary dimensions
in ``FDetailID`` (``FDETAILID__FFLEX5``: …). The server
derives ``FYEAR``/``FPERIOD`` from ``FDate`` (natural-month calendar), assigns the number within the
voucher group and period (``FVOUCHERGROUPNO``: a free number given by the client is kept, otherwise
the next one) and the code ``FBillNo``, and starts the voucher in ``FDocumentStatus`` A (created).
Submit: A/D → B, Audit: B → C, UnAudit: C → D, Delete: A/D only.

[I] choices (not documented): unbalanced entries are refused with ``FieldName: FEntity``,
"借贷不平衡"; a non-leaf or forbidden account and an unknown dimension value are refused;
validation errors carry ``MsgCode`` 11; ``FBillNo`` is ``PZ`` + the internal id; the header has the
customer extension field ``F_ES_ExternalRef``, queryable only when listed in the reset option
``extension_fields`` (where an integration may keep its business key; nothing checks it for
duplicates, as nothing in K3Cloud would); ``View`` answers ORM property names (the field key
without its ``F``).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from expense_sync_sandboxes.kingdee.chart import Chart, now
from expense_sync_sandboxes.kingdee.index import EntryRow, VoucherIndex, number_key
from expense_sync_sandboxes.kingdee.query import (
    QueryError,
    compile_filter,
    conjuncts,
    field_value,
    order,
    referenced,
    render,
)

CENT = Decimal("0.01")
EXPLANATION_LENGTH = 255
REF_IN_EXPLANATION = re.compile(r"^ES#([^#]+)#")  # how expense-sync marks its ref in a 摘要
EXTERNAL_REF_FIELD = "F_ES_ExternalRef"
# voucher dimension (flex field) -> (basedata form, its name in messages)
DIMENSIONS = {"FFLEX5": ("BD_Department", "部门"), "FF100002": ("BD_Project", "项目")}
API_USER = {"Id": 100_008, "FNumber": "webapi", "FName": "webapi"}
ACCOUNTANT = {"Id": 100_011, "FNumber": "zhangkj", "FName": "张会计"}
HEADER_FIELDS = (
    "FVOUCHERID", "FBillNo", "FAccountBookID", "FDate", "FBUSDATE", "FYEAR", "FPERIOD", "FVOUCHERGROUPID",
    "FVOUCHERGROUPNO", "FATTACHMENTS", "FISADJUSTVOUCHER", "FDocumentStatus", "FCREATORID", "FCreateDate",
    "FModifyDate", "FCHECKERID", "FAuditDate", "FDEBITTOTAL", "FCREDITTOTAL", EXTERNAL_REF_FIELD,
)  # fmt: skip
ENTRY_FIELDS = (
    "FEntryID", "FEXPLANATION", "FACCOUNTID", "FDetailID", "FCURRENCYID", "FEXCHANGERATETYPE", "FEXCHANGERATE",
    "FAMOUNTFOR", "FDEBIT", "FCREDIT", "FDC",
)  # fmt: skip
NATURAL_ORDER = ("fvoucherid", "fentity_fentryid")  # the order the book keeps its rows in
SEED_STATES = {"A": (), "B": ("submit",), "C": ("submit", "audit")}


class KingdeeError(Exception):
    """A refusal as K3Cloud reports it: messages with the field and the index of the record they concern."""

    def __init__(self, message: str, field: str | None = None, index: int = 0, msg_code: int = 11) -> None:
        super().__init__(message)
        self.errors = [{"FieldName": field, "Message": message, "DIndex": index}]
        self.msg_code = msg_code


def pick(data: dict[str, Any], key: str, default: Any = None) -> Any:
    """A member of a client's JSON by key, case-insensitively (K3Cloud ignores key case)."""
    if key in data:
        return data[key]
    lower = key.lower()
    return next((v for k, v in data.items() if k.lower() == lower), default)


def number_of(value: Any) -> str | None:
    """The number in a basedata reference: ``{"FNumber": "1001"}`` (any case) or a bare string."""
    if isinstance(value, dict):
        value = pick(value, "FNumber")
    return None if value in (None, "") else str(value)


def amount(value: Any, field: str, index: int) -> Decimal:
    try:
        return Decimal(str(value if value not in (None, "") else 0)).quantize(CENT, ROUND_HALF_UP)
    except InvalidOperation:
        raise KingdeeError(f"字段“{field}”的值“{value}”不是有效的金额", field, index) from None


class VoucherBook:
    """The vouchers of the data center, by internal id (ascending: ids only grow), with the indexes
    of :mod:`.index`; ``hidden``: the header fields a query cannot see (extension fields this data
    center was not customised with)."""

    FIELDS = (*HEADER_FIELDS, *ENTRY_FIELDS, "FEntity_FEntryID")

    def __init__(self, chart: Chart, hidden: frozenset[str] = frozenset()) -> None:
        self.chart = chart
        self.index = VoucherIndex(hidden)
        self.vouchers: dict[int, dict[str, Any]] = {}
        self.next_id = 200_001
        self.next_entry_id = 300_001

    # -- Save -------------------------------------------------------------------------------------
    def save(self, model: dict[str, Any], *, auto_audit: bool = False) -> dict[str, Any]:
        voucher_id = int(pick(model, "FVOUCHERID") or 0)
        existing = self.vouchers.get(voucher_id) if voucher_id else None
        if voucher_id and existing is None:
            raise KingdeeError(f"凭证内码“{voucher_id}”不存在", "FVOUCHERID")
        if existing and existing["FDocumentStatus"] not in ("A", "D"):
            raise KingdeeError("凭证已提交或已审核，不允许修改", "FDocumentStatus")
        book = self._basedata("BD_AccountBook", model, "FAccountBookID", "账簿")
        group = self._basedata("BD_VOUCHERGROUP", model, "FVOUCHERGROUPID", "凭证字")
        date = self._date(pick(model, "FDate"), "FDate")
        lines = pick(model, "FEntity") or []
        if not isinstance(lines, list) or not lines:
            raise KingdeeError("凭证分录不能为空", "FEntity")
        entries = [self._entry(line, i) for i, line in enumerate(lines)]
        debit = sum((e["FDEBIT"] for e in entries), Decimal("0"))
        credit = sum((e["FCREDIT"] for e in entries), Decimal("0"))
        if debit != credit:
            raise KingdeeError("借贷不平衡", "FEntity")
        moment = now()
        voucher = existing or {"FVOUCHERID": self.next_id, "FCREATORID": API_USER, "FCreateDate": moment}
        if existing is None:
            self.next_id += 1
        else:
            self.index.remove(existing, external_ref(existing))
        voucher.update(
            {
                "FAccountBookID": book,
                "FDate": date,
                "FBUSDATE": self._date(pick(model, "FBUSDATE"), "FBUSDATE") if pick(model, "FBUSDATE") else date,
                "FYEAR": date.year,
                "FPERIOD": date.month,
                "FVOUCHERGROUPID": group,
                "FATTACHMENTS": int(pick(model, "FATTACHMENTS") or 0),
                "FISADJUSTVOUCHER": str(pick(model, "FISADJUSTVOUCHER", "false")).lower() == "true",
                "FDocumentStatus": "A",
                "FModifyDate": moment,
                "FCHECKERID": None,
                "FAuditDate": None,
                "FDEBITTOTAL": debit,
                "FCREDITTOTAL": credit,
                EXTERNAL_REF_FIELD: pick(model, EXTERNAL_REF_FIELD) or None,
                "FEntity": entries,
            }
        )
        voucher["FVOUCHERGROUPNO"] = self._number(voucher, pick(model, "FVOUCHERGROUPNO"))
        voucher["FBillNo"] = f"PZ{voucher['FVOUCHERID']}"
        self.vouchers[voucher["FVOUCHERID"]] = voucher
        self.index.add(voucher, external_ref(voucher))
        if auto_audit:
            self._transition(voucher, "submit", API_USER)
            self._transition(voucher, "audit", API_USER)
        return voucher

    def _basedata(self, form: str, data: dict[str, Any], field: str, label: str, index: int = 0) -> dict:
        number = number_of(pick(data, field))
        if number is None:
            raise KingdeeError(f"字段“{label}”是必填项", field, index)
        record = self.chart.get(form, number)
        if record is None:
            raise KingdeeError(f"{label}“{number}”不存在", field, index)
        if record.get("FForbidStatus") == "B":
            raise KingdeeError(f"{label}“{number} {record['FName']}”已禁用", field, index)
        return record

    @staticmethod
    def _date(value: Any, field: str) -> dt.datetime:
        try:
            return dt.datetime.fromisoformat(str(value).strip()[:19]).replace(hour=0, minute=0, second=0)
        except ValueError:
            raise KingdeeError(f"字段“{field}”的值“{value}”不是有效的日期", field) from None

    def _entry(self, line: dict[str, Any], i: int) -> dict[str, Any]:
        account = self._basedata("BD_Account", line, "FACCOUNTID", "科目", i)
        if not account["FIsDetail"]:
            raise KingdeeError(
                f"科目“{account['FNumber']} {account['FName']}”不是明细科目，不能录入凭证", "FACCOUNTID", i
            )
        debit, credit = amount(pick(line, "FDEBIT"), "FDEBIT", i), amount(pick(line, "FCREDIT"), "FCREDIT", i)
        if debit == 0 and credit == 0:
            raise KingdeeError("借方金额与贷方金额不能同时为零", "FDEBIT", i)
        detail: dict[str, Any] = {}
        for key, value in (pick(line, "FDetailID") or {}).items():
            flex = key.upper().removeprefix("FDETAILID__")
            if flex not in DIMENSIONS:
                raise KingdeeError(f"核算维度“{key}”不存在", "FDetailID", i)
            if number_of(value) is not None:
                form, label = DIMENSIONS[flex]
                detail[flex] = self._basedata(form, {key: value}, key, label, i)
        currency = self.chart.get("BD_Currency", number_of(pick(line, "FCURRENCYID")) or "PRE001")
        rate_type = self.chart.get("BD_RateType", number_of(pick(line, "FEXCHANGERATETYPE")) or "HLTX01_SYS")
        if currency is None or rate_type is None:
            raise KingdeeError("币别或汇率类型不存在", "FCURRENCYID", i)
        explanation = str(pick(line, "FEXPLANATION") or "")
        if len(explanation) > EXPLANATION_LENGTH:
            raise KingdeeError(f"字段“摘要”的长度不能超过{EXPLANATION_LENGTH}个字符", "FEXPLANATION", i)
        entry = {
            "FEntryID": self.next_entry_id,
            "FEXPLANATION": explanation,
            "FACCOUNTID": account,
            "FDetailID": detail,
            "FCURRENCYID": currency,
            "FEXCHANGERATETYPE": rate_type,
            "FEXCHANGERATE": amount(pick(line, "FEXCHANGERATE") or 1, "FEXCHANGERATE", i),
            "FAMOUNTFOR": amount(pick(line, "FAMOUNTFOR") or debit or credit, "FAMOUNTFOR", i),
            "FDEBIT": debit,
            "FCREDIT": credit,
            "FDC": 1 if debit else -1,
        }
        self.next_entry_id += 1
        return entry

    def _number(self, voucher: dict[str, Any], wanted: Any) -> int:
        """The number a voucher (not indexed meanwhile) gets in its group and period: the wanted one if
        free, else the one it has if free, else one above the highest taken."""
        key = number_key(voucher)
        taken = self.index.taken(key)
        try:
            number = int(wanted or 0)
        except (TypeError, ValueError):
            number = 0
        if number > 0 and number not in taken:
            return number
        current = voucher.get("FVOUCHERGROUPNO")
        if current and current not in taken:
            return current
        return self.index.highest(key) + 1

    def seed(self, vouchers: list[dict[str, Any]]) -> dict[str, Any]:
        """The control API's ``seed_vouchers``: vouchers an integration posted earlier, each a Save
        ``model`` held under its ``id`` (above every id of the book) and ``number`` (FVOUCHERGROUPNO), in
        ``state`` A, B or C (submitted and audited by the accountant), exactly as if saved, submitted and
        audited one by one."""
        ids = []
        for item in vouchers:
            wanted, state = int(item["id"]), str(item.get("state") or "C")
            if wanted < self.next_id or state not in SEED_STATES:
                raise ValueError(f"voucher id {wanted} is not above {self.next_id - 1}, or state {state!r} unknown")
            self.next_id = wanted
            try:
                voucher = self.save({**item["model"], "FVOUCHERID": 0, "FVOUCHERGROUPNO": item.get("number")})
            except KingdeeError as err:
                raise ValueError(f"voucher {wanted}: {err.errors}") from None
            for op in SEED_STATES[state]:
                self._transition(voucher, op, ACCOUNTANT)
            ids.append(voucher["FVOUCHERID"])
        return {"seeded": len(ids), "ids": [min(ids), max(ids)] if ids else []}

    # -- operations -------------------------------------------------------------------------------
    def find(self, data: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The vouchers named by ``Ids`` ("1,2" or a list) or ``Numbers`` (FBillNo), and errors for the rest."""
        found, errors = [], []
        ids = pick(data, "Ids") or ""
        ids = [str(i).strip() for i in (ids.split(",") if isinstance(ids, str) else ids) if str(i).strip()]
        numbers = [str(n) for n in pick(data, "Numbers") or []]
        for index, ref in enumerate([*ids, *numbers]):
            by_id = ref.isdigit() and index < len(ids)
            voucher = self.vouchers.get(int(ref) if by_id else self.index.bill_nos.get(ref, 0))
            if voucher is None:
                errors.append({"FieldName": None, "Message": f"单据“{ref}”不存在或已被删除", "DIndex": index})
            else:
                found.append(voucher)
        if not ids and not numbers:
            errors.append({"FieldName": "Ids", "Message": "请指定要操作的单据（Ids 或 Numbers）", "DIndex": 0})
        return found, errors

    def operate(self, op: str, data: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Submit / Audit / UnAudit / Delete the named vouchers; returns the successes and the errors."""
        vouchers, errors = self.find(data)
        done = []
        for index, voucher in enumerate(vouchers):
            try:
                self._transition(voucher, op, API_USER)
                done.append(voucher)
            except KingdeeError as err:
                errors.extend({**e, "DIndex": index} for e in err.errors)
        return done, errors

    def _transition(self, voucher: dict[str, Any], op: str, user: dict[str, Any]) -> None:
        status = voucher["FDocumentStatus"]
        self._move(voucher, op, user)
        if op != "delete":
            self.index.moved(voucher, status)

    def _move(self, voucher: dict[str, Any], op: str, user: dict[str, Any]) -> None:
        status = voucher["FDocumentStatus"]
        label = f"凭证“{voucher['FVOUCHERGROUPID']['FName']}-{voucher['FVOUCHERGROUPNO']}”"
        if op == "submit":
            if status not in ("A", "D"):
                raise KingdeeError(f"{label}不是创建或重新审核状态，不能提交", "FDocumentStatus")
            voucher["FDocumentStatus"] = "B"
        elif op == "audit":
            if status != "B":
                raise KingdeeError(f"{label}不是已提交状态，不能审核", "FDocumentStatus")
            voucher.update(FDocumentStatus="C", FCHECKERID=user, FAuditDate=now())
        elif op == "unaudit":
            if status != "C":
                raise KingdeeError(f"{label}不是已审核状态，不能反审核", "FDocumentStatus")
            voucher.update(FDocumentStatus="D", FCHECKERID=None, FAuditDate=None)
        elif op == "delete":
            if status not in ("A", "D"):
                raise KingdeeError(f"{label}已提交或已审核，不能删除", "FDocumentStatus")
            del self.vouchers[voucher["FVOUCHERID"]]
            self.index.remove(voucher, external_ref(voucher))
            return
        else:
            raise ValueError(op)
        voucher["FModifyDate"] = now()

    def audit_as_accountant(self, args: dict[str, Any]) -> dict[str, Any]:
        """The control API's ``audit_voucher``: what the ERP accountant does (submit if needed, audit)."""
        ref = args.get("external_ref")
        if ref is not None:
            voucher = self.vouchers.get(self.index.first_of(ref) or 0)
        else:
            voucher = self.vouchers.get(int(args["id"]))
        if voucher is None:
            raise KeyError(f"no voucher {args}")
        if voucher["FDocumentStatus"] in ("A", "D"):
            self._transition(voucher, "submit", ACCOUNTANT)
        if voucher["FDocumentStatus"] == "B":
            self._transition(voucher, "audit", ACCOUNTANT)
        return describe(voucher)

    # -- reads ------------------------------------------------------------------------------------
    def fields(self) -> tuple[str, ...]:
        return tuple(f for f in self.FIELDS if f not in self.index.hidden)

    def rows(self) -> list[EntryRow]:
        """One row per (voucher × entry), header fields and entry fields side by side, in id order."""
        return [row for vid in self.vouchers for row in self.index.rows[vid]]

    def select(self, query: dict[str, Any], top: int) -> list[EntryRow]:
        """The rows of a query (``FilterString``, ``OrderString``, ``TopRowCount``), as
        :func:`~.query.select` over :meth:`rows` answers them: read through the indexes, the whole
        filter evaluated on the rows kept (once per voucher when it names header fields only), kept
        for the next pages until the next write."""
        text, order_string = query.get("FilterString"), query.get("OrderString")
        key = (text, order_string, top)
        kept = self.index.selection(key)
        if kept is not None:
            return kept
        predicate = compile_filter(text)
        index = self.index
        ids = index.candidates(conjuncts(text)) if text and text.strip() else None
        if ids is not None and self.vouchers and not self._probe(predicate):
            ids = None  # the filter fails on a row: let the scan fail where it would
        ids = list(self.vouchers) if ids is None else ids
        headers = {k.lower() for k in HEADER_FIELDS} - {k.lower() for k in index.hidden}
        if all(k.split(".")[0].lower() in headers for k in referenced(text)):
            selected = [row for i in ids if predicate(index.rows[i][0]) for row in index.rows[i]]
        else:
            selected = [row for i in ids for row in index.rows[i] if predicate(row)]
        if not natural_order(order_string):
            selected = order(selected, order_string)
        if top > 0:
            selected = selected[:top]
        index.keep(key, selected)
        return selected

    def _probe(self, predicate: Any) -> bool:
        """Whether the filter evaluates on the book's first row without an error."""
        try:
            predicate(self.index.rows[next(iter(self.vouchers))][0])
        except QueryError:
            return False
        return True

    def returned(self, voucher: dict[str, Any], keys: list[str]) -> dict[str, Any]:
        """``NeedReturnData``: the asked header fields of a saved voucher (unknown keys left out)."""
        header = {k: v for k, v in voucher.items() if k != "FEntity"}
        out = {}
        for key in keys:
            try:
                out[key] = render(field_value(header, key))
            except ValueError:
                continue
        return out

    def view(self, data: dict[str, Any]) -> dict[str, Any]:
        number, ident = pick(data, "Number"), pick(data, "Id")
        vouchers, errors = self.find({"Ids": str(ident)} if ident not in (None, "", 0) else {"Numbers": [number]})
        if errors:
            raise KingdeeError(errors[0]["Message"], msg_code=0)
        return orm(vouchers[0])

    def dump(self) -> list[dict[str, Any]]:
        return [describe(v) for v in self.vouchers.values()]


def natural_order(order_string: str | None) -> bool:
    """Whether ``OrderString`` asks for the order the book keeps its rows in (sorting would change nothing)."""
    terms = [t.split() for t in (order_string or "").split(",") if t.strip()]
    if len(terms) > len(NATURAL_ORDER):
        return False
    return all(
        t[0].lower() == key and (len(t) == 1 or (len(t) == 2 and t[1].upper() == "ASC"))
        for t, key in zip(terms, NATURAL_ORDER, strict=False)
    )


def orm(value: Any, key: str = "") -> Any:
    """A voucher as View answers it: ORM property names, references as ``{Id, Number, Name}``."""
    if isinstance(value, dict) and "Id" in value:
        return {"Id": value["Id"], "Number": value.get("FNumber"), "Name": [{"Key": 2052, "Value": value.get("FName")}]}
    if isinstance(value, dict):
        return {_prop(k, key): orm(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [orm(v) for v in value]
    return render(value)


def _prop(key: str, parent: str) -> str:
    if parent == "FDetailID" or key.startswith("F_"):
        return key
    if key == "FVOUCHERID":
        return "Id"
    return key[1:] if key.startswith("F") else key


def external_ref(voucher: dict[str, Any]) -> str | None:
    """The business key an integration left on a voucher: the extension field of a customised data
    center, or the ref expense-sync marks at the start of the entries' 摘要 (a control-API convenience:
    K3Cloud itself knows nothing of it)."""
    if voucher.get(EXTERNAL_REF_FIELD):
        return voucher[EXTERNAL_REF_FIELD]
    for entry in voucher["FEntity"]:
        match = REF_IN_EXPLANATION.match(entry["FEXPLANATION"])
        if match:
            return match.group(1)
    return None


def describe(voucher: dict[str, Any]) -> dict[str, Any]:
    """A voucher in plain JSON for the control API (amounts as strings); ``F_ES_ExternalRef`` is
    :func:`external_ref`."""

    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return value["FNumber"] if "FNumber" in value else {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        if isinstance(value, Decimal):
            return str(value)
        return render(value)

    return {**{k: plain(v) for k, v in voucher.items()}, EXTERNAL_REF_FIELD: external_ref(voucher)}
