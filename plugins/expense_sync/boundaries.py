"""Named step boundaries of the exactly-once write, where a test makes the process die.

Production code calls :func:`reached` at each boundary; it does nothing unless a handler was
installed, which only the kill tests do (in a child process they then kill), so that a crash can be
placed exactly: after the intent is committed and before the vendor call, and after the call before
its result is recorded (:func:`expense_sync.store.exactly_once.write_once` calls both for every
outbound write: ERP vouchers, org and chart pushes, voucher-number write-back).
"""

from __future__ import annotations

from collections.abc import Callable

BEFORE_CALL = "before_call"
AFTER_CALL = "after_call"

_handler: Callable[[str], None] | None = None


def install(handler: Callable[[str], None] | None) -> None:
    global _handler
    _handler = handler


def reached(name: str) -> None:
    if _handler is not None:
        _handler(name)
