"""Extract and merge of the ERP chart against the ERP sandboxes and a real PostgreSQL: incremental pulls,
writes only for what changed, quarantine of malformed records, watermarks in the merge transaction."""

import pytest

from chartkit import ErpWorld
from expense_sync.chart.extract import extract_chart
from expense_sync.chart.merge import merge_chart
from expense_sync.hooks.erp import erp_hook


def sync(conn, vendor, run):
    extracted = extract_chart(conn, erp_hook(vendor), f"test/{run}")
    return extracted, merge_chart(conn, extracted["loads"], f"test/{run}")


@pytest.mark.parametrize("vendor", ["kingdee", "yonyou", "sap"])
def test_the_second_pull_reads_only_what_changed_and_writes_only_that(mdm, sandboxes, vendor):
    extracted, merged = sync(mdm, vendor, 1)
    assert all(load["full"] for load in extracted["loads"].values())
    assert all(merged[e]["created"] == merged[e]["received"] > 0 for e in merged)
    code = mdm.execute("SELECT min(code) FROM mdm.project").fetchone()[0]
    ErpWorld(vendor, sandboxes).close_project(code)

    extracted, merged = sync(mdm, vendor, 2)
    loads = extracted["loads"]
    assert not loads["project"]["full"] and loads["project"]["rows"] <= 2  # the change (and the boundary record)
    assert loads["cost_center"]["full"] == (vendor == "sap")  # SAP cost centers have no change time
    assert merged["project"]["updated"] == 1 and merged["gl_account"]["updated"] == 0
    assert mdm.execute("SELECT active FROM mdm.project WHERE code = %s", (code,)).fetchone() == (False,)
    watermark = mdm.execute(
        "SELECT value FROM sync.watermark WHERE system = %s AND stream = 'project'", (vendor,)
    ).fetchone()[0]
    assert watermark == mdm.execute("SELECT max(source_updated_at) FROM mdm.project").fetchone()[0]


def test_a_malformed_record_is_quarantined_and_cleared_once_fixed(mdm, sandboxes):
    kingdee = sandboxes.control("kingdee")
    kingdee.mutate("add", form="BD_Project", number="XM-NONAME", name="  ")
    _, merged = sync(mdm, "kingdee", 1)
    assert merged["project"]["quarantined"] == 1
    item = mdm.execute(
        "SELECT reason_code, status FROM sync.exception_item WHERE kind = 'quarantine' AND record_key = 'XM-NONAME'"
    ).fetchone()
    assert item == ("missing_name", "open")
    assert mdm.execute("SELECT count(*) FROM mdm.project WHERE code = 'XM-NONAME'").fetchone() == (0,)

    kingdee.mutate("rename", form="BD_Project", number="XM-NONAME", name="补上名称")
    _, merged = sync(mdm, "kingdee", 2)
    assert (merged["project"]["created"], merged["project"]["quarantine_cleared"]) == (1, 1)
    assert mdm.execute("SELECT status FROM sync.exception_item WHERE record_key = 'XM-NONAME'").fetchone() == (
        "resolved",
    )


def test_a_merged_load_merged_again_changes_nothing(mdm, sandboxes):
    extracted, _ = sync(mdm, "yonyou", 1)
    again = merge_chart(mdm, extracted["loads"], "test/1")
    assert all(counts == {"already_merged": True} for counts in again.values())
