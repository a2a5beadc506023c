"""erp/accounts.py and claims/company.py: the ERP hook's defaults, overridden by a Variable's JSON."""

from __future__ import annotations

import pytest

from expense_sync.claims.company import claim_company
from expense_sync.erp.accounts import PostingAccounts, posting_accounts


@pytest.mark.parametrize(
    ("vendor", "payable", "clearing", "input_vat", "accrued", "travel"),
    [
        ("kingdee", "2241.01", "2241.09", "2221.01.01", "2241.03", "6602.01"),
        ("yonyou", "224101", "224109", "22210101", "224103", "660201"),
        ("sap", "2241010000", "2241090000", "2221010100", "2241030000", "6602010000"),
    ],
)
def test_each_erp_has_accounts_in_its_own_numbering(vendor, payable, clearing, input_vat, accrued, travel):
    assert posting_accounts(vendor, "") == PostingAccounts(payable, clearing, input_vat, accrued, travel)


def test_a_deployment_overrides_one_account_and_keeps_the_other():
    overrides = '{"kingdee": {"clearing": "2241.99"}, "sap": {"employee_payable": "1"}}'
    assert posting_accounts("kingdee", overrides) == PostingAccounts(
        "2241.01", "2241.99", "2221.01.01", "2241.03", "6602.01"
    )


def test_an_erp_without_a_hook_package_is_refused_even_with_accounts():
    with pytest.raises(ValueError, match="unknown erp vendor 'odoo': expected one of kingdee, sap, yonyou"):
        posting_accounts("odoo", '{"odoo": {"employee_payable": "2241", "clearing": "2249"}}')


def test_the_variable_must_be_a_json_object():
    with pytest.raises(ValueError, match="must be a JSON object"):
        posting_accounts("kingdee", '["2241.01"]')


def test_claim_company_defaults_overrides_and_unknown_erps():
    assert [claim_company(v, "{}") for v in ("kingdee", "yonyou", "sap")] == ["001", "0001", "1000"]
    assert claim_company("sap", '{"sap": 2000}') == "2000"  # a number in the JSON is a code
    assert claim_company("kingdee", '{"sap": "2000"}') == "001"
    with pytest.raises(ValueError, match="unknown erp vendor 'odoo'"):
        claim_company("odoo", '{"odoo": "A1"}')
