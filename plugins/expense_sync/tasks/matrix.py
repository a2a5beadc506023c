"""The tasks of ``approval_matrix_sync``: the ERP's cost-center holders, the matrix derived from them,
and the run's summary. Thin: the work is :mod:`expense_sync.matrix`."""

from __future__ import annotations

import json
import logging
from typing import Any, cast

from airflow.sdk import task

from expense_sync.pools import POOL_ERP
from expense_sync.tasks.common import run_key, run_step

log = logging.getLogger(__name__)


@task(pool=POOL_ERP)
def read_cost_center_holders() -> dict[str, Any]:
    """Read every cost center's owner and budget controller from the configured ERP's budget center
    (``ErpBudget.cost_center_holders``) into ``mdm.cost_center_holder``."""
    from expense_sync.erp.budget import ErpBudget
    from expense_sync.hooks.registry import erp_hook
    from expense_sync.matrix.derive import record_holders
    from expense_sync.settings import erp_vendor

    def work(conn: Any) -> dict[str, Any]:
        hook = cast(ErpBudget, erp_hook(erp_vendor()))
        return record_holders(conn, hook.cost_center_holders(), hook.vendor)

    return run_step("holders", work)


@task
def derive_approval_matrix() -> dict[str, Any]:
    """Derive the matrix; a new version only when its content changed, with the approvers that changed."""
    from expense_sync.matrix.derive import derive_matrix

    return run_step("matrix", lambda conn: derive_matrix(conn, run_key()))


@task
def summarize_matrix_sync() -> dict[str, Any]:
    """Close the run in the ledger and log the matrix in force."""
    from expense_sync.store.db import connect
    from expense_sync.store.runs import finish_run

    with connect() as conn:
        steps = finish_run(conn, run_key())
    log.info("approval matrix: %s", json.dumps(steps, ensure_ascii=False, default=str))
    return {"steps": steps}
