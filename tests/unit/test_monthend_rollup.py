"""monthend/rollup.py pure parts: a company's summary as balanced vouchers within the ERP's line limit."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from expense_sync.erp.accounts import posting_accounts
from expense_sync.erp.posting import lines_json
from expense_sync.monthend.rollup import (
    CompanySummary,
    Recorded,
    SummaryRow,
    _consistent,
    compose,
    period_end,
    rollup_ref,
)

ACCOUNTS = posting_accounts("kingdee", "{}")
JANUARY = CompanySummary(
    "001",
    [
        SummaryRow("6602.01", "CC100", None, Decimal("1200.00")),
        SummaryRow("6602.01", "CC100", "PRJ01", Decimal("860.00")),
        SummaryRow("6602.02", "CC100", None, Decimal("420.50")),
        SummaryRow("6602.02", "CC200", None, Decimal("99.99")),
        SummaryRow("6602.03", "CC200", None, Decimal("0.01")),
    ],
    claims=4,
    claim_lines=9,
)


def test_one_voucher_debits_each_expense_row_and_credits_clearing_per_dimension():
    (voucher,) = compose(JANUARY, "2026-01", ACCOUNTS, 1, 1000)
    assert (voucher.external_ref, voucher.posting_date, voucher.description) == (
        "RU-2026-01-001-1",
        dt.date(2026, 1, 31),
        "2026-01 报销费用月结 1",
    )
    credits = [(ln.account_code, ln.cost_center, ln.project, ln.credit) for ln in voucher.lines if ln.credit]
    assert credits == [
        ("2241.09", "CC100", None, Decimal("1620.50")),
        ("2241.09", "CC100", "PRJ01", Decimal("860.00")),
        ("2241.09", "CC200", None, Decimal("100.00")),
    ]
    assert len(voucher.lines) == 5 + 3
    assert voucher.total_debit == voucher.total_credit == JANUARY.total == Decimal("2580.50")


@pytest.mark.parametrize("max_lines", [2, 3, 4, 5, 7])
def test_a_line_limit_splits_the_rollup_into_balanced_numbered_vouchers(max_lines):
    vouchers = compose(JANUARY, "2026-01", ACCOUNTS, 1, max_lines)
    per_voucher = max_lines // 2
    assert len(vouchers) == -(-len(JANUARY.rows) // per_voucher)
    assert [v.external_ref for v in vouchers] == [f"RU-2026-01-001-{n}" for n in range(1, len(vouchers) + 1)]
    assert all(len(v.lines) <= max_lines for v in vouchers)
    assert all(v.total_debit == v.total_credit for v in vouchers)
    assert sum(v.total_debit for v in vouchers) == JANUARY.total


def test_a_limit_of_one_line_still_makes_vouchers_of_one_debit_and_its_credit():
    vouchers = compose(JANUARY, "2026-01", ACCOUNTS, 1, 1)
    assert len(vouchers) == 5 and all(len(v.lines) == 2 for v in vouchers)


def test_a_correction_carries_its_version_and_a_company_with_no_rows_makes_no_voucher():
    assert [v.external_ref for v in compose(JANUARY, "2026-01", ACCOUNTS, 3, 4)] == [
        "RU-2026-01-001-1-V3",
        "RU-2026-01-001-2-V3",
        "RU-2026-01-001-3-V3",
    ]
    assert compose(CompanySummary("002", []), "2026-01", ACCOUNTS, 1, 1000) == []


@pytest.mark.parametrize(
    ("period", "last_day"),
    [("2024-02", dt.date(2024, 2, 29)), ("2026-02", dt.date(2026, 2, 28)), ("2026-12", dt.date(2026, 12, 31)),
     ("2026-04", dt.date(2026, 4, 30))],
)  # fmt: skip
def test_the_rollup_is_dated_the_last_day_of_its_period(period, last_day):
    assert period_end(period) == last_day


def test_rollup_refs_name_period_company_number_and_version():
    assert rollup_ref("2026-01", "0001", 2, 1) == "RU-2026-01-0001-2"
    assert rollup_ref("2026-01", "0001", 2, 12) == "RU-2026-01-0001-2-V12"


def recorded(voucher, state="posted", ref=None) -> Recorded:
    return Recorded(1, ref or voucher.external_ref, state, voucher.posting_date, lines_json(voucher), None)


def test_a_recorded_voucher_knows_its_version_and_whether_it_reached_the_erp():
    assert recorded(compose(JANUARY, "2026-01", ACCOUNTS, 1, 1000)[0]).version == 1
    assert recorded(compose(JANUARY, "2026-01", ACCOUNTS, 11, 1000)[0]).version == 11
    assert recorded(compose(JANUARY, "2026-01", ACCOUNTS, 1, 1000)[0], state="sending").began
    assert not recorded(compose(JANUARY, "2026-01", ACCOUNTS, 1, 1000)[0], state="error").began


def test_what_was_posted_is_consistent_only_while_the_claims_still_call_for_it():
    wanted = compose(JANUARY, "2026-01", ACCOUNTS, 1, 4)
    posted = [recorded(v) for v in wanted]
    assert _consistent(posted, wanted)
    assert _consistent(posted[:1], wanted)  # an interrupted posting: the rest is still to send
    late = CompanySummary("001", [*JANUARY.rows, SummaryRow("6602.04", "CC300", None, Decimal("5.00"))])
    assert not _consistent(posted, compose(late, "2026-01", ACCOUNTS, 1, 4))  # a claim arrived late
    withdrawn = CompanySummary("001", JANUARY.rows[:2])
    assert not _consistent(posted, compose(withdrawn, "2026-01", ACCOUNTS, 1, 4))  # -2, -3 no longer wanted
    refused = [recorded(v, state="error") for v in wanted]
    assert _consistent(refused, compose(withdrawn, "2026-01", ACCOUNTS, 1, 4))  # never reached the ERP
