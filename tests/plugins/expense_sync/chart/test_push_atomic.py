"""The chart push records a 合思 create (ledger ``done``, crosswalk, sync state) in one transaction.

PostgreSQL fails the record of the first batch create (a trigger on ``mdm.crosswalk`` that raises
once, standing for a backend terminated between two statements). Before, the ledger row had already
committed ``done`` in its own transaction: the ledger said done for items the middle platform did not
link, and the next push took them for new and sent their creates again (合思 refusing a duplicate
code is all that kept them single). Now nothing of the record commits, the
ledger stays ``sending``, and the next push looks the items up and adopts them."""

from collections import Counter

import pytest

from chartkit import seed_org_units
from expense_sync.chart.expense_side import read_expense_side
from expense_sync.chart.extract import extract_chart
from expense_sync.chart.merge import merge_chart
from expense_sync.chart.push import push_dimensions
from expense_sync.hooks.ekuaibao import EkuaibaoHook
from expense_sync.hooks.registry import erp_hook

FAIL_ONCE = """
CREATE SEQUENCE test_fail_once;
CREATE FUNCTION test_fail_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.system = 'ekuaibao' AND NEW.entity = 'cost_center' AND nextval('test_fail_once') = 1 THEN
        RAISE EXCEPTION 'terminating connection (test)';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER test_fail_once BEFORE INSERT ON mdm.crosswalk FOR EACH ROW EXECUTE FUNCTION test_fail_once();
"""


def test_a_failure_after_a_create_never_creates_the_item_twice(mdm, sandboxes):
    seed_org_units(mdm, "kingdee")
    extracted = extract_chart(mdm, erp_hook("kingdee"), "test/1")
    merge_chart(mdm, extracted["loads"], "test/1")
    dimensions = read_expense_side(mdm, EkuaibaoHook(), "test/1")["dimensions"]
    mdm.execute(FAIL_ONCE)

    with pytest.raises(Exception, match="terminating connection"):
        push_dimensions(mdm, EkuaibaoHook(), "test/1", dimensions)
    lies = mdm.execute(  # the ledger may not say done for a create whose crosswalk was not recorded
        """SELECT o.business_key FROM sync.outbound o JOIN mdm.cost_center c ON c.code = o.business_key
            WHERE o.entity = 'cost_center' AND o.state = 'done' AND NOT EXISTS (
              SELECT 1 FROM mdm.crosswalk x WHERE x.entity = 'cost_center' AND x.system = 'ekuaibao'
                 AND x.canonical_id = c.cost_center_id)"""
    ).fetchall()
    assert lies == []
    pushed = push_dimensions(mdm, EkuaibaoHook(), "test/2", dimensions)  # a retry, 合思 not read again

    items = [
        i
        for i in sandboxes.control("ekuaibao").state()["dimensionItems"]
        if i["dimensionId"] == dimensions["cost_center"]
    ]
    twice = {code: n for code, n in Counter(i["code"] for i in items).items() if n > 1}
    assert twice == {}
    assert pushed["cost_center"].get("settled", 0) > 0  # looked up and adopted, not created again
    unlinked = mdm.execute(
        """SELECT count(*) FROM mdm.cost_center c WHERE c.active AND NOT EXISTS (
             SELECT 1 FROM mdm.crosswalk x WHERE x.entity = 'cost_center' AND x.system = 'ekuaibao'
                AND x.canonical_id = c.cost_center_id)"""
    ).fetchone()[0]
    assert unlinked == 0
    assert mdm.execute("SELECT count(*) FROM sync.outbound WHERE state <> 'done'").fetchone()[0] == 0
