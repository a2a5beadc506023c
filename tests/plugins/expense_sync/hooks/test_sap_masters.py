"""The SAP hook's suppliers (API_BUSINESS_PARTNER: A_Supplier, tax numbers, banks) and tax codes (the
installation's custom CDS view) against the sandbox over OData: paging through __next, the blocked
supplier, the credit-code category, a seeded supplier, a missing service, faults retried."""

import json
import os

import pytest

from expense_sync.hooks.errors import EntityUnavailableError
from expense_sync.hooks.sap import SapHook
from expense_sync_sandboxes.masters import SUPPLIERS


@pytest.fixture
def sap(sandboxes):
    return sandboxes.control("sap")


def connect(monkeypatch, **extra) -> SapHook:
    conn = json.loads(os.environ["AIRFLOW_CONN_ERP_SAP"])
    conn["extra"].update(extra)
    monkeypatch.setenv("AIRFLOW_CONN_ERP_SAP", json.dumps(conn))
    return SapHook()


def calls(control, fragment: str) -> int:
    return sum(n for key, n in control.stats()["calls"].items() if fragment in key)


def test_suppliers_with_credit_codes_and_banks(sap, monkeypatch):
    sap.reset(page_cap=5, invalid_supplier=True)  # the server pages by __next beyond 5 rows
    suppliers = list(connect(monkeypatch, page_size=4).suppliers())
    assert len(suppliers) == len(SUPPLIERS) + 1
    assert calls(sap, "/A_Supplier") >= 4
    by_name = {s.name: s for s in suppliers}
    railway = by_name["中国铁路上海局集团有限公司"]
    assert railway.code == railway.remote_id == "1000000005"
    assert railway.credit_code == SUPPLIERS[4].credit_code and railway.credit_code_valid
    assert railway.bank_account == "310066726018170012345"  # 21 digits: account + reference text
    assert railway.active
    assert not by_name["如家酒店管理（北京）有限公司"].active  # posting- and purchasing-blocked
    assert not by_name["北京顺达商旅服务有限公司"].credit_code_valid


def test_a_seeded_supplier_and_another_tax_category(sap, monkeypatch):
    sap.mutate("add_supplier", code="S300", name="深圳市出租汽车（集团）有限公司", credit_code=None)
    sap.mutate("disable_supplier", code="S008")
    by_code = {s.code: s for s in SapHook().suppliers()}
    assert by_code["1000000300"].credit_code is None and by_code["1000000300"].active
    assert not by_code["1000000008"].active
    # a connection naming another tax number category finds no credit codes
    assert all(s.credit_code is None for s in connect(monkeypatch, credit_code_tax_type="CN0").suppliers())


def test_tax_codes_from_the_custom_view(sap):
    codes = {c.code: c for c in SapHook().tax_codes()}
    assert sorted(codes) == ["J0", "J1", "J2", "J3", "J4", "J5", "J6", "JE"]
    assert str(codes["J1"].rate) == "0.13" and codes["J1"].remote_id == "TAXCN/J1"
    assert codes["JE"].exempt and codes["JE"].rate is None
    assert str(codes["J0"].rate) == "0" and not codes["J0"].exempt


def test_a_system_without_the_tax_code_view(sap):
    sap.reset(missing_services=["YY1_TAXCODE_CDS"])
    with pytest.raises(EntityUnavailableError):
        SapHook().tax_codes()


def test_faults_are_retried(sap):
    sap.faults({"kind": "5xx", "every": 2})
    assert len(list(SapHook().suppliers())) == len(SUPPLIERS)
    assert len(SapHook().tax_codes()) == 8
