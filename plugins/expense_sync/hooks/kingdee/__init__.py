"""Kingdee 金蝶云星空 (K3Cloud) WebAPI: the ERP chart, GL vouchers and the period's movements.

Wire facts and what stays inferred: ``docs/vendors/kingdee.md``."""

from expense_sync.hooks.kingdee.hook import KingdeeHook, KingdeeSettings

HOOK = KingdeeHook

__all__ = ["HOOK", "KingdeeHook", "KingdeeSettings"]
