"""Wire helpers of the Yonyou sandbox: JSON with exact decimals, the gateway's envelopes and clock.

Yonyou sends amounts as JSON numbers (Java ``BigDecimal``); the sandbox keeps them as
:class:`~decimal.Decimal` and writes them back as numbers with their exact digits, never through a
float. Times are tenant-local (China, UTC+8) ``yyyy-MM-dd HH:mm:ss`` strings.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from expense_sync_sandboxes.core import VendorHTTPError

CHINA = dt.timezone(dt.timedelta(hours=8))
TS_FORMAT = "%Y-%m-%d %H:%M:%S"
CENT = Decimal("0.01")
_MARK = re.compile('"\ue000(\\d+)\ue001"')


def dumps(body: Any) -> str:
    """JSON text in which every Decimal is a number with exactly its own digits."""
    numbers: list[str] = []

    def mark(node: Any) -> Any:
        if isinstance(node, Decimal):
            numbers.append(str(node))
            return f"\ue000{len(numbers) - 1}\ue001"
        if isinstance(node, dict):
            return {k: mark(v) for k, v in node.items()}
        if isinstance(node, (list, tuple)):
            return [mark(v) for v in node]
        return node

    text = json.dumps(mark(body), ensure_ascii=False, separators=(",", ":"))
    return _MARK.sub(lambda m: numbers[int(m.group(1))], text)


def respond(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        content=dumps(body), status_code=status, media_type="application/json;charset=UTF-8", headers=headers
    )


def plain(text: str, status: int = 200) -> Response:
    return Response(content=text, status_code=status, media_type="text/plain;charset=utf-8")


def ok(data: Any, message: str = "OK") -> Response:
    """A business success: string code ``"200"``."""
    return respond({"code": "200", "message": message, "data": data})


def fail(message: str, code: str = "404", data: Any = None) -> VendorHTTPError:
    """A business failure: HTTP 200 with a string code (``"404"`` for most refusals)."""
    return VendorHTTPError(respond({"code": code, "message": message, "data": {} if data is None else data}))


def amount(value: Any, field: str) -> Decimal | None:
    """A money field as sent (number or numeric string); ``None`` when absent or empty."""
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise fail(f"凭证保存不成功,{field}金额格式不正确！") from None
    if not number.is_finite() or number != number.quantize(CENT):
        raise fail(f"凭证保存不成功,{field}金额最多两位小数！")
    return number


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT)


async def json_body(request: Request) -> dict[str, Any]:
    """The JSON object of a request, numbers as Decimal (as the Java side reads BigDecimal)."""
    raw = await request.body()
    if not raw:
        return {}
    try:
        body = json.loads(raw, parse_float=Decimal)
    except ValueError:
        raise fail("请求参数不是合法的JSON格式", code="999") from None
    if not isinstance(body, dict):
        raise fail("请求参数必须是JSON对象", code="999")
    return body


def now() -> dt.datetime:
    return dt.datetime.now(CHINA).replace(microsecond=0, tzinfo=None)


def ts(moment: dt.datetime) -> str:
    return moment.strftime(TS_FORMAT)
