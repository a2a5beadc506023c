"""The shapes of 合思's invoice entities, as EKB datalink-extend/get-entity-invoice.md shows them per
``objectId`` tab (发票主体, 铁路客票, 航空运输电子客票行程单, 客运汽车发票, 出租车票, 定额发票, 其他), and
the 发票明细 row of EKB datalink-extend/invoice-multiple_items.md. Used by :mod:`.invoices`."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from typing import Any

CHINA = dt.timezone(dt.timedelta(hours=8))
# objectId -> (entity id, business object name) (EKB datalink-extend/get-entity-invoice.md)
OBJECTS = {
    "invoice": ("system_发票主体", "发票主体"),
    "other": ("system_其他", "其他"),
    "taxi": ("system_出租车票", "出租车票"),
    "fixed": ("system_定额发票", "定额发票"),
    "passengerCar": ("system_客运汽车发票", "客运汽车发票"),
    "machinePrint": ("system_机打发票", "机打发票"),
    "shopping": ("system_消费小票", "消费小票"),
    "train": ("system_火车票", "铁路客票"),
    "flightItinerary": ("system_航空运输电子客票行程单", "航空运输电子客票行程单"),
    "tolls": ("system_过路费发票", "过路费发票"),
    "medical": ("system_医疗发票", "医疗发票"),
    "noTaxIncome": ("system_非税收入类票据", "财政票据"),
}
CATEGORIES = (
    "FULL_DIGITAl_NORMAL",
    "FULL_DIGITAl_SPECIAL",
    "FULL_DIGITAl_PAPER",
    "FULL_DIGITAl_PAPER_NORMAL",
    "DIGITAL_NORMAL",
    "DIGITAL_SPECIAL",
    "PAPER_NORMAL",
    "PAPER_ROLL",
    "PAPER_SPECIAL",
    "PAPER_CAR",
    "SECOND_CAR",
    "PAPER_FEE",
    "BLOCK_CHAIN",
)
# 专票 (增值税专用发票): the categories whose tax is deductible by default [I]
SPECIAL = ("FULL_DIGITAl_SPECIAL", "FULL_DIGITAl_PAPER", "DIGITAL_SPECIAL", "PAPER_SPECIAL")


def money(amount: Any) -> dict[str, Any]:
    return {
        "standard": f"{Decimal(str(amount)):.2f}",
        "standardUnit": "元",
        "standardScale": 2,
        "standardSymbol": "¥",
        "standardNumCode": "156",
        "standardStrCode": "CNY",
    }


def day_ms(day: str | None, hour: int = 0) -> int:
    d = dt.date.fromisoformat(day) if day else dt.date.today()
    return int(dt.datetime(d.year, d.month, d.day, hour, tzinfo=CHINA).timestamp() * 1000)


def _field(name: str, value: Any) -> dict[str, Any]:
    """One field definition of the business object (``entity.fields[]``), typed by its value."""
    kind = "money" if isinstance(value, dict) else "switcher" if isinstance(value, bool) else "text"
    if isinstance(value, int) and not isinstance(value, bool) and value > 10**11:
        kind = "date"
    field: dict[str, Any] = {
        "name": name,
        "label": name.rsplit("_", 1)[-1],
        "type": kind,
        "source": "dataLink",
        "optional": False,
        "defaultValue": None,
        "formula": False,
        "index": False,
        "systemField": False,
        "childrenOptional": {},
        "calculation": {"dependencies": [], "dependenciesBy": [], "order": -1},
    }
    if kind == "text":
        field["regex"] = ""
    if kind == "date":
        field["withTime"] = False
    return field


# fields the 发票明细 object defines that a row of a non-toll invoice leaves out (通行费: plate, type,
# dates; EKB get-entity-invoic-details-batch.md), with a sample value that gives each its type
SCHEMA_ONLY = {
    "detail": {
        "E_system_发票明细_车牌号": "",
        "E_system_发票明细_类型": "",
        "E_system_发票明细_通行日期起": 1531810588185,
        "E_system_发票明细_通行日期止": 1531810588185,
    }
}


def _visibility() -> dict[str, Any]:
    return {"fullVisible": False, "staffs": [], "roles": [], "departments": [], "departmentsIncludeChildren": True}


def _action(name: str, desc: str) -> dict[str, Any]:
    return {
        "id": "",
        "name": name,
        "desc": desc,
        "allowedLayout": [],
        "type": "DEFAULT",
        "context": None,
        "createTime": 0,
        "active": True,
        "order": 0,
        "dataFilter": False,
        "conditions": [],
    }


def business_object(object_id: str, form: dict[str, Any]) -> dict[str, Any]:
    """The preset business object the entity is kept in (``entity``), as the docs show it;
    ``object_id`` "detail" for the 发票明细 rows."""
    entity_id, name = OBJECTS[object_id] if object_id != "detail" else ("system_发票明细", "发票明细")
    return {
        "operateSource": "WRITE",
        "operatorId": None,
        "pipeline": 1,
        "grayver": "",
        "dbVersion": 0,
        "threadId": "",
        "version": 2,
        "active": True,
        "createTime": 1531810588185,
        "updateTime": 1531810588185,
        "name": name,
        "nameSpell": "",
        "corporationId": "",
        "sourceCorporationId": None,
        "dataCorporationId": None,
        "ledgerIds": None,
        "plannedIds": None,
        "parentId": "",
        "code": "",
        "scoped": False,
        "source": "OTHER",
        "multiCurrencyFlag": False,
        "actions": [_action("修改次数上限", "业务对象被引用到上限制，超过后自动停用"), _action("详情", "查看")],
        "importOverrideStrategy": None,
        "visibility": _visibility(),
        "type": "DIMENSION",
        "disableStrategy": "LIMIT_COUNT",
        "maxUsageCount": 1,
        "writtenOffField": None,
        "fields": [_field(k, v) for k, v in {**form, **SCHEMA_ONLY.get(object_id, {})}.items()],
        "defaultMappingRuleId": None,
        "filterId": None,
        "id": entity_id,
        "platformId": "system_发票平台",
        "details": ["system_发票明细"] if object_id == "invoice" else None,
        "homePageVisibleIds": None,
        "homeVisibility": _visibility(),
        "exportVisibility": _visibility(),
        "ownerDepts": False,
        "showOnPage": True,
        "importMethod": ["excel", "api"],
        "allowRecordLog": False,
        "logFields": [],
        "showBook": False,
        "allowAddSubType": True,
        "dataFilter": False,
    }


def _scan(source_id: str) -> dict[str, Any]:
    """The fields every ticket carries from its import (image, OCR region, source)."""
    return {
        "E_system_发票主体_OFD": None,
        "E_system_发票主体_PDF": None,
        "E_system_发票主体_图片": f"{source_id}.jpg",
        "E_system_发票主体_方向": 0.0,
        "E_system_发票主体_来源": "OCR",
        "E_system_发票主体_识别范围": [0.0, 0.0, 2000.0, 1300.0],
        "E_system_票据来源_sourceEntityId": source_id,
    }


def _plain_tax(amount: Any) -> dict[str, Any]:
    """The tax fields of a ticket that carries none (the documented tabs show zeros)."""
    return {"E_税率": "0", "E_税额": money(0), "E_是否抵扣": False, "E_不计税金额": money(amount)}


def _require(fields: dict[str, Any], *names: str) -> None:
    missing = [n for n in names if fields.get(n) in (None, "")]
    if missing:
        raise ValueError(f"seed_invoice needs {', '.join(missing)}")


def vat(corp_id: str, f: dict[str, Any], source: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """A 发票主体: its id, its fields and its one 发票明细 row."""
    _require(f, "category", "number", "net", "tax")
    category, code, number = f["category"], f.get("code") or "", str(f["number"])
    if category not in CATEGORIES:
        raise ValueError(f"unknown 发票类别 {category!r}; known: {', '.join(CATEGORIES)}")
    full_digital = category.startswith("FULL_DIGITAl")
    if full_digital and (code or len(number) != 20):
        raise ValueError("a 全电 invoice has no 发票代码 and a 20-digit number")
    if not full_digital and (not code or len(number) != 8):
        raise ValueError("an invoice other than 全电 has a 发票代码 and an 8-digit number")
    net, tax = Decimal(str(f["net"])), Decimal(str(f["tax"]))
    total = Decimal(str(f["total"])) if f.get("total") is not None else net + tax
    deductible = tax if category in SPECIAL else Decimal("0")
    invoice_id = f"{corp_id}:{code}:{number}"
    form = {
        "E_税额": money(deductible),
        "E_是否抵扣": deductible > 0,
        "E_不计税金额": money(total - deductible),
        "E_system_收票状态": "RECEIVE",
        "E_system_发票主体_code": code,
        "E_system_发票主体_name": number,
        "E_system_发票主体_cardId": None,
        "E_system_发票主体_备注": "",
        "E_system_发票主体_税额": money(tax),
        "E_system_发票主体_验真": bool(f.get("verified", True)),
        "E_system_发票主体_验签": False,
        "E_system_发票主体_复核人": "复核",
        "E_system_发票主体_开票人": "开票",
        "E_system_发票主体_收款人": "收款",
        "E_system_发票主体_校验码": number[-6:],
        "E_system_发票主体_ifNormOpen": True,
        "E_system_发票主体_encryptCode": None,
        "E_system_发票主体_价税合计": money(total),
        "E_system_发票主体_发票代码": code,
        "E_system_发票主体_发票号码": number,
        "E_system_发票主体_发票日期": day_ms(f.get("date")),
        "E_system_发票主体_发票类别": category,
        "E_system_发票主体_发票金额": money(net),
        "E_system_发票主体_购买方名称": f.get("buyer_name") or "示例集团",
        "E_system_发票主体_销售方名称": f.get("seller_name") or "示例供应商有限公司",
        "E_system_发票主体_发票印刷号码": "",
        "E_system_发票主体_是否有发票原件": True,
        "E_system_发票主体_购买方地址电话": "",
        "E_system_发票主体_销售方地址电话": "",
        "E_system_发票主体_购买方开户行及账号": "",
        "E_system_发票主体_购买方纳税人识别号": f.get("buyer_tax_id") or "91110000000000000X",
        "E_system_发票主体_销售方开户行及账号": "",
        "E_system_发票主体_销售方纳税人识别号": f["seller_tax_id"] if "seller_tax_id" in f else "91440300MA5FN0QX1T",
        **{k: v for k, v in _scan(source).items() if k != "E_system_发票主体_OFD"},
    }
    # one 发票明细 row, as EKB datalink-extend/get-entity-invoic-details-batch.md shows it (read by
    # detailBatch; the claim's itemIds name it)
    item_id = f"ID01{hashlib.sha1(invoice_id.encode()).hexdigest()[:10]}"
    row = {
        "E_system_发票明细_code": item_id,
        "E_system_发票明细_name": "*服务*费用",
        "E_system_发票明细_单价": money(net),
        "E_system_发票明细_数量": "1.00000000",
        "E_system_发票明细_税率": f.get("rate") or "6%",
        "E_system_发票明细_税额": money(tax),
        "E_system_发票明细_金额": money(net),
        "E_system_发票明细_规格型号": "",
    }
    item = {
        "id": item_id,
        "masterId": invoice_id,
        "useCount": 0,
        "totalCount": 1,
        "ownerId": None,
        "visibility": {"fullVisible": True, "staff": [], "department": [], "role": []},
        **row,
        "active": True,
        "entityId": "system_发票明细",
        "entity": business_object("detail", row),
    }
    return invoice_id, form, item


def train(f: dict[str, Any], source: str) -> dict[str, Any]:
    _require(f, "number", "amount")
    return {
        "E_是否抵扣": False,
        "E_system_火车票_号码": str(f["number"]),
        "E_system_火车票_车次": f.get("train_no") or "G101",
        "E_system_火车票_金额": money(f["amount"]),
        **{k: v for k, v in _scan(source).items() if k not in ("E_system_发票主体_OFD", "E_system_发票主体_PDF")},
        "E_system_火车票_序列码": f"1061031029{f['number']}",
        "E_system_火车票_上车车站": "北京南",
        "E_system_火车票_下车车站": "上海虹桥",
        "E_system_火车票_乘车时间": day_ms(f.get("date"), 8),
        "E_system_火车票_座位类型": "二等座",
        "E_system_火车票_消费类型": "交通",
        "E_system_火车票_乘车人姓名": f.get("passenger") or "王芳",
    }


def flight(f: dict[str, Any], source: str) -> dict[str, Any]:
    _require(f, "number", "fare")
    fare, fuel = Decimal(str(f["fare"])), Decimal(str(f.get("fuel") or 0))
    fund, insurance = Decimal(str(f.get("caac_fund") or 0)), Decimal(str(f.get("insurance") or 0))
    amount = Decimal(str(f["amount"])) if f.get("amount") is not None else fare + fuel + fund + insurance
    prefix = "E_system_航空运输电子客票行程单_"
    return {
        **_plain_tax(amount),
        **_scan(source),
        prefix + "票价": money(fare),
        prefix + "税费": money(0),
        prefix + "金额": money(amount),
        prefix + "保险费": money(insurance),
        prefix + "出发站": "北京-首都",
        prefix + "到达站": "上海-虹桥",
        prefix + "航班号": "MU5100",
        prefix + "验证码": "2595",
        prefix + "乘机时间": day_ms(f.get("date"), 9),
        prefix + "填开单位": "示例航空服务有限公司",
        prefix + "填开日期": day_ms(f.get("date")),
        prefix + "座位等级": "Y",
        prefix + "消费类型": "交通",
        prefix + "身份证号": "110101199001010000",
        prefix + "乘机人姓名": f.get("passenger") or "王芳",
        prefix + "燃油附加费": money(fuel),
        prefix + "民航发展基金": money(fund),
        prefix + "电子客票号码": str(f["number"]),
        prefix + "销售单位代号": "PEK001,08677392",
    }


def ticket(object_id: str, f: dict[str, Any], source: str) -> dict[str, Any]:
    """taxi, passengerCar, fixed and other: number, date, amount (and 发票代码 where documented)."""
    _require(f, "number", "amount")
    number, code, amount, when = str(f["number"]), f.get("code") or "", f["amount"], day_ms(f.get("date"), 9)
    scan = _scan(source)
    if object_id == "taxi":
        p = "E_system_出租车票_"
        return {
            **scan,
            p + "城市": "北京市",
            p + "省份": "北京市",
            p + "里程": "12.5",
            p + "金额": money(amount),
            p + "上车时间": when,
            p + "下车时间": when + 1800000,
            p + "发票代码": code,
            p + "发票号码": number,
            p + "消费类型": "交通",
            p + "车牌号码": "京B·12345",
            p + "发票所在地": "北京市",
        }
    if object_id == "passengerCar":
        p = "E_system_客运汽车发票_"
        return {
            **_plain_tax(amount),
            **scan,
            p + "姓名": f.get("passenger") or "王芳",
            p + "时间": when,
            p + "金额": money(amount),
            p + "出发车站": "北京",
            p + "发票代码": code,
            p + "发票号码": number,
            p + "消费类型": "交通",
            p + "达到车站": "天津",
        }
    if object_id == "fixed":  # the documented 定额发票 has no date field: ``date`` is not kept
        p = "E_system_定额发票_"
        return {**scan, p + "号码": number, p + "金额": money(amount), p + "发票代码": code, p + "消费类型": "交通"}
    # other: the documented 其他 ticket has a date and an amount only; the number is the id's seed
    scan.pop("E_system_发票主体_OFD")
    scan.pop("E_system_发票主体_PDF")
    return {
        **_plain_tax(amount),
        "E_system_其他_日期": when,
        "E_system_其他_金额": money(amount),
        **scan,
        "E_system_发票主体_验签": True,
        "E_system_发票主体_是否有发票原件": True,
    }
