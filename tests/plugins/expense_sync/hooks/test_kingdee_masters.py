"""The Kingdee hook's supplier and tax-rate masters against its sandbox over HTTP: BD_Supplier and
BD_TaxRate through ExecuteBillQuery, paged, the use org's only, a seeded supplier, faults retried."""

from decimal import Decimal

from expense_sync.erp.masters import valid_credit_code
from expense_sync.hooks.kingdee import KingdeeHook
from expense_sync_sandboxes.masters import INVALID_SUPPLIER, SUPPLIERS, credit_code

QUERY = "POST /k3cloud/Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.ExecuteBillQuery.common.kdsvc"


def test_suppliers_are_read_page_by_page(sandboxes, kingdee):
    kingdee.reset(max_limit=5, invalid_supplier=True)
    suppliers = list(KingdeeHook().suppliers())
    assert [s.code for s in suppliers] == [f"VEN{s.code[1:]}" for s in (*SUPPLIERS, INVALID_SUPPLIER)]
    assert kingdee.stats()["calls"][QUERY] >= 3  # 13 suppliers, 5 a page
    by_code = {s.code: s for s in suppliers}
    air_china = by_code["VEN001"]
    assert air_china.name == "中国国际航空股份有限公司" and air_china.active
    assert air_china.credit_code == SUPPLIERS[0].credit_code and air_china.credit_code_valid
    assert air_china.bank_account == "320156780012" and air_china.remote_id.isdigit()
    assert not by_code["VEN012"].active  # forbidden in the ERP
    assert by_code["VEN013"].credit_code and not by_code["VEN013"].credit_code_valid


def test_a_seeded_supplier_and_a_disabled_one(sandboxes, kingdee):
    code = credit_code("91110105MA01TQ3K1")
    kingdee.mutate("add_supplier", code="S100", name="北京首汽出租汽车有限公司", credit_code=code)
    kingdee.mutate("disable_supplier", code="S001")
    by_code = {s.code: s for s in KingdeeHook().suppliers()}
    assert by_code["VEN100"].credit_code == code and valid_credit_code(code)
    assert by_code["VEN100"].bank_account is None and by_code["VEN100"].active
    assert not by_code["VEN001"].active


def test_tax_codes(sandboxes, kingdee):
    codes = {c.code: c for c in KingdeeHook().tax_codes()}
    assert codes["SL13_SYS"].rate == Decimal("0.13") and not codes["SL13_SYS"].exempt
    assert codes["SL06_SYS"].rate == Decimal("0.06")
    assert codes["SL00_SYS"].rate == Decimal("0") and not codes["SL00_SYS"].exempt
    assert codes["MS_SYS"].exempt and codes["MS_SYS"].rate is None
    assert sorted(c.rate for c in codes.values() if c.rate is not None) == [
        Decimal(p) / 100 for p in ("0", "1", "3", "5", "6", "9", "13")
    ]
    assert all(c.active for c in codes.values())


def test_a_server_fault_is_retried(sandboxes, kingdee):
    kingdee.faults({"kind": "5xx", "every": 2})
    assert len(list(KingdeeHook().suppliers())) == len(SUPPLIERS)
    assert len(KingdeeHook().tax_codes()) == 8
