"""erp/compose.py: a claim's voucher debits the clearing account per line and credits the employee."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from expense_sync.erp.accounts import posting_accounts
from expense_sync.erp.compose import ClaimLine, claim_voucher

KINGDEE = posting_accounts("kingdee", "{}")


def voucher(lines, **kwargs):
    args = {
        "claim_no": "B26000003",
        "company": "001",
        "claim_date": dt.date(2026, 1, 12),
        "period": "2026-01",
        "title": "上海出差报销",
        "employee_no": "E0007",
        "lines": lines,
        "accounts": KINGDEE,
    }
    return claim_voucher(**{**args, **kwargs})


def test_a_two_line_travel_claim():
    made = voucher(
        [
            ClaimLine("6602.01", "CC100", Decimal("860.00"), "PRJ01", "高铁 北京—上海"),
            ClaimLine("6602.02", "CC100", Decimal("420.50")),
        ]
    )
    assert (made.external_ref, made.company, made.posting_date, made.period) == (
        "B26000003",
        "001",
        dt.date(2026, 1, 12),
        "2026-01",
    )
    assert made.description == "报销 B26000003 上海出差报销"
    assert [(ln.account_code, ln.debit, ln.credit, ln.cost_center, ln.project, ln.text) for ln in made.lines] == [
        ("2241.09", Decimal("860.00"), Decimal("0"), "CC100", "PRJ01", "高铁 北京—上海"),
        ("2241.09", Decimal("420.50"), Decimal("0"), "CC100", None, "上海出差报销"),  # no reason: the title
        ("2241.01", Decimal("0"), Decimal("1280.50"), None, None, "E0007 上海出差报销"),
    ]
    assert made.total_debit == made.total_credit == Decimal("1280.50")


def test_the_credit_is_the_sum_of_the_rounded_debits_so_the_voucher_balances():
    made = voucher([ClaimLine("6602.01", "CC1", Decimal("10.005")), ClaimLine("6602.01", "CC1", Decimal("10.005"))])
    assert [ln.debit for ln in made.lines[:2]] == [Decimal("10.00"), Decimal("10.00")]  # half-even, per line
    assert made.lines[-1].credit == Decimal("20.00")  # not round(20.01)
    assert made.total_debit == made.total_credit


def test_a_re_post_carries_its_own_reference_and_the_accounts_of_its_erp():
    made = voucher([ClaimLine("6602", "CC1", Decimal("1"))], external_ref="B26000003-V2",
                   accounts=posting_accounts("sap", "{}"))  # fmt: skip
    assert made.external_ref == "B26000003-V2"
    assert [ln.account_code for ln in made.lines] == ["2241090000", "2241010000"]
    assert made.lines[0].debit == Decimal("1.00")


def test_texts_are_cut_to_the_erps_80_characters():
    made = voucher([ClaimLine("6602", "CC1", Decimal("5"), description="说明" * 50)], title="标题" * 50)
    assert [len(ln.text) for ln in made.lines] == [80, 80]
    assert len(made.description) == 80 and made.description.startswith("报销 B26000003 标题")


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([], "either a debit or a credit"),  # no lines: a zero credit
        ([ClaimLine("6602", "CC1", Decimal("0"))], "either a debit or a credit"),
        ([ClaimLine("6602", "CC1", Decimal("0.004"))], "either a debit or a credit"),  # rounds to nothing
        ([ClaimLine("6602", "CC1", Decimal("-5.00"))], "non-negative"),
    ],
)
def test_a_claim_that_cannot_make_a_voucher_is_refused_before_the_erp_sees_it(lines, message):
    with pytest.raises(ValueError, match=message):
        voucher(lines)


def test_deducted_input_vat_is_debited_once_to_the_input_vat_account_and_the_employee_gets_the_whole_claim():
    made = voucher(
        [
            ClaimLine("6602.01", "CC100", Decimal("1000.00"), input_vat=Decimal("60.00")),
            ClaimLine("6602.01", "CC200", Decimal("507.34"), input_vat=Decimal("45.66")),
        ]
    )
    debits = [(line.account_code, line.debit, line.cost_center) for line in made.lines if line.debit]
    assert debits == [
        ("2241.09", Decimal("1000.00"), "CC100"),
        ("2241.09", Decimal("507.34"), "CC200"),
        ("2221.01.01", Decimal("105.66"), None),
    ]
    [credit] = [line for line in made.lines if line.credit]
    assert (credit.account_code, credit.credit) == ("2241.01", Decimal("1613.00"))


def test_input_vat_without_an_input_vat_account_is_refused():
    accounts = posting_accounts("kingdee", '{"kingdee": {"input_vat": ""}}')
    with pytest.raises(ValueError, match="no input_vat account is configured"):
        voucher([ClaimLine("6602.01", "CC100", Decimal("100"), input_vat=Decimal("6"))], accounts=accounts)
