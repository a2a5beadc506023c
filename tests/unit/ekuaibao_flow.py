"""A 合思 flow detail (``GET /api/openapi/v1.1/flowDetails`` → ``value``) shaped as the ekuaibao sandbox
serves it: money as strings, times in epoch milliseconds, dimensions as item ids."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

CHINA = dt.timezone(dt.timedelta(hours=8))
CORP = "ID01owxnHmDW7F"


def epoch_ms(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> int:
    """A China-time moment in epoch milliseconds."""
    return int(dt.datetime(year, month, day, hour, minute, tzinfo=CHINA).timestamp() * 1000)


def money(standard: Any) -> dict[str, Any]:
    return {
        "standard": standard,
        "standardUnit": "元",
        "standardScale": 2,
        "standardSymbol": "¥",
        "standardNumCode": "156",
        "standardStrCode": "CNY",
    }


def detail(n: int, amount: str, cost_center: str, project: str | None = None, reason: str = "") -> dict[str, Any]:
    form = {
        "amount": money(amount),
        "feeDate": epoch_ms(2026, 1, 12),
        "detailId": f"DET{n:03d}",
        "consumptionReasons": reason,
        "invoiceForm": {"type": "noWrite"},
        "u_costCenter": f"{CORP}:成本中心:{cost_center}",
    }
    if project:
        form["u_project"] = f"{CORP}:项目:{project}"
    return {
        "feeTypeId": f"{CORP}:FT66020{n}",
        "feeType": {"id": f"{CORP}:FT66020{n}", "code": f"66020{n}", "name": "差旅费"},
        "specificationId": "spec:expense",
        "feeTypeForm": form,
    }


TRAVEL = {
    "id": f"{CORP}:FLOW0000070003",
    "active": True,
    "createTime": epoch_ms(2026, 1, 12, 10),
    "updateTime": epoch_ms(2026, 1, 15, 16, 30),
    "corporationId": CORP,
    "ownerId": f"{CORP}:E0007",
    "ownerDefaultDepartment": f"{CORP}:D03",
    "state": "paying",
    "flowType": "freeflow",
    "formType": "expense",
    "logs": [],
    "actions": {},
    "form": {
        "code": "B26000003",
        "title": "上海出差报销",
        "submitterId": f"{CORP}:E0007",
        "expenseDepartment": f"{CORP}:D03",
        "specificationId": "spec:expense",
        "submitDate": epoch_ms(2026, 1, 13),
        "expenseDate": epoch_ms(2026, 1, 12),
        "payDate": None,
        "voucherNo": "",
        "voucherStatus": "未生成",
        "voucherCreateTime": None,
        "expenseMoney": money("1280.50"),
        "payMoney": money("1280.50"),
        "details": [
            detail(1, "860.00", "CC100", "PRJ01", "高铁 北京—上海"),
            detail(2, "420.50", "CC100", None, "酒店 2 晚"),
        ],
        "u_oaInstanceId": "proc-7f3a",
    },
}


def travel(**form: Any) -> dict[str, Any]:
    """A deep copy of :data:`TRAVEL` with form fields replaced (``None`` removes one)."""
    flow = copy.deepcopy(TRAVEL)
    for key, value in form.items():
        if value is None:
            flow["form"].pop(key, None)
        else:
            flow["form"][key] = value
    return flow
