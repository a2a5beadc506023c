"""The ERP's supplier and tax-code masters task of ``expense_category_sync_weekly``."""

from __future__ import annotations

from typing import Any

from airflow.sdk import task

from expense_sync.pools import POOL_ERP
from expense_sync.tasks.common import run_key, run_step


@task(pool=POOL_ERP)
def sync_erp_masters() -> dict[str, Any]:
    """Read the configured ERP's suppliers and tax codes and merge them into ``mdm.supplier`` and
    ``mdm.tax_code`` (ERP master; an invalid credit code queued, the supplier loaded all the same)."""
    from expense_sync.hooks.registry import erp_hook
    from expense_sync.masters.land import land_masters
    from expense_sync.masters.merge import merge_masters
    from expense_sync.settings import erp_vendor

    def work(conn: Any) -> dict[str, Any]:
        key = run_key()
        landed = land_masters(conn, erp_hook(erp_vendor()), key)
        return {"loads": landed["loads"], "merged": merge_masters(conn, landed["loads"], key)}

    return run_step("masters", work)
