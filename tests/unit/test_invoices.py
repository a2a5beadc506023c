"""invoices/: the dictionary, reading 合思's invoice entities, the input VAT rules and the tax rules."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from expense_sync.invoices.parse import claim_invoices, invoice_refs, parse_invoice
from expense_sync.invoices.rules import tax_rules
from expense_sync.invoices.types import ekuaibao_type, invoice_types
from expense_sync.invoices.vat import rule_vat


def money(value: str) -> dict:
    return {"standard": value, "standardUnit": "元", "standardScale": 2, "standardStrCode": "CNY"}


def ms(day: str) -> int:
    d = dt.date.fromisoformat(day)
    return int(dt.datetime(d.year, d.month, d.day, tzinfo=dt.timezone(dt.timedelta(hours=8))).timestamp() * 1000)


def special(net="1000.00", tax="60.00", total="1060.00", category="DIGITAL_SPECIAL") -> dict:
    return {
        "E_system_发票主体_发票类别": category,
        "E_system_发票主体_发票代码": "044032100111",
        "E_system_发票主体_发票号码": "13415524",
        "E_system_发票主体_发票日期": ms("2026-11-02"),
        "E_system_发票主体_发票金额": money(net),
        "E_system_发票主体_税额": money(tax),
        "E_system_发票主体_价税合计": money(total),
        "E_system_发票主体_购买方纳税人识别号": "91110108318283928K",
        "E_system_发票主体_销售方名称": "上海静安酒店有限公司",
        "E_system_发票主体_销售方纳税人识别号": "91440300892254961D",
        "E_system_发票主体_验真": True,
    }


def read(object_id: str, entity: dict | None, invoice_id: str = "corp:044032100111:13415524"):
    return parse_invoice(1, 1, {"invoiceId": invoice_id}, {"invoiceType": object_id, "entity": entity})


def test_every_hesi_invoice_type_of_the_documents_has_one_canonical_type():
    objects = ["invoice", "other", "taxi", "fixed", "passengerCar", "machinePrint", "shopping", "train"]
    objects += ["flightItinerary", "tolls", "medical", "noTaxIncome"]  # get-entity-invoice.md, 发票类型(objectId)
    categories = ["FULL_DIGITAl_NORMAL", "FULL_DIGITAl_SPECIAL", "FULL_DIGITAl_PAPER", "FULL_DIGITAl_PAPER_NORMAL"]
    categories += ["DIGITAL_NORMAL", "DIGITAL_SPECIAL", "PAPER_NORMAL", "PAPER_ROLL", "PAPER_SPECIAL", "PAPER_CAR"]
    categories += ["SECOND_CAR", "PAPER_FEE", "BLOCK_CHAIN"]  # 发票类别 (E_system_发票主体_发票类别)
    for object_id in objects[1:]:
        assert ekuaibao_type(object_id, None) is not None, object_id
    for category in categories:
        assert ekuaibao_type("invoice", category) is not None, category
    assert ekuaibao_type("invoice", "SOMETHING_NEW") is None
    specials = {t.code for t in invoice_types() if t.special}
    assert specials == {"vat_special", "digital_special"}


def test_a_special_invoice_is_read_with_its_parties_and_amounts():
    inv = read("invoice", special())
    assert (inv.invoice_type, inv.invoice_key) == ("vat_special", "vat_special:044032100111:13415524")
    assert (inv.net, inv.tax, inv.total) == (Decimal("1000.00"), Decimal("60.00"), Decimal("1060.00"))
    assert (inv.buyer_tax_id, inv.seller_tax_id, inv.verified) == ("91110108318283928K", "91440300892254961D", True)
    assert inv.invoice_date == dt.date(2026, 11, 2) and inv.problem is None
    assert rule_vat(inv, "invoice_tax") == Decimal("60.00")


def test_a_digital_invoice_without_a_code_is_keyed_by_its_twenty_digit_number():
    entity = special(category="FULL_DIGITAl_SPECIAL")
    del entity["E_system_发票主体_发票代码"]
    entity["E_system_发票主体_发票号码"] = "24312000000012345678"
    inv = read("invoice", entity, "corp:24312000000012345678")
    assert (inv.invoice_type, inv.invoice_key) == ("digital_special", "digital_special::24312000000012345678")


@pytest.mark.parametrize(
    ("object_id", "entity", "expected_vat"),
    [
        # 航空: (票价 + 燃油附加费) ÷ 1.09 × 9 %: (1130 + 60) / 1.09 * 0.09 = 98.256… → 98.26
        (
            "flightItinerary",
            {
                "E_system_航空运输电子客票行程单_电子客票号码": "7812431511988",
                "E_system_航空运输电子客票行程单_填开日期": ms("2026-11-03"),
                "E_system_航空运输电子客票行程单_票价": money("1130.00"),
                "E_system_航空运输电子客票行程单_燃油附加费": money("60.00"),
                "E_system_航空运输电子客票行程单_民航发展基金": money("50.00"),
                "E_system_航空运输电子客票行程单_金额": money("1240.00"),
            },
            Decimal("98.26"),
        ),
        # 铁路: 票面金额 ÷ 1.09 × 9 %: 553 / 1.09 * 0.09 = 45.66…
        (
            "train",
            {
                "E_system_火车票_序列码": "10610310291123B054158",
                "E_system_火车票_号码": "B054158",
                "E_system_火车票_乘车时间": ms("2026-11-04"),
                "E_system_火车票_金额": money("553.00"),
            },
            Decimal("45.66"),
        ),
        # 公路: 票面金额 ÷ 1.03 × 3 %: 120 / 1.03 * 0.03 = 3.495… → 3.50
        (
            "passengerCar",
            {
                "E_system_客运汽车发票_发票代码": "121001970101",
                "E_system_客运汽车发票_发票号码": "01234567",
                "E_system_客运汽车发票_时间": ms("2026-11-04"),
                "E_system_客运汽车发票_金额": money("120.00"),
            },
            Decimal("3.50"),
        ),
        ("taxi", {"E_system_出租车票_发票号码": "19777479", "E_system_出租车票_金额": money("58.00")}, Decimal(0)),
    ],
)
def test_transport_tickets_deduct_by_the_2019_formulas(object_id, entity, expected_vat):
    inv = read(object_id, entity)
    kind = ekuaibao_type(object_id, None)
    assert inv.problem is None and inv.invoice_type == kind.code
    assert rule_vat(inv, kind.vat_rule) == expected_vat


def test_a_train_ticket_is_keyed_by_its_serial_and_a_receipt_without_number_by_its_hesi_id():
    train = read("train", {"E_system_火车票_序列码": "10610310291123B054158", "E_system_火车票_金额": money("1")})
    assert train.invoice_key == "rail_ticket::10610310291123B054158"
    other = read("other", {"E_system_其他_金额": money("20.00")}, "corp:ID_x")
    assert other.invoice_key == "ekuaibao:corp:ID_x" and other.total == Decimal("20.00")


def test_what_cannot_be_read_is_kept_with_its_problem_and_deducts_nothing():
    missing = read("invoice", None)
    assert missing.problem == "合思 returned no invoice for this id" and rule_vat(missing, "invoice_tax") == 0
    garbage = read("invoice", {**special(), "E_system_发票主体_税额": money("六十")})
    assert garbage.problem.startswith("tax {'standard': '六十'") and garbage.problem.endswith("is not an amount")
    unknown = read("invoice", {**special(), "E_system_发票主体_发票类别": "NEW_KIND"})
    assert unknown.invoice_type is None and "NEW_KIND" in unknown.problem


def test_only_lines_whose_invoice_form_exists_name_invoices():
    line = {"feeTypeForm": {"invoiceForm": {"type": "exist", "invoices": [{"invoiceId": "a"}, {"invoiceId": "b"}]}}}
    assert [r["invoiceId"] for r in invoice_refs(line)] == ["a", "b"]
    assert invoice_refs({"feeTypeForm": {"invoiceForm": {"type": "noWrite"}}}) == []
    flow = {"form": {"details": [{"feeTypeForm": {}}, line]}}
    found = {"a": {"invoiceType": "invoice", "entity": special()}}
    invoices = claim_invoices(flow, found)
    assert [(i.line_no, i.seq, i.problem is None) for i in invoices] == [(2, 1, True), (2, 2, False)]


def test_tax_rules_come_from_the_file_and_a_deployment_overrides_per_erp():
    rules = tax_rules("kingdee", "{}")
    assert rules.buyer_tax_ids == {"001": "91110108318283928K"} and Decimal("0.13") in rules.rates
    assert "6602.03" in rules.non_deductible_accounts and rules.max_invoice_age_days == 365
    changed = tax_rules("kingdee", '{"kingdee": {"max_invoice_age_days": 30}, "sap": {"rates": ["0.2"]}}')
    assert changed.max_invoice_age_days == 30 and changed.non_deductible_accounts == rules.non_deductible_accounts
    with pytest.raises(ValueError):
        tax_rules("kingdee", '{"kingdee": {"unknown_key": 1}}')


def test_the_rows_of_a_vat_invoice_carry_its_rates():
    rows = [
        {
            "E_system_发票明细_金额": money("-110.62"),
            "E_system_发票明细_税率": "13%",
            "E_system_发票明细_税额": money("-14.38"),
        },
        {
            "E_system_发票明细_金额": money("100.00"),
            "E_system_发票明细_税率": "免税",
            "E_system_发票明细_税额": money("0"),
        },
        {"E_system_发票明细_金额": money("1"), "E_system_发票明细_税率": "***", "E_system_发票明细_税额": money("0")},
    ]
    inv = parse_invoice(1, 1, {"invoiceId": "x"}, {"invoiceType": "invoice", "entity": special(), "details": rows})
    assert [(i.amount, i.rate, i.tax) for i in inv.items] == [
        (Decimal("-110.62"), Decimal("0.13"), Decimal("-14.38")),
        (Decimal("100.00"), Decimal("0"), Decimal("0")),
        (Decimal("1"), None, Decimal("0")),
    ]
    assert inv.hash_part()["items"][0] == {"amount": "-110.62", "rate": "0.13", "tax": "-14.38"}
