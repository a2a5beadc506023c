"""Airflow pools: one per vendor API a deployment talks to, sized from that vendor's rate limit.

A pool limits how many tasks run at once, not how many requests they send: each task's hook paces
its own calls at its connection's ``rate_limit_qps`` (one limiter per task process). So a vendor's
pool gets as many slots as its quota has room for tasks running side by side::

    slots = max(1, floor(quota_qps × HEADROOM / rate_limit_qps))

* ``quota_qps``: the vendor's quota per app and API (its hook's ``quota_qps``; a deployment
  overrides it with the Variable ``expense_sync_vendor_quota_qps``, e.g. ``{"dingtalk": 40}`` for
  DingTalk's professional edition);
* ``HEADROOM`` = 0.8 leaves a fifth of the quota to whatever else uses the same app;
* ``rate_limit_qps``: the connection's extra (the hooks' default when unset).

Which OA and which ERP a deployment uses is read when a task runs, but a task's pool is fixed when
its DAG is parsed. So the pools are named after the role (``oa_api``, ``erp_api``, ``expense_api``)
and sized for the vendor configured in that role whenever ``python -m expense_sync setup`` runs (the
compose init service and ``make airflow`` run it; run it again after switching vendors).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

POOL_OA = "oa_api"
POOL_ERP = "erp_api"
POOL_EXPENSE = "expense_api"

HEADROOM = 0.8
DEFAULT_RATE_LIMIT_QPS = 20.0  # HookSettings.rate_limit_qps when the connection sets none

# pool -> (what it is called for people, the role of the vendors that fill it)
ROLES = {POOL_OA: ("OA", "oa"), POOL_ERP: ("ERP", "erp"), POOL_EXPENSE: ("expense system", "expense")}


def slots_for(quota_qps: float, rate_limit_qps: float) -> int:
    """How many tasks may call a vendor at once without together exceeding ``HEADROOM`` of its quota."""
    return max(1, math.floor(quota_qps * HEADROOM / rate_limit_qps))


@dataclass(frozen=True)
class PoolSpec:
    name: str
    vendor: str
    conn_id: str
    quota_qps: float
    rate_limit_qps: float

    @property
    def slots(self) -> int:
        return slots_for(self.quota_qps, self.rate_limit_qps)

    @property
    def description(self) -> str:
        role = ROLES[self.name][0]
        return (
            f"{role} API ({self.vendor}, connection {self.conn_id}): quota {self.quota_qps:g} qps x {HEADROOM:g}"
            f" / {self.rate_limit_qps:g} qps per task = {self.slots} slot(s)"
        )
