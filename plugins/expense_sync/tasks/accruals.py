"""Tasks of ``claim_events`` for travel bookings accrued (预提): ``accrue_bookings`` after the claims are
collected, ``reverse_accruals`` after their vouchers are posted."""

from __future__ import annotations

import json
import logging
from typing import Any

from airflow.sdk import get_current_context, task

from expense_sync.pools import POOL_ERP
from expense_sync.tasks.common import record_counts, run_key

log = logging.getLogger(__name__)


def _erp():
    from expense_sync.erp.accounts import posting_accounts
    from expense_sync.hooks.registry import erp_hook
    from expense_sync.settings import erp_vendor

    vendor = erp_vendor()
    return vendor, erp_hook(vendor), posting_accounts(vendor)


@task(pool=POOL_ERP)
def accrue_bookings() -> dict[str, Any]:
    """Land the bookings 合思 announced (inbox events, then the catch-up list) and post each confirmed
    or changed one's accrual voucher exactly once; a cancelled one is reversed, a bad one queued."""
    from expense_sync.accruals.post import accrue_bookings as accrue
    from expense_sync.accruals.store import booking_source, collect
    from expense_sync.claims.company import claim_company
    from expense_sync.hooks import usage
    from expense_sync.hooks.ekuaibao import EkuaibaoHook
    from expense_sync.settings import inbox_max_attempts
    from expense_sync.store.db import connect

    context = get_current_context()
    poll = bool((context["dag_run"].conf or {}).get("catch_up", True))
    vendor, hook, accounts = _erp()
    source = booking_source(EkuaibaoHook())
    with usage.metered() as used, connect() as conn:
        landed = (
            collect(
                conn,
                source,
                company=claim_company(vendor),
                run_key=run_key(context),
                poll=poll,
                max_attempts=inbox_max_attempts(),
            )  # fmt: skip
            if source is not None
            else {"no_booking_source": 1}
        )
        counts: dict[str, Any] = {"landed": landed}
        try:
            counts["accrued"] = accrue(conn, hook, accounts, run_key(context))
        finally:
            record_counts("accrue", counts, used)
    log.info("bookings accrued: %s", json.dumps(counts, ensure_ascii=False))
    return counts


@task(pool=POOL_ERP)
def reverse_accruals() -> dict[str, Any]:
    """Reverse, exactly once, the accrual of every booking whose trip's claim now has its voucher."""
    from expense_sync.accruals.post import reverse_accruals as reverse
    from expense_sync.hooks import usage
    from expense_sync.store.db import connect

    _, hook, accounts = _erp()
    with usage.metered() as used, connect() as conn:
        counts = reverse(conn, hook, accounts, run_key())
    record_counts("reverse_accruals", counts, used)
    log.info("accruals reversed: %s", json.dumps(counts, ensure_ascii=False))
    return counts
