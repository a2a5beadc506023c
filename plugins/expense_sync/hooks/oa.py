"""The OA hooks behind one interface: ``departments()``, ``department(dept_id)``, ``members(dept_id)``
and ``approval_state(instance_id)``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from expense_sync.hooks.dingtalk import DingTalkHook
from expense_sync.hooks.wecom import WeComHook
from expense_sync.settings import OA_CONN_IDS


class DirectorySource(Protocol):
    vendor: str
    stats: Any

    def departments(self) -> Iterator[dict]: ...

    def department(self, dept_id: Any) -> dict | None:
        """One department in the shape ``departments()`` yields, or ``None`` when the OA has no such id."""

    def members(self, dept_id: Any) -> Iterator[dict]: ...

    def approval_state(self, instance_id: str) -> str:
        """``running``, ``approved``, ``rejected`` or ``withdrawn``."""


OA_HOOKS: dict[str, type] = {"dingtalk": DingTalkHook, "wecom": WeComHook}


def oa_hook(vendor: str) -> DirectorySource:
    """The hook of the configured OA on its connection (``oa_dingtalk`` / ``oa_wecom``)."""
    return OA_HOOKS[vendor](OA_CONN_IDS[vendor])
