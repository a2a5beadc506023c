"""The canonical supplier and tax-code types, and the GB 32100-2015 check of a unified social
credit code (统一社会信用代码)."""

from decimal import Decimal

import pytest

from expense_sync.erp.masters import Supplier, TaxCode, credit_code_check_char, percent, valid_credit_code

# published codes, each passing the check as printed: 91110108318283928K (seller) and
# 91330183MA2B279AXM (buyer) in the example of 合思's open API page 上传待开具发票-销项开票
# (POST /api/openapi/v2/invoice/OutPutTax/pushArInvoicePre); 91440300892254961D (seller) in its
# invoice-detail examples (E_system_发票主体_销售方纳税人识别号); 91110113MA01ADGN8R as the brief quotes it
PUBLISHED = ("91110108318283928K", "91440300892254961D", "91110113MA01ADGN8R", "91330183MA2B279AXM")


@pytest.mark.parametrize("code", PUBLISHED)
def test_published_codes_pass(code):
    assert valid_credit_code(code)
    assert credit_code_check_char(code[:17]) == code[17]


@pytest.mark.parametrize("code", PUBLISHED)
def test_a_changed_check_character_fails(code):
    other = "A" if code[17] != "A" else "B"
    assert not valid_credit_code(code[:17] + other)


@pytest.mark.parametrize(
    "code",
    [
        "",
        "91110108318283928",  # 17 characters
        "91110108318283928KK",  # 19
        "91110108318283928k",  # lower case
        "9111010831828392OK",  # O is not in the alphabet
        "91110108318283928I",
        "911101083182839 8K",
    ],
)
def test_malformed_codes_fail(code):
    assert not valid_credit_code(code)


def test_a_single_changed_body_character_is_caught():
    code = PUBLISHED[0]
    assert not valid_credit_code(code[:5] + "9" + code[6:])  # 0 → 9 at position 6


def test_check_char_refuses_a_wrong_body():
    with pytest.raises(ValueError):
        credit_code_check_char("9111010831828392")


def test_supplier_knows_whether_its_credit_code_is_valid():
    def supplier(credit_code):
        return Supplier("V1", "中国国际航空股份有限公司", credit_code, True, None, "1")

    assert supplier(PUBLISHED[0]).credit_code_valid
    assert not supplier(PUBLISHED[0][:17] + "A").credit_code_valid
    assert not supplier(None).credit_code_valid


def test_tax_code_rates():
    assert TaxCode("VAT13", "13%增值税", percent("13.00"), False, True, "1").rate == Decimal("0.13")
    assert percent(0) == Decimal(0) and percent("9") == Decimal("0.09")
    assert TaxCode("EX", "免税", None, True, True, "2").exempt
    with pytest.raises(ValueError):
        TaxCode("EX", "免税", Decimal(0), True, True, "2")  # exempt is not a 0 % rate
    with pytest.raises(ValueError):
        TaxCode("X", "x", None, False, True, "3")
    with pytest.raises(ValueError):
        TaxCode("X", "x", Decimal(13), False, True, "3")  # percent, not a fraction
    with pytest.raises(TypeError):
        TaxCode("X", "x", 0.13, False, True, "3")  # type: ignore[arg-type]
