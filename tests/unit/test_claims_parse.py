"""claims/parse.py: a 合思 flow read as a claim; malformed documents name the field at fault."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from ekuaibao_flow import CORP, TRAVEL, detail, epoch_ms, money, travel

from expense_sync.claims.parse import MalformedDocument, amount, day, parse_flow, update_time


def test_a_travel_claim_is_read_with_its_lines_amounts_and_dimensions():
    claim = parse_flow(travel())
    assert (claim.flow_id, claim.claim_no, claim.title) == (f"{CORP}:FLOW0000070003", "B26000003", "上海出差报销")
    assert (claim.claim_date, claim.period, claim.currency) == (dt.date(2026, 1, 12), "2026-01", "CNY")
    assert claim.total == Decimal("1280.50") and claim.oa_instance == "proc-7f3a"
    assert claim.approved and claim.submitter_id == f"{CORP}:E0007"
    assert [(ln.line_no, ln.amount, ln.cost_center_item, ln.project_item) for ln in claim.lines] == [
        (1, Decimal("860.00"), f"{CORP}:成本中心:CC100", f"{CORP}:项目:PRJ01"),
        (2, Decimal("420.50"), f"{CORP}:成本中心:CC100", None),
    ]
    assert sum(ln.amount for ln in claim.lines) == claim.total


def test_the_claim_date_is_china_time_so_a_claim_just_after_midnight_belongs_to_the_new_month():
    claim = parse_flow(travel(expenseDate=epoch_ms(2026, 2, 1, 0, 30)))  # 2026-01-31 16:30 UTC
    assert (claim.claim_date, claim.period) == (dt.date(2026, 2, 1), "2026-02")


def test_a_malformed_line_amount_is_kept_as_none_for_validation_not_raised():
    flow = travel(details=[detail(1, "八百六十", "CC100"), detail(2, "1e20", "CC100"), detail(3, "NaN", "CC100")])
    assert [ln.amount for ln in parse_flow(flow).lines] == [None, None, None]


def test_fallbacks_submitter_currency_oa_instance_and_a_long_reason():
    flow = travel(submitterId=None, u_oaInstanceId="", details=[detail(1, "10.00", "CC1", reason="很" * 300)])
    del flow["form"]["expenseMoney"]["standardStrCode"]
    claim = parse_flow(flow)
    assert claim.submitter_id == f"{CORP}:E0007"  # the flow's owner
    assert claim.currency == "CNY" and claim.oa_instance is None
    assert claim.lines[0].description == "很" * 200


@pytest.mark.parametrize(
    ("state", "active", "approved"),
    [("paying", True, True), ("paid", True, True), ("archived", True, True), ("approving", True, False),
     ("paying", False, False), ("rejected", True, False)],
)  # fmt: skip
def test_approved_means_active_and_past_approval(state, active, approved):
    flow = {**travel(), "state": state, "active": active}
    assert parse_flow(flow).approved is approved


def test_the_content_hash_follows_what_a_voucher_is_made_of_and_nothing_else():
    base = parse_flow(travel()).content_hash("001")
    assert parse_flow({**travel(title="改了标题"), "state": "paid"}).content_hash("001") == base
    assert parse_flow(travel()).content_hash("002") != base
    edited = travel(details=[detail(1, "860.01", "CC100", "PRJ01", "高铁 北京—上海"), TRAVEL["form"]["details"][1]])
    assert parse_flow(edited).content_hash("001") != base
    moved = travel(details=[detail(1, "860.00", "CC200", "PRJ01", "高铁 北京—上海"), TRAVEL["form"]["details"][1]])
    assert parse_flow(moved).content_hash("001") != base


def flow_with(path: str, value=None, *, remove: bool = False) -> dict:
    flow = travel()
    *parents, last = path.split(".")
    node = flow
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    key = int(last) if isinstance(node, list) else last
    if remove:
        del node[key]
    else:
        node[key] = value
    return flow


FLOW_ID, CODE = TRAVEL["id"], TRAVEL["form"]["code"]
MALFORMED = {
    "form is a list": (flow_with("form", ["B1"]), "form", FLOW_ID),
    "details is an object": (flow_with("form.details", {"0": {}}), "details", CODE),
    "a detail is text": (flow_with("form.details.1", "酒店"), "details[1]", CODE),
    "a feeTypeForm is a list": (flow_with("form.details.0.feeTypeForm", [1]), "details[0].feeTypeForm", CODE),
    "no expenseMoney": (flow_with("form.expenseMoney", remove=True), "expenseMoney", CODE),
    "expenseMoney as a number": (flow_with("form.expenseMoney", 1280.5), "expenseMoney", CODE),
    "total in words": (flow_with("form.expenseMoney.standard", "一千二百八十元"), "expenseMoney", CODE),
    "total too large": (flow_with("form.expenseMoney.standard", "1e16"), "expenseMoney", CODE),
    "no expenseDate": (flow_with("form.expenseDate", remove=True), "expenseDate", CODE),
    "expenseDate in 1970": (flow_with("form.expenseDate", 86_400_000), "expenseDate", CODE),
    "expenseDate as text": (flow_with("form.expenseDate", "2026-01-12"), "expenseDate", CODE),
    "no code": (flow_with("form.code", remove=True), "code", FLOW_ID),
    "a blank code": (flow_with("form.code", "  "), "code", "  "),
    "updateTime as text": (flow_with("updateTime", "2026-01-15 16:30:00"), "updateTime", CODE),
    "updateTime fractional": (flow_with("updateTime", 1_768_465_800_000.5), "updateTime", CODE),
}


@pytest.mark.parametrize(("flow", "field", "claim_no"), MALFORMED.values(), ids=MALFORMED.keys())
def test_a_document_that_cannot_be_a_claim_names_the_field_at_fault(flow, field, claim_no):
    """The error names the field, and the claim by its number (else its flow id) for the queue."""
    with pytest.raises(MalformedDocument) as caught:
        parse_flow(flow)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")
    assert (caught.value.flow_id, caught.value.claim_no) == (FLOW_ID, claim_no)


def test_an_unreadable_form_falls_back_to_the_flow_id_as_claim_number():
    err = MalformedDocument({"id": "F1", "form": "garbage"}, "form", "expected an object")
    assert (err.flow_id, err.claim_no) == ("F1", "F1")


@pytest.mark.parametrize(
    ("money_object", "expected"),
    [
        (money("33.00"), Decimal("33.00")),
        (money("-12.5"), Decimal("-12.5")),  # a negative amount is read; validation refuses it
        (money(20.0), Decimal("20.0")),  # retyped to a number: read faithfully
        (money("9999999999999999.99"), Decimal("9999999999999999.99")),  # the most numeric(18,2) holds
        (money("10000000000000000"), None),  # 1e16: too large to book
        (money("Infinity"), None),
        (money("sNaN"), None),
        (money(None), None),
        ({"standardStrCode": "CNY"}, None),
        ("45.60", Decimal("45.60")),  # a bare amount
    ],
)
def test_amount(money_object, expected):
    assert amount(money_object) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (epoch_ms(2026, 1, 1, 0, 0), dt.date(2026, 1, 1)),
        (str(epoch_ms(2026, 1, 1, 0, 0)), dt.date(2026, 1, 1)),
        (epoch_ms(1999, 12, 31, 23, 59), None),
        (epoch_ms(2100, 1, 1), None),
        (True, None),
        (None, None),
        ("昨天", None),
        (10**30, None),
    ],
)
def test_day_is_a_china_date_from_2000_to_2099(value, expected):
    assert day(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, 0), (1_768_465_800_000, 1_768_465_800_000), (1_768_465_800_000.0, 1_768_465_800_000),
     (True, None), ("1768465800000", None), (-1, None), (1.5, None)],
)  # fmt: skip
def test_update_time_is_whole_epoch_ms_or_none(value, expected):
    flow = {} if value is None else {"updateTime": value}
    assert update_time(flow) == expected
