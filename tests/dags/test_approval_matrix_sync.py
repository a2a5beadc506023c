"""approval_matrix_sync end to end, through Airflow, against the sandboxes and a real PostgreSQL: the
org and chart syncs first (people, cost centers), then the ERP budget center's holders (the ERP hook's
``cost_center_holders``, Kingdee's sandbox), the matrix derived and checked; a second day with nothing
changed writes no new version; a holder who leaves the OA fails the check (approver inactive) and the
resolver refuses their chain.

Needs the ERP hooks' ``cost_center_holders`` and the Kingdee sandbox's budget center (branch
erp-budget): until they are merged, ``read_cost_center_holders`` fails and so does this test."""

from __future__ import annotations

from decimal import Decimal

import pytest

from claimkit import prepare_world
from expense_sync.matrix.resolve import ChainError, nodes_for
from testkit import run_dag

DAG_ID = "approval_matrix_sync"


def versions(mdm) -> list[tuple[int, int]]:
    return mdm.execute("SELECT version, cost_centers FROM mdm.approval_matrix_version ORDER BY 1").fetchall()


def test_the_matrix_is_derived_checked_versioned_and_refuses_a_leaver(dagbag, mdm, sandboxes, monkeypatch):
    prepare_world(dagbag, mdm, sandboxes, monkeypatch, "kingdee", oa="wecom")  # WeCom lists managers
    active = mdm.execute("SELECT count(*) FROM mdm.cost_center WHERE active").fetchone()[0]
    assert active > 0

    state, tasks = run_dag(dagbag, DAG_ID)
    assert state == "success", tasks
    assert versions(mdm) == [(1, active)]
    held = mdm.execute("SELECT count(*) FROM mdm.cost_center_holder WHERE owner IS NOT NULL").fetchone()[0]
    assert held > 0

    state, tasks = run_dag(dagbag, DAG_ID)  # the next day, nothing changed
    assert state == "success", tasks
    assert versions(mdm) == [(1, active)]

    # the owner (总监) of a cost center leaves the OA: the org sync deactivates them, the check fails
    cost_center, owner = mdm.execute(
        "SELECT cost_center, approver_employee_no FROM mdm.approval_matrix WHERE role = '总监' ORDER BY 1 LIMIT 1"
    ).fetchone()
    submitter = mdm.execute(
        "SELECT employee_no FROM mdm.employee WHERE active AND employee_no <> %(o)s"
        " AND manager_employee_no IS NOT NULL AND manager_employee_no <> %(o)s ORDER BY 1 LIMIT 1",
        {"o": owner},
    ).fetchone()[0]
    sandboxes.control("wecom").mutate("leave", userid="u" + owner[1:])  # E0000012 is u0000012
    _, tasks = run_dag(dagbag, "org_sync_daily")  # its org check fails on this world's second root (chartkit's
    assert tasks["merge_directory"] == "success", tasks  # ROOT for the ERP's owner units): the merge is what counts
    assert mdm.execute("SELECT active FROM mdm.employee WHERE employee_no = %s", (owner,)).fetchone() == (False,)
    state, tasks = run_dag(dagbag, DAG_ID)
    assert state == "failed" and tasks["check_approval_matrix"] == "failed", tasks
    with pytest.raises(ChainError) as caught:
        nodes_for(
            mdm,
            company=None,
            cost_center=cost_center,
            category=None,
            amount=Decimal("99999"),
            submitter_employee_no=submitter,
        )
    assert caught.value.reason_code == "approver_inactive"
