"""OData v2 on the wire, as SAP Gateway speaks it: literals, ``/Date(…)/`` values, error bodies, periods."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import urlsplit
from xml.etree import ElementTree as ET

NS_M = "http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"
NO_SERVICE = "/IWFND/MED/170"  # "No service found for namespace …": the service is not activated here
_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def literal(value: str) -> str:
    """An OData string literal (a quote is doubled)."""
    return "'" + value.replace("'", "''") + "'"


def timestamp_literal(since: dt.datetime) -> str:
    """A ``datetimeoffset`` literal in UTC, floored to the second (SAP keeps seconds: nothing is missed)."""
    since = since if since.tzinfo else since.replace(tzinfo=dt.UTC)
    return f"datetimeoffset'{since.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%S}Z'"


def either(field: str, values: list[str]) -> str:
    """``(field eq 'a' or field eq 'b')``."""
    return "(" + " or ".join(f"{field} eq {literal(v)}" for v in values) + ")"


def parse_datetime(value: Any) -> dt.datetime | None:
    """``/Date(ms)/`` (Edm.DateTime) or ``/Date(ms+0000)/`` (Edm.DateTimeOffset) → an aware UTC datetime.

    The milliseconds count from the epoch in UTC either way; the offset only says where the value
    was recorded.
    """
    match = _DATE.match(value) if isinstance(value, str) else None
    return EPOCH + dt.timedelta(milliseconds=int(match.group(1))) if match else None


def parse_date(value: Any) -> dt.date | None:
    stamp = parse_datetime(value)
    return stamp.date() if stamp else None


def split_period(period: str) -> tuple[str, str]:
    """``YYYY-MM`` → (``YYYY``, ``0MM``): fiscal year and period of the calendar variant K4 [I]."""
    match = re.fullmatch(r"(\d{4})-(\d{2})", period)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ValueError(f"period must be YYYY-MM, got {period!r}")
    return match.group(1), f"{int(match.group(2)):03d}"


def error_detail(body: Any, text: str) -> tuple[str | None, str]:
    """(code, message) of a Gateway error ``{"error":{"code","message":{"value"}}}`` or an OAuth error."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        message = error.get("message")
        if isinstance(message, dict):
            message = message.get("value")
        return error.get("code"), str(message or error.get("code") or "error")
    if isinstance(error, str):  # OAuth: {"error": "invalid_client", "error_description": …}
        return error, str(body.get("error_description") or error)
    return None, (text or "").strip()[:300] or "error"


def xml_error_detail(content: bytes, text: str) -> tuple[str | None, str]:
    """(code, message) of a Gateway error in XML: ``<error xmlns=m><code/><message/>…</error>``."""
    try:
        root = ET.fromstring(content)
    except ET.ParseError:
        return None, (text or "").strip()[:300] or "error"
    if root.tag != f"{{{NS_M}}}error":
        return None, (text or "").strip()[:300] or "error"
    code = (root.findtext(f"{{{NS_M}}}code") or "").strip() or None
    message = (root.findtext(f"{{{NS_M}}}message") or "").strip()
    return code, message or code or "error"


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the scheme's default port filled in."""
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port or default
