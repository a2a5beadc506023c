"""What the OA sandboxes share: they serve one synthetic :class:`Directory` and the approval instances
(:mod:`expense_sync_sandboxes.approvals`), each in its own wire shape."""

from __future__ import annotations

from typing import Any

from expense_sync_sandboxes.approvals import Approvals
from expense_sync_sandboxes.core import Sandbox
from expense_sync_sandboxes.orgdata import Directory


class DirectorySandbox(Sandbox):
    """An OA sandbox: reset builds the company from a seed; mutations are the directory's own."""

    def reset(self, *, seed: int = 1, departments: int = 20, employees: int = 200, **_: Any) -> None:
        super().reset(seed=seed)
        self.directory = Directory(seed=seed, departments=departments, employees=employees)
        self.approvals = Approvals()

    def mutate(self, op: str, args: dict[str, Any]) -> Any:
        done = self.approvals.apply(op, args)
        return self.directory.apply(op, args) if done is None else done

    def dump(self) -> dict[str, Any]:
        return self.directory.dump()
