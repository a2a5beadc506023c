"""erp/model.py: vouchers are balanced Decimal lines; ledger movements sum per dimension to the cent."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from expense_sync.erp.model import Balance, Voucher, VoucherLine, sum_balances


def make(*lines: VoucherLine) -> Voucher:
    return Voucher("RU-2026-01-001-1", "001", dt.date(2026, 1, 31), "2026-01", "月结", lines)


def test_an_unbalanced_voucher_is_refused_with_both_totals():
    with pytest.raises(ValueError, match=r"unbalanced voucher RU-2026-01-001-1: 100.00 ≠ 99.99"):
        make(VoucherLine("6602", debit=Decimal("100.00")), VoucherLine("2241", credit=Decimal("99.99")))


def test_a_voucher_balances_across_many_lines():
    made = make(
        VoucherLine("6602", debit=Decimal("0.10")),
        VoucherLine("6602", debit=Decimal("0.20")),
        VoucherLine("2241", credit=Decimal("0.30")),
    )
    assert made.total_debit == made.total_credit == Decimal("0.30")  # Decimal, where float would not be


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"debit": 1.5}, TypeError, "must be Decimal"),
        ({"debit": Decimal("1.005")}, ValueError, "at most 2 decimals"),
        ({"credit": Decimal("-1.00")}, ValueError, "non-negative"),
        ({"debit": Decimal("1"), "credit": Decimal("1")}, ValueError, "either a debit or a credit"),
        ({}, ValueError, "either a debit or a credit"),
    ],
)
def test_a_voucher_line_is_one_non_negative_cent_amount(kwargs, error, message):
    with pytest.raises(error, match=message):
        VoucherLine("6602", **kwargs)


def test_no_lines_is_no_voucher():
    with pytest.raises(ValueError, match="needs lines"):
        make()


def test_ledger_movements_sum_per_account_and_dimension_in_a_stable_order():
    movements = [
        ("6602.01", "CC2", None, Decimal("10.004"), Decimal("0")),
        ("6602.01", "CC1", "P1", Decimal("5"), Decimal("0")),
        ("6602.01", "CC2", "", Decimal("0.002"), Decimal("1")),  # an empty project is none
        ("2241.09", None, None, Decimal("0"), Decimal("15.01")),
        ("6602.01", "", None, Decimal("3"), Decimal("0")),
    ]
    assert sum_balances("001", "2026-01", movements) == [
        Balance("001", "2026-01", "2241.09", Decimal("0.00"), Decimal("15.01")),
        Balance("001", "2026-01", "6602.01", Decimal("3.00"), Decimal("0.00")),
        Balance("001", "2026-01", "6602.01", Decimal("5.00"), Decimal("0.00"), "CC1", "P1"),
        Balance("001", "2026-01", "6602.01", Decimal("10.01"), Decimal("1.00"), "CC2", None),  # 10.006 to the cent
    ]
    assert sum_balances("001", "2026-01", []) == []
