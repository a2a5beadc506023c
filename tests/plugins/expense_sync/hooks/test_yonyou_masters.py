"""The Yonyou hook's supplier archive and tax rates: the documented answers parsed, and the hook
against the sandbox over HTTP (paging, the banks and business info asked for, a seeded supplier,
a disabled one, faults retried). The sandbox's shapes: ``test_yonyou_docs.py``."""

import copy
import json
import os

import pytest
from vendordocs import load

from expense_sync.erp.masters import Supplier
from expense_sync.hooks.errors import ContractError, EntityUnavailableError
from expense_sync.hooks.yonyou import YonyouHook
from expense_sync.hooks.yonyou.masters import VENDOR_LIST, supplier, tax_code
from expense_sync.hooks.yonyou.pages import listing
from expense_sync_sandboxes.masters import INVALID_SUPPLIER, SUPPLIERS

LIST_CALL = f"POST {VENDOR_LIST}"


@pytest.fixture
def yonyou(sandboxes):
    return sandboxes.control("yonyou")


def connect(monkeypatch, **extra) -> YonyouHook:
    """A new hook on ``erp_yonyou`` with the sandbox fixture's connection and these extras."""
    conn = json.loads(os.environ["AIRFLOW_CONN_ERP_YONYOU"])
    conn["extra"].update(extra)
    monkeypatch.setenv("AIRFLOW_CONN_ERP_YONYOU", json.dumps(conn))
    return YonyouHook()


def calls(control, path: str) -> int:
    return sum(n for key, n in control.stats()["calls"].items() if key.endswith(path))


def documented(name):
    return copy.deepcopy(load("yonyou", name)["response"])


# -- the documented answers --------------------------------------------------------------------------
def test_the_documented_supplier_page_parses():
    page = documented("vendor_list_v3")
    records, total = listing(page, LIST_CALL)
    assert total == 1
    assert [supplier(r) for r in records] == [
        Supplier(
            code="l0020011",
            name="供应商11",
            credit_code="JC01X00001",  # the documented example's: no GB 32100 code at all
            active=True,  # its business info is not frozen (freezestatus "0")
            bank_account="6222300631491653",
            remote_id="1891832769614080",
        )
    ]
    assert not supplier(records[0]).credit_code_valid


def test_a_documented_supplier_without_its_code_is_refused():
    [record] = documented("vendor_list_v3")["data"]["recordList"]
    del record["code"]
    with pytest.raises(ContractError, match="'code'"):
        supplier(record)


def test_the_documented_tax_rate_parses():
    [rate] = documented("taxrate_find_by_time")["data"]
    parsed = tax_code(rate)
    assert (parsed.code, parsed.name, str(parsed.rate), parsed.exempt, parsed.active) == (
        "VAT13",
        "13%",
        "0.13",
        False,
        True,
    )
    del rate["taxfree"]
    with pytest.raises(ContractError, match="'taxfree'"):
        tax_code(rate)


# -- the hook against the sandbox ----------------------------------------------------------------------
def test_suppliers_page_by_page(yonyou, monkeypatch):
    yonyou.reset(invalid_supplier=True)
    hook = connect(monkeypatch, page_size=4)
    suppliers = list(hook.suppliers())
    assert [s.code for s in suppliers] == [s.code for s in (*SUPPLIERS, INVALID_SUPPLIER)]
    assert calls(yonyou, VENDOR_LIST) == 4  # 13 suppliers, 4 a page
    by_code = {s.code: s for s in suppliers}
    assert by_code["S004"].name == "中国铁路北京局集团有限公司" and by_code["S004"].credit_code_valid
    assert by_code["S004"].bank_account == "0200001109026500010"
    assert not by_code["S012"].active and by_code["S001"].active
    assert not by_code["S013"].credit_code_valid


def test_a_seeded_and_a_disabled_supplier(yonyou):
    yonyou.mutate("add_supplier", code="S200", name="上海强生出租汽车有限公司", credit_code=None)
    yonyou.mutate("disable_supplier", code="S002")
    by_code = {s.code: s for s in YonyouHook().suppliers()}
    assert by_code["S200"].credit_code is None and by_code["S200"].bank_account is None
    assert not by_code["S002"].active


def test_tax_codes(yonyou):
    codes = {c.code: c for c in YonyouHook().tax_codes()}
    assert sorted(codes) == ["VAT0", "VAT1", "VAT13", "VAT3", "VAT5", "VAT6", "VAT9", "VATEX"]
    assert str(codes["VAT9"].rate) == "0.09" and codes["VATEX"].exempt and codes["VATEX"].rate is None
    assert str(codes["VAT0"].rate) == "0" and not codes["VAT0"].exempt


def test_faults_are_retried(yonyou):
    yonyou.faults({"kind": "5xx", "every": 2})
    assert len(list(YonyouHook().suppliers())) == len(SUPPLIERS)
    assert len(YonyouHook().tax_codes()) == 8


def test_nc_cloud_reads_no_masters(sandboxes, monkeypatch):
    hook = connect(monkeypatch, variant="ncc", ncc_public_key="x", ncc_biz_center="01")
    with pytest.raises(EntityUnavailableError, match="suppliers"):
        list(hook.suppliers())
