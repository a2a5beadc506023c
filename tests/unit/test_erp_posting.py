"""erp/posting.py pure parts: a voucher as fin.voucher keeps it, back again, and its reversal."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from expense_sync.erp.model import Voucher, VoucherLine
from expense_sync.erp.posting import lines_json, reversal_of, voucher_from_row

CLAIM = Voucher(
    external_ref="B26000003",
    company="001",
    posting_date=dt.date(2026, 1, 12),
    period="2026-01",
    description="报销 B26000003 上海出差报销",
    lines=(
        VoucherLine("2241.09", debit=Decimal("860.00"), cost_center="CC100", project="PRJ01", text="高铁"),
        VoucherLine("2241.09", debit=Decimal("420.50"), cost_center="CC100", text="酒店"),
        VoucherLine("2241.01", credit=Decimal("1280.50"), text="E0007 上海出差报销"),
    ),
)


def test_lines_keep_amounts_as_exact_strings():
    assert lines_json(CLAIM)[0] == {
        "account": "2241.09",
        "debit": "860.00",
        "credit": "0",
        "cost_center": "CC100",
        "project": "PRJ01",
        "text": "高铁",
    }
    assert [row["credit"] for row in lines_json(CLAIM)] == ["0", "0", "1280.50"]


def test_a_voucher_read_back_from_its_row_is_the_voucher_posted():
    back = voucher_from_row("B26000003", "001", "2026-01", dt.date(2026, 1, 12), lines_json(CLAIM), CLAIM.description)
    assert back == CLAIM


def test_a_row_without_optional_fields_reads_as_no_dimension_and_no_text():
    rows = [{"account": "6602", "debit": "5.00", "credit": "0"}, {"account": "2241", "debit": "0", "credit": "5.00",
                                                                   "text": None}]  # fmt: skip
    back = voucher_from_row("R1", "001", "2026-01", dt.date(2026, 1, 31), rows, "x")
    assert [(ln.cost_center, ln.project, ln.text) for ln in back.lines] == [(None, None, ""), (None, None, "")]


def test_the_reversal_swaps_every_line_and_cancels_the_voucher():
    reversal = reversal_of(CLAIM)
    assert (reversal.external_ref, reversal.description) == ("B26000003-R1", "冲销 B26000003")
    assert [(ln.account_code, ln.debit, ln.credit, ln.cost_center, ln.project) for ln in reversal.lines] == [
        ("2241.09", Decimal("0"), Decimal("860.00"), "CC100", "PRJ01"),
        ("2241.09", Decimal("0"), Decimal("420.50"), "CC100", None),
        ("2241.01", Decimal("1280.50"), Decimal("0"), None, None),
    ]
    assert reversal.lines[0].text == "冲销 高铁"
    net: dict[str, Decimal] = {}
    for line in CLAIM.lines + reversal.lines:
        net[line.account_code] = net.get(line.account_code, Decimal(0)) + line.debit - line.credit
    assert set(net.values()) == {Decimal(0)}
    assert (reversal.posting_date, reversal.period, reversal.company) == (CLAIM.posting_date, "2026-01", "001")


def test_long_texts_stay_within_80_characters_after_the_reversal_prefix():
    long = Voucher("X" * 79, "001", dt.date(2026, 1, 31), "2026-01", "d",
                   (VoucherLine("6602", debit=Decimal("1"), text="费" * 80),
                    VoucherLine("2241", credit=Decimal("1"))))  # fmt: skip
    reversal = reversal_of(long)
    assert len(reversal.description) == 80 and len(reversal.lines[0].text) == 80
    assert reversal.external_ref == "X" * 79 + "-R1"
