"""用友 Yonyou (YonBIP open API, NC Cloud for vouchers): the ERP chart, GL vouchers and movements.

Wire facts and what stays inferred: ``docs/vendors/yonyou.md``."""

from expense_sync.hooks.yonyou.hook import YonyouHook
from expense_sync.hooks.yonyou.settings import YonyouSettings

HOOK = YonyouHook

__all__ = ["HOOK", "YonyouHook", "YonyouSettings"]
