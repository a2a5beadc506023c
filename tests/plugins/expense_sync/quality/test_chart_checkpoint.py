"""The erp_chart health check (GL accounts, expense categories, cost centers) passes a sound chart and
names each broken rule; its account classes are the ones the mappings produce."""

import json

import pytest

from expense_sync import mapping, rules
from expense_sync.quality.checkpoint import DataHealthCheckFailed, run_checkpoint
from testkit import ROOT

SUITES = ROOT / "great_expectations" / "expectations"


def seed(conn):
    conn.execute("""
        INSERT INTO mdm.org_unit (org_unit_id, code, name, parent_id, source_updated_at) VALUES
            (1, 'ROOT', '集团', NULL, now()), (2, 'D01', '财务部', 1, now());
        INSERT INTO mdm.gl_account (code, name, parent_code, postable, account_type, account_class, source_system)
        VALUES ('6602', '管理费用', NULL, false, '损益', 'profit_loss', 'yonyou'),
               ('660201', '差旅费', '6602', true, '损益', 'profit_loss', 'yonyou'),
               ('660202', '办公费', '6602', true, '损益', 'profit_loss', 'yonyou');
        INSERT INTO mdm.expense_category (code, name, gl_account_code, source_system)
        VALUES ('01', '差旅费', '660201', 'yonyou'), ('03', '办公费', '660202', 'yonyou');
        INSERT INTO mdm.fee_type (remote_id, code, name) VALUES ('c:01', '01', '差旅费'), ('c:03', '03', '办公费');
        INSERT INTO mdm.category_fee_type (expense_category_id, fee_type_id, state, provenance)
        SELECT c.expense_category_id, f.fee_type_id, 'mapped', 'auto_code'
          FROM mdm.expense_category c JOIN mdm.fee_type f USING (code);
        INSERT INTO mdm.cost_center (code, name, owner_unit, valid_from, valid_to, source_system)
        VALUES ('CC01', '北京分公司', 'D01', '2020-01-01', NULL, 'yonyou'),
               ('CC0101', '北京财务部', 'D9', '2020-01-01', '2030-12-31', 'yonyou');
        INSERT INTO mdm.crosswalk (entity, canonical_id, system, external_id) VALUES ('org_unit', 2, 'yonyou', 'D9');
    """)


def test_the_suite_and_the_mappings_agree_on_the_account_classes():
    suite = json.loads((SUITES / "gl_accounts.json").read_text(encoding="utf-8"))
    (value_set,) = [e["kwargs"]["value_set"] for e in suite["expectations"] if "value_set" in e["kwargs"]]
    assert value_set == list(rules.ACCOUNT_CLASSES)
    for spec in mapping.load_all():
        if spec.entity == "gl_account":
            assert set(spec.fields["account_class"].values.values()) <= set(rules.ACCOUNT_CLASSES), spec.system


def test_a_sound_chart_passes(mdm, monkeypatch, tmp_path):
    monkeypatch.setenv("EXPENSE_SYNC_GX_RESULTS_DIR", str(tmp_path))
    seed(mdm)
    summary = run_checkpoint("erp_chart", run_name="sound")
    assert summary["success"]
    assert [s["suite"] for s in summary["suites"]] == ["gl_accounts", "expense_categories", "cost_centers"]


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        ("UPDATE mdm.gl_account SET account_class = NULL WHERE code = '660201'", "Valid type"),
        ("UPDATE mdm.gl_account SET postable = true WHERE code = '6602'", "Postable leaves"),
        ("UPDATE mdm.gl_account SET parent_code = '9999' WHERE code = '660202'", "Parent exists"),
        ("UPDATE mdm.expense_category SET gl_account_code = '9999' WHERE code = '03'", "names a GL account"),
        ("UPDATE mdm.gl_account SET active = false WHERE code = '660201'", "in force maps to an active, postable"),
        ("UPDATE mdm.cost_center SET valid_to = '2019-12-31' WHERE code = 'CC0101'", "Valid dates"),
        ("UPDATE mdm.cost_center SET owner_unit = 'D99' WHERE code = 'CC01'", "Owner unit exists"),
        ("UPDATE mdm.cost_center SET parent_code = 'CC99' WHERE code = 'CC0101'", "names a cost center"),
    ],
)
def test_a_broken_chart_fails_and_names_the_rule(mdm, monkeypatch, tmp_path, damage, expected):
    monkeypatch.setenv("EXPENSE_SYNC_GX_RESULTS_DIR", str(tmp_path))
    seed(mdm)
    mdm.execute(damage)
    with pytest.raises(DataHealthCheckFailed) as caught:
        run_checkpoint("erp_chart", run_name="broken")
    assert expected in str(caught.value)
    assert all(f["error"] is None for f in caught.value.failures), "an expectation errored instead of judging"


def test_a_suspended_or_inactive_category_does_not_fail_the_check(mdm, monkeypatch, tmp_path):
    monkeypatch.setenv("EXPENSE_SYNC_GX_RESULTS_DIR", str(tmp_path))
    seed(mdm)
    mdm.execute("UPDATE mdm.gl_account SET active = false WHERE code = '660201'")
    mdm.execute("UPDATE mdm.category_fee_type SET state = 'suspended'")  # what reconcile_categories does
    mdm.execute("UPDATE mdm.cost_center SET active = false, owner_unit = 'gone' WHERE code = 'CC01'")
    assert run_checkpoint("erp_chart", run_name="suspended")["success"]
