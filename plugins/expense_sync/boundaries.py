"""Named step boundaries of the voucher protocol, where a test makes the process die.

Production code calls :func:`reached` at each boundary; it does nothing unless a handler was
installed, which only the kill tests do (in a child process they then kill), so that a crash can be
placed exactly: after the intent is committed and before the ERP call, after the call before its
result is recorded, after the write-back before the claim is closed.
"""

from __future__ import annotations

from collections.abc import Callable

BEFORE_ERP_CALL = "before_erp_call"
AFTER_ERP_CALL = "after_erp_call"
AFTER_WRITE_BACK = "after_write_back"

_handler: Callable[[str], None] | None = None


def install(handler: Callable[[str], None] | None) -> None:
    global _handler
    _handler = handler


def reached(name: str) -> None:
    if _handler is not None:
        _handler(name)
