"""What the OA sandboxes share: they serve one synthetic :class:`Directory` and the approval instances
(:mod:`expense_sync_sandboxes.approvals`), each in its own wire shape, and push the approval events
and the directory's contact changes to the receiver ``configure_callback`` names
(:mod:`expense_sync_sandboxes.oa_callbacks`)."""

from __future__ import annotations

from typing import Any

from expense_sync_sandboxes.approvals import Approval, Approvals, Change
from expense_sync_sandboxes.core import Sandbox
from expense_sync_sandboxes.oa_callbacks import Pushes
from expense_sync_sandboxes.orgdata import Directory


class DirectorySandbox(Sandbox):
    """An OA sandbox: reset builds the company from a seed; mutations are the directory's own.

    Test-only control ``drift_user_fields`` (rename {old: new}, set {field: value}, add {field: value})
    changes the wire shape of the user records the sandbox serves (where it applies :meth:`drifted`),
    as a vendor changing its API would: a field renamed, retyped or added; no arguments undo it."""

    def reset(self, *, seed: int = 1, departments: int = 20, employees: int = 200, **_: Any) -> None:
        super().reset(seed=seed)
        self.directory = Directory(seed=seed, departments=departments, employees=employees)
        self.directory.listeners.append(self.push_contact)
        self.approvals = Approvals()
        self.approvals.listeners.append(self.push_change)
        self.pushes = Pushes()
        self.user_drift: dict[str, dict[str, Any]] = {}

    def mutate(self, op: str, args: dict[str, Any]) -> Any:
        if op == "drift_user_fields":
            self.user_drift = {part: dict(args.get(part) or {}) for part in ("rename", "set", "add")}
            return self.user_drift
        if op == "configure_callback":
            return self.pushes.configure(**args)
        done = self.approvals.apply(op, args)
        return self.directory.apply(op, args) if done is None else done

    def push_change(self, approval: Approval, change: Change) -> None:
        """Push the OA's event for one change of an approval (each OA says how)."""

    def push_contact(self, kind: str, key: Any) -> None:
        """Push the OA's contact-change event for one directory change (:class:`Directory` kinds)."""

    def drifted(self, record: dict[str, Any]) -> dict[str, Any]:
        """A user record in the drifted wire shape (``drift_user_fields``)."""
        drift = getattr(self, "user_drift", None) or {}
        out = dict(record)
        for old, new in (drift.get("rename") or {}).items():
            if old in out:
                out[new] = out.pop(old)
        out.update(drift.get("set") or {})
        out.update(drift.get("add") or {})
        return out

    def dump(self) -> dict[str, Any]:
        return {**self.directory.dump(), "callbacks": self.pushes.sent}
