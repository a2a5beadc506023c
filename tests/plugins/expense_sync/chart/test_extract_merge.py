"""Extract and merge of the ERP chart against the ERP sandboxes and a real PostgreSQL: incremental pulls,
writes only for what changed, quarantine of malformed records, watermarks in the merge transaction; and
合思's side read whatever 合思's clock says, so that an edit there is never overwritten silently."""

import pytest

from chartkit import ErpWorld, canonical_items, expense_items, seed_org_units
from expense_sync.chart.expense_side import read_expense_side
from expense_sync.chart.extract import extract_chart
from expense_sync.chart.merge import merge_chart
from expense_sync.chart.push import push_dimensions
from expense_sync.hooks.ekuaibao import EkuaibaoHook
from expense_sync.hooks.registry import erp_hook


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


def week(conn, run):
    """expense_category_sync_weekly's chart steps: the ERP in, 合思's side read, the push."""
    sync(conn, "kingdee", run)
    expense = read_expense_side(conn, EkuaibaoHook(), f"test/{run}")
    push_dimensions(conn, EkuaibaoHook(), f"test/{run}", expense["dimensions"])


def test_edits_stamped_by_a_skewed_expense_clock_are_never_overwritten_silently(mdm, sandboxes):
    seed_org_units(mdm, "kingdee")
    week(mdm, 1)
    week(mdm, 2)  # 合思's items have been read once: a watermark exists
    behind, ahead, after = sorted(c for c, v in canonical_items(mdm, "cost_center").items() if v["active"])[:3]
    ekb, erp = sandboxes.control("ekuaibao"), ErpWorld("kingdee", sandboxes)
    ekb.mutate("edit_item", dimension="成本中心", code=behind, name="合思慢钟", skew_seconds=-3600)
    erp.rename_cost_center(ahead, "ERP改名")
    ekb.mutate("edit_item", dimension="成本中心", code=ahead, name="合思快钟", skew_seconds=3600)
    week(mdm, 3)
    erp.rename_cost_center(after, "ERP再改")  # the week after 合思's clock ran an hour ahead
    ekb.mutate("edit_item", dimension="成本中心", code=after, name="合思准钟")
    week(mdm, 4)

    items = expense_items(sandboxes, "cost_center")
    reasons = dict(
        mdm.execute("SELECT record_key, reason_code FROM sync.exception_item WHERE entity = 'cost_center'").fetchall()
    )
    assert reasons == {behind: "expense_side_edited", ahead: "changed_both_sides", after: "changed_both_sides"}
    assert items[behind]["name"] == canonical_items(mdm, "cost_center")[behind]["name"]  # the ERP is master
    assert (items[ahead]["name"], items[after]["name"]) == ("合思快钟", "合思准钟")  # kept until a person decides
