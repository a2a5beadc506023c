"""The month-end suites (vouchers, rollup, reconciliation) pass on a closed month and fail on what they guard."""

from __future__ import annotations

import json

import pytest

from expense_sync.hooks.registry import erp_hook
from expense_sync.monthend.reconcile import reconcile_period
from expense_sync.monthend.rollup import rollup_period
from expense_sync.quality.checkpoint import DataHealthCheckFailed, run_checkpoint
from monthkit import accounts, make_claims

PERIOD = "2025-06"


@pytest.fixture
def closed_month(mdm, sandboxes, monkeypatch, tmp_path):
    monkeypatch.setenv("EXPENSE_SYNC_GX_RESULTS_DIR", str(tmp_path))
    make_claims(mdm, sandboxes, "kingdee", PERIOD, count=4)
    hook = erp_hook("kingdee")
    rollup_period(mdm, hook, PERIOD, accounts("kingdee"), "expense_rollup_monthly/t")
    reconcile_period(mdm, hook, PERIOD, accounts("kingdee"), "expense_rollup_monthly/t")
    return mdm


def failed_suites(caught) -> set[str]:
    return {f["suite"] for f in caught.value.failures}


def test_a_closed_month_passes_every_month_end_suite(closed_month):
    summary = run_checkpoint("monthend", run_name="clean")
    assert summary["success"] and {s["suite"] for s in summary["suites"]} == {"vouchers", "rollup", "reconciliation"}


def test_an_unbalanced_voucher_fails_the_vouchers_suite(closed_month):
    lines = [
        {"account": "6602.01", "debit": "100.00", "credit": "0", "cost_center": "BM000007", "project": None},
        {"account": "2241.09", "debit": "0", "credit": "99.99", "cost_center": "BM000007", "project": None},
    ]
    closed_month.execute(
        """INSERT INTO fin.voucher (erp_vendor, external_ref, kind, company, period, posting_date, total, lines, state)
           VALUES ('kingdee', 'RU-BROKEN', 'rollup', '001', '2025-07', '2025-07-31', 100.00, %s, 'error')""",
        (json.dumps(lines),),
    )
    with pytest.raises(DataHealthCheckFailed) as caught:
        run_checkpoint("monthend", run_name="unbalanced")
    assert failed_suites(caught) == {"vouchers"}
    assert "debits equal its credits" in str(caught.value)


def test_totals_that_disagree_fail_the_rollup_and_reconciliation_suites(closed_month):
    closed_month.execute(
        "UPDATE fin.claim_line SET amount = amount + 0.01 WHERE claim_id = (SELECT min(claim_id) "
        "FROM fin.claim) AND line_no = 1"
    )
    with pytest.raises(DataHealthCheckFailed) as caught:
        run_checkpoint("monthend", run_name="rollup-disagrees")
    assert failed_suites(caught) == {"rollup"}  # the reconciliation was made before the change

    reconcile_period(closed_month, erp_hook("kingdee"), PERIOD, accounts("kingdee"), "expense_rollup_monthly/t2")
    with pytest.raises(DataHealthCheckFailed) as caught:
        run_checkpoint("monthend", run_name="recon-disagrees")
    assert failed_suites(caught) == {"rollup", "reconciliation"}
