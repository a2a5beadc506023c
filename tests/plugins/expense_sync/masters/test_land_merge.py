"""Suppliers and tax codes from each ERP sandbox into the middle platform (real PostgreSQL): loaded
and merged set-based, the invalid credit code queued with its reason yet loaded, the disabled
supplier inactive, a re-run writing nothing, a supplier disabled or gone in the ERP deactivated
(never deleted), ERP ids in the crosswalk."""

from decimal import Decimal

import pytest

from expense_sync.erp.masters import credit_code_check_char, valid_credit_code
from expense_sync.hooks.registry import erp_hook
from expense_sync.masters.land import land_masters
from expense_sync.masters.merge import merge_masters
from expense_sync_sandboxes.masters import INVALID_SUPPLIER, SUPPLIERS

# each ERP's number of the seeded suppliers S012 (disabled) and S013 (invalid credit code)
NUMBERS = {
    "kingdee": {"S001": "VEN001", "S012": "VEN012", "S013": "VEN013"},
    "yonyou": {"S001": "S001", "S012": "S012", "S013": "S013"},
    "sap": {"S001": "1000000001", "S012": "1000000012", "S013": "1000000013"},
}
RATES = sorted(Decimal(p) / 100 for p in ("13", "9", "6", "5", "3", "1", "0"))


def sync(conn, vendor, run):
    landed = land_masters(conn, erp_hook(vendor), f"test/{run}")
    return merge_masters(conn, landed["loads"], f"test/{run}")


def supplier(conn, code):
    return conn.execute(
        "SELECT name, credit_code_valid, active, deactivated_at IS NOT NULL, source_system FROM mdm.supplier"
        " WHERE code = %s",
        (code,),
    ).fetchone()


@pytest.mark.parametrize("vendor", ["kingdee", "yonyou", "sap"])
def test_suppliers_and_tax_codes_arrive_and_a_rerun_writes_nothing(mdm, sandboxes, vendor):
    sandboxes.control(vendor).reset(invalid_supplier=True)
    merged = sync(mdm, vendor, 1)
    numbers = NUMBERS[vendor]
    assert merged["supplier"]["created"] == merged["supplier"]["received"] == len(SUPPLIERS) + 1
    assert merged["supplier"]["quarantined"] == 1
    assert merged["tax_code"]["created"] == 8 and merged["tax_code"]["quarantined"] == 0

    assert supplier(mdm, numbers["S001"]) == ("中国国际航空股份有限公司", True, True, False, vendor)
    assert supplier(mdm, numbers["S012"])[1:4] == (True, False, True)  # disabled in the ERP: inactive
    assert supplier(mdm, numbers["S013"])[1:3] == (False, True)  # loaded, flagged
    item = mdm.execute(
        "SELECT kind, source_system, entity, reason_code, status, reason FROM sync.exception_item"
        " WHERE record_key = %s",
        (numbers["S013"],),
    ).fetchone()
    assert item[:5] == ("quarantine", vendor, "supplier", "supplier_credit_code_invalid", "open")
    assert "GB 32100-2015" in item[5] and "北京顺达商旅服务有限公司" in item[5]

    rates = mdm.execute("SELECT rate FROM mdm.tax_code WHERE NOT exempt ORDER BY rate").fetchall()
    assert [r for (r,) in rates] == RATES
    assert mdm.execute("SELECT count(*) FROM mdm.tax_code WHERE exempt AND rate IS NULL").fetchone() == (1,)
    crosswalk = mdm.execute(
        "SELECT entity, count(*) FROM mdm.crosswalk WHERE system = %s GROUP BY entity ORDER BY entity", (vendor,)
    ).fetchall()
    assert crosswalk == [("supplier", len(SUPPLIERS) + 1), ("tax_code", 8)]

    again = sync(mdm, vendor, 2)
    for entity in ("supplier", "tax_code"):
        assert (again[entity]["created"], again[entity]["updated"], again[entity]["deactivated"]) == (0, 0, 0)
    assert again["supplier"]["quarantined"] == 1  # still invalid: the same item, seen again
    assert mdm.execute(
        "SELECT count(*), max(occurrences) FROM sync.exception_item WHERE reason_code = 'supplier_credit_code_invalid'"
    ).fetchone() == (1, 2)


def test_a_supplier_disabled_or_gone_in_the_erp_becomes_inactive(mdm, sandboxes):
    kingdee = sandboxes.control("kingdee")
    sync(mdm, "kingdee", 1)
    kingdee.mutate("disable_supplier", code="S003")
    kingdee.mutate("remove_supplier", code="S004")
    kingdee.mutate("enable_supplier", code="S012")

    merged = sync(mdm, "kingdee", 2)

    assert (merged["supplier"]["updated"], merged["supplier"]["deactivated"]) == (2, 1)
    assert supplier(mdm, "VEN003")[2:4] == (False, True)
    assert supplier(mdm, "VEN004")[2:4] == (False, True)  # gone from the ERP: kept, inactive
    assert supplier(mdm, "VEN012")[2:4] == (True, False)  # enabled again


def test_a_fixed_credit_code_clears_the_queue_item(mdm, sandboxes):
    kingdee = sandboxes.control("kingdee")
    kingdee.reset(invalid_supplier=True)
    sync(mdm, "kingdee", 1)
    bad = INVALID_SUPPLIER
    fixed = bad.credit_code[:17] + credit_code_check_char(bad.credit_code[:17])
    assert valid_credit_code(fixed)
    kingdee.mutate("add_supplier", code="S013", name=bad.name, credit_code=fixed, bank_account=bad.bank_account)

    merged = sync(mdm, "kingdee", 2)

    assert merged["supplier"]["quarantine_cleared"] == 1 and merged["supplier"]["updated"] == 1
    assert supplier(mdm, "VEN013")[1] is True
    assert mdm.execute(
        "SELECT status FROM sync.exception_item WHERE reason_code = 'supplier_credit_code_invalid'"
    ).fetchone() == ("resolved",)


def test_an_sap_system_without_the_tax_code_view_still_loads_its_suppliers(mdm, sandboxes):
    sandboxes.control("sap").reset(missing_services=["YY1_TAXCODE_CDS"])

    merged = sync(mdm, "sap", 1)

    assert merged["tax_code"] == {"skipped": merged["tax_code"]["skipped"]}
    assert "YY1_TAXCODE_CDS" in merged["tax_code"]["skipped"] or merged["tax_code"]["skipped"]
    assert merged["supplier"]["created"] == len(SUPPLIERS)
    assert mdm.execute("SELECT count(*) FROM mdm.tax_code").fetchone() == (0,)
