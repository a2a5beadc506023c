"""Extract and merge of the OA directory against the DingTalk sandbox and a real PostgreSQL: a task
re-run after its commit, and a damaged tree (orphan, cycle) quarantined without deactivating anyone."""

from expense_sync.hooks.oa import oa_hook
from expense_sync.org.extract import extract_directory
from expense_sync.org.merge import merge_directory


def sync(conn, run, vendor="dingtalk"):
    extracted = extract_directory(conn, oa_hook(vendor), f"test/{run}")
    return extracted, merge_directory(conn, extracted["loads"], f"test/{run}")


def test_a_merged_load_merged_again_changes_nothing(mdm, sandboxes):
    extracted, merged = sync(mdm, 1)
    assert merged["employee"]["created"] == 60
    last_change = mdm.execute("SELECT max(updated_at) FROM mdm.employee").fetchone()
    again = merge_directory(mdm, extracted["loads"], "test/1")
    assert again == {"org_unit": {"already_merged": True}, "employee": {"already_merged": True}}
    assert mdm.execute("SELECT max(updated_at) FROM mdm.employee").fetchone() == last_change
