"""WeCom (企业微信) server API: the directory and approval states.

Wire facts and what stays inferred: ``docs/vendors/wecom.md``."""

from expense_sync.hooks.wecom.hook import WeComHook, WeComSettings

HOOK = WeComHook

__all__ = ["HOOK", "WeComHook", "WeComSettings"]
