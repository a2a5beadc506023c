"""What the engine needs from an OA: the contract each OA hook (``hooks/<vendor>/``) implements."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol


class DirectorySource(Protocol):
    vendor: str
    stats: Any
    contact_events: frozenset[str]  # the inbox event types of its contact-change events

    def contact_change(self, payload: dict[str, Any]) -> tuple[list[str], list[str]]:
        """The person keys and department keys one contact-change event names."""

    def person(self, key: Any) -> dict | None:
        """One person in the shape ``members()`` yields, or ``None`` when the OA has no such key."""

    def departments(self) -> Iterator[dict]: ...

    def department(self, dept_id: Any) -> dict | None:
        """One department in the shape ``departments()`` yields, or ``None`` when the OA has no such id."""

    def members(self, dept_id: Any) -> Iterator[dict]: ...

    def approval_state(self, instance_id: str) -> str:
        """``running``, ``approved``, ``rejected`` or ``withdrawn``."""
