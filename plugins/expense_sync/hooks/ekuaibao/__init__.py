"""合思 Ekuaibao open API: staff, departments, dimensions, fee types, claims, invoices, budgets,
E-Bot approvals and travel bookings.

Wire facts and what stays inferred: ``docs/vendors/ekuaibao.md``."""

from expense_sync.hooks.ekuaibao.flows import NotPaidError
from expense_sync.hooks.ekuaibao.hook import EkuaibaoHook
from expense_sync.hooks.ekuaibao.settings import EkuaibaoSettings

HOOK = EkuaibaoHook

__all__ = ["HOOK", "EkuaibaoHook", "EkuaibaoSettings", "NotPaidError"]
