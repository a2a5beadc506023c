"""Helpers of the inbound reliability scenarios (tests/reliability/test_inbound.py): the webhook
receiver's own test fixtures and senders (tests/plugins/expense_sync/webhooks) and the claim intake's
test helpers (tests/plugins/expense_sync/claims/test_intake.py), made importable from another
directory, and what the middle platform's queue holds."""

from __future__ import annotations

import importlib.util
import sys

from testkit import ROOT

WEBHOOK_TESTS = ROOT / "tests" / "plugins" / "expense_sync" / "webhooks"
CLAIM_TESTS = ROOT / "tests" / "plugins" / "expense_sync" / "claims"
for folder in (WEBHOOK_TESTS, CLAIM_TESTS):  # webhook_senders, the route tests' cases; test_intake's helpers
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))


def webhook_fixtures():
    """The webhook tests' conftest module (``webhook_env``, ``start_receiver``), loaded under its own name."""
    name = "expense_sync_webhook_fixtures"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, WEBHOOK_TESTS / "conftest.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def open_items(conn, **where: str) -> list[dict]:
    """Exception items (not resolved) matching ``where`` (column = value)."""
    clauses = " AND ".join(f"{column} = %s" for column in where) or "true"
    cur = conn.execute(
        "SELECT item_id, kind, source_system, entity, record_key, reason_code, reason, record, status"
        f" FROM sync.exception_item WHERE status <> 'resolved' AND {clauses} ORDER BY item_id",
        tuple(where.values()),
    )
    names = [c.name for c in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
