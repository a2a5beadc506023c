"""monthend/reconcile.py pure part: the cause of one ledger line's difference, unexplained first."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from expense_sync.monthend.reconcile import _cause

CASES = {
    # role, claims, posted debit / credit, ledger debit / credit → cause, difference
    "an expense line that agrees": (("expense", D("2580.50"), D("2580.50"), D(0), D("2580.50"), D(0)), (None, D(0))),
    "clearing that nets to zero": (("clearing", D(0), D("2580.50"), D("2580.50"), D("2580.50"), D("2580.50")),
                                   (None, D(0))),
    "a claim closed after the rollup": (("expense", D("2600.50"), D("2580.50"), D(0), D("2580.50"), D(0)),
                                        ("rollup_out_of_date", D("20.00"))),
    "a reversed rollup not re-posted": (("expense", D("100.00"), D("100.00"), D("100.00"), D("100.00"),
                                         D("100.00")), ("rollup_out_of_date", D("100.00"))),
    "clearing left over": (("clearing", D(0), D("1280.50"), D("1200.00"), D("1280.50"), D("1200.00")),
                           ("clearing_not_zero", D("80.50"))),
    "a voucher voided in the ERP": (("expense", D("860.00"), D("860.00"), D(0), D("0.00"), D(0)),
                                    ("missing_in_erp", D("860.00"))),
    "a credit missing in the ERP": (("other", D(0), D(0), D("50.00"), D(0), D("20.00")),
                                    ("missing_in_erp", D("30.00"))),
    "an accountant's entry": (("expense", D("860.00"), D("860.00"), D(0), D("900.00"), D("10.00")),
                              ("erp_manual_entry", D("50.00"))),
    "a late claim and a manual entry: the unexplained wins": (
        ("expense", D("880.00"), D("860.00"), D(0), D("900.00"), D(0)), ("rollup_out_of_date", D("60.00"))),
    "more debit and less credit: missing wins": (("other", D(0), D("10"), D("10"), D("15"), D("5")),
                                                  ("missing_in_erp", D("10"))),
}  # fmt: skip


@pytest.mark.parametrize(("line", "expected"), CASES.values(), ids=CASES.keys())
def test_the_cause_of_a_line(line, expected):
    assert _cause(*line) == expected
