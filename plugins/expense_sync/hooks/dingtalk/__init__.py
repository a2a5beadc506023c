"""DingTalk (钉钉) server API: the directory and approval states.

Wire facts and what stays inferred: ``docs/vendors/dingtalk.md``."""

from expense_sync.hooks.dingtalk.hook import DingTalkHook, DingTalkSettings

HOOK = DingTalkHook

__all__ = ["HOOK", "DingTalkHook", "DingTalkSettings"]
