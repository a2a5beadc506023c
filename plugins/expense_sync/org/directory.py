"""What the engine needs from an OA: the contract each OA hook (``hooks/<vendor>/``) implements."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol


class DirectorySource(Protocol):
    vendor: str
    stats: Any

    def departments(self) -> Iterator[dict]: ...

    def department(self, dept_id: Any) -> dict | None:
        """One department in the shape ``departments()`` yields, or ``None`` when the OA has no such id."""

    def members(self, dept_id: Any) -> Iterator[dict]: ...

    def approval_state(self, instance_id: str) -> str:
        """``running``, ``approved``, ``rejected`` or ``withdrawn``."""
