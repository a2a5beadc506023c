"""claims/intake.py pure part: an outage (try later) is told from a refusal (the document is bad)."""

from __future__ import annotations

import psycopg
import pytest

from expense_sync.claims.intake import is_outage
from expense_sync.hooks.errors import (
    AuthenticationError,
    OutcomeUnknownError,
    ThrottledError,
    TransientVendorError,
    VendorRequestError,
)


@pytest.mark.parametrize(
    ("err", "outage"),
    [
        (TransientVendorError("ekuaibao: server error: 502"), True),
        (ThrottledError("ekuaibao: throttled", retry_after=2.0), True),
        (AuthenticationError("ekuaibao: access refused"), True),  # the connection, not the document
        (OutcomeUnknownError("ekuaibao: timeout"), True),
        (psycopg.OperationalError("connection refused"), True),
        (psycopg.InterfaceError("connection already closed"), True),
        (VendorRequestError("ekuaibao: 单据不存在"), False),
        (psycopg.errors.UniqueViolation("duplicate key"), False),  # a bug, not an outage
        (ValueError("expenseMoney: 'x' is not an amount"), False),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else str(value),
)
def test_is_outage(err, outage):
    assert is_outage(err) is outage
