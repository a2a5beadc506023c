"""Which vendor fills which role, found from the hook packages themselves.

Each vendor is a package ``expense_sync.hooks.<vendor>`` whose ``HOOK`` is its hook class. The class
says the role its vendor fills (``role``: ``oa``, ``erp`` or ``expense``), its connection id
(``default_conn_name``) and its facts (``quota_qps``; for an ERP also ``max_voucher_lines``,
``default_company`` and ``default_posting_accounts``). Adding a vendor is adding its package:
nothing here or elsewhere in the engine names one.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from typing import TYPE_CHECKING, Any, cast

from expense_sync import hooks

if TYPE_CHECKING:
    from expense_sync.erp.ledger import ErpLedger
    from expense_sync.hooks.base import VendorHook
    from expense_sync.org.directory import DirectorySource

ROLES = ("oa", "erp", "expense")


@cache
def vendors(role: str) -> dict[str, type[VendorHook]]:
    """The hook class of every vendor that can fill ``role``, by vendor name."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: expected one of {', '.join(ROLES)}")
    found: dict[str, Any] = {}
    for module in pkgutil.iter_modules(hooks.__path__):
        if module.ispkg:
            hook = getattr(importlib.import_module(f"{hooks.__name__}.{module.name}"), "HOOK", None)
            if hook is not None and hook.role == role:
                found[hook.vendor] = hook
    return dict(sorted(found.items()))


def hook_class(role: str, vendor: str) -> type[VendorHook]:
    known = vendors(role)
    if vendor not in known:
        raise ValueError(f"unknown {role} vendor {vendor!r}: expected one of {', '.join(known)}")
    return known[vendor]


def conn_id(role: str, vendor: str) -> str:
    """The connection id of ``vendor`` in ``role`` (a public name, e.g. ``erp_kingdee``)."""
    return hook_class(role, vendor).default_conn_name


def erp_class(vendor: str) -> type[ErpLedger]:
    """The hook class of an ERP, for its facts (``max_voucher_lines``, ``default_company`` …)."""
    return cast("type[ErpLedger]", hook_class("erp", vendor))


def erp_hook(vendor: str) -> ErpLedger:
    """The hook of the configured ERP on its connection."""
    return erp_class(vendor)()


def oa_hook(vendor: str) -> DirectorySource:
    """The hook of the configured OA on its connection."""
    return cast("DirectorySource", hook_class("oa", vendor)())
