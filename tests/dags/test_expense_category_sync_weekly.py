"""expense_category_sync_weekly end to end, with dag.test(), for each ERP with the same test bodies:
the ERP and 合思 sandboxes over HTTP, a real PostgreSQL, and conflicts answered in Airflow's UI way.
"""

import json

import psycopg
import pytest

from chartkit import (
    DAG,
    ERPS,
    REASON,
    ErpWorld,
    NobodyAnswers,
    Responder,
    canonical_items,
    chart_state,
    chart_writes,
    enable_ui_login,
    expense_items,
    open_conflicts,
    seed_org_units,
)
from expense_sync.chart import DEFER, KEEP_EXPENSE, TAKE_ERP
from expense_sync.erp.masters import valid_credit_code
from expense_sync_sandboxes.masters import INVALID_SUPPLIER, SUPPLIERS, TAX_RATES
from testkit import run_dag, step_counts, write_calls


@pytest.fixture(params=ERPS)
def erp(request, sandboxes, mdm, monkeypatch, tmp_path):
    monkeypatch.setenv("AIRFLOW_VAR_EXPENSE_SYNC_ERP_VENDOR", request.param)
    enable_ui_login(monkeypatch, tmp_path)
    seed_org_units(mdm, request.param)
    return ErpWorld(request.param, sandboxes)


def assert_expense_matches_canonical(mdm, sandboxes, entity):
    expense = expense_items(sandboxes, entity)
    canonical = canonical_items(mdm, entity)
    assert {c: v for c, v in expense.items() if c in canonical} == {
        c: v for c, v in canonical.items() if v["active"] or c in expense
    }


def test_first_sync_then_a_quiet_week(dagbag, mdm, sandboxes, erp):
    invalid = INVALID_SUPPLIER
    erp.control.mutate(
        "add_supplier",
        code=invalid.code,
        name=invalid.name,
        credit_code=invalid.credit_code,
        bank_name=invalid.bank_name,
        bank_account=invalid.bank_account,
    )
    state, tasks = run_dag(dagbag, DAG)
    assert state == "success", tasks
    assert tasks["ask_for_decisions"] == "skipped"  # nothing to ask: the run does not wait
    merge = step_counts(mdm, "merge")
    assert all(merge[e]["created"] > 0 and merge[e]["quarantined"] == 0 for e in merge), merge
    for entity in ("cost_center", "project"):
        assert_expense_matches_canonical(mdm, sandboxes, entity)
    mapped = dict(mdm.execute("SELECT state, count(*) FROM mdm.category_fee_type GROUP BY state").fetchall())
    assert mapped["mapped"] > 0 and "unmapped" not in mapped and "suspended" not in mapped, mapped
    assert open_conflicts(mdm) == {}
    assert_erp_masters_arrived(mdm, erp.vendor)

    before, last_write = write_calls(sandboxes), chart_writes(mdm)
    state, tasks = run_dag(dagbag, DAG)
    assert state == "success", tasks
    assert write_calls(sandboxes) == before, "a quiet week writes nothing to 合思"
    assert chart_writes(mdm) == last_write, "a quiet week writes nothing to the canonical chart"
    merge = step_counts(mdm, "merge")
    assert all(merge[e]["created"] == merge[e]["updated"] == merge[e]["deactivated"] == 0 for e in merge), merge
    masters = step_counts(mdm, "masters")["merged"]
    assert all(m["created"] == m["updated"] == m["deactivated"] == 0 for m in masters.values()), masters


def assert_erp_masters_arrived(mdm, vendor):
    """The ERP's suppliers and tax codes in the middle platform after a run: every seeded one, the
    disabled supplier inactive, the one with an invalid credit code (added before the run) loaded,
    flagged and queued."""
    merged = step_counts(mdm, "masters")["merged"]
    assert merged["supplier"]["created"] == len(SUPPLIERS) + 1 and merged["supplier"]["quarantined"] == 1, merged
    assert merged["tax_code"]["created"] == len(TAX_RATES), merged
    suppliers = {
        name: (active, valid, system)
        for name, active, valid, system in mdm.execute(
            "SELECT name, active, credit_code_valid, source_system FROM mdm.supplier"
        ).fetchall()
    }
    assert {system for _, _, system in suppliers.values()} == {vendor}
    disabled = next(s for s in SUPPLIERS if not s.active)
    invalid = INVALID_SUPPLIER
    assert not valid_credit_code(invalid.credit_code)
    assert suppliers[disabled.name][0] is False
    assert suppliers[invalid.name] == (True, False, vendor)
    assert sum(valid for _, valid, _ in suppliers.values()) == len(SUPPLIERS)
    queued = mdm.execute(
        "SELECT i.kind, i.entity, i.status, i.reason, s.name FROM sync.exception_item i"
        " JOIN mdm.supplier s ON s.code = i.record_key WHERE i.reason_code = 'supplier_credit_code_invalid'"
    ).fetchall()
    assert [(k, e, st, n) for k, e, st, _, n in queued] == [("quarantine", "supplier", "open", invalid.name)]
    assert invalid.credit_code in queued[0][3]
    rates = mdm.execute("SELECT rate, exempt FROM mdm.tax_code ORDER BY rate NULLS LAST").fetchall()
    assert rates[0] == (0, False) and rates[-2][0] * 100 == 13 and rates[-1] == (None, True)


def some_mapped_gl_account(mdm) -> str:
    return mdm.execute(
        "SELECT c.gl_account_code FROM mdm.expense_category c JOIN mdm.category_fee_type m USING (expense_category_id) "
        "WHERE m.state = 'mapped' ORDER BY c.code LIMIT 1"
    ).fetchone()[0]


def decided(mdm, entity, key):
    return mdm.execute(
        "SELECT i.status, i.decision, i.decided_by, i.decided_at, e.actor, e.action, e.detail "
        "FROM sync.exception_item i JOIN sync.exception_event e USING (item_id) "
        "WHERE i.entity = %s AND i.record_key = %s AND e.action IN ('decided', 'deferred') ORDER BY e.event_id",
        (entity, key),
    ).fetchall()


def test_a_week_of_changes_on_both_sides_is_decided_in_the_airflow_ui(dagbag, mdm, sandboxes, erp):
    assert run_dag(dagbag, DAG)[0] == "success"
    cost_centers = sorted(c for c, v in canonical_items(mdm, "cost_center").items() if v["active"])
    project = sorted(c for c, v in canonical_items(mdm, "project").items() if v["active"])[0]
    renamed, both, edited = cost_centers[:3]
    new_category = erp.new_code("expense_category")
    ekb = sandboxes.control("ekuaibao")
    erp.rename_cost_center(renamed, "ERP改名中心")  # the ERP alone
    erp.rename_cost_center(both, "ERP新名称")  # both sides ...
    ekb.mutate("edit_item", dimension="成本中心", code=both, name="合思手改名称")
    erp.close_project(project)  # ... and both sides again
    ekb.mutate("edit_item", dimension="项目", code=project, name="合思手改项目")
    ekb.mutate("edit_item", dimension="成本中心", code=edited, name="合思误改")  # 合思 alone
    erp.add_expense_category(new_category, "新增费用项目", some_mapped_gl_account(mdm))  # no fee type has its code
    edited_name = canonical_items(mdm, "cost_center")[edited]["name"]

    choices = {both: TAKE_ERP, project: KEEP_EXPENSE, new_category: DEFER}
    with Responder(lambda subject, body: next(o for c, o in choices.items() if f" {c}:" in subject), expected=3) as li:
        state, tasks = run_dag(dagbag, DAG)
    assert li.errors == [] and state == "success", (li.errors, tasks)
    assert sorted(a["option"] for a in li.answered) == sorted(choices.values())
    assert li.refused_others == [403, 403, 403]  # only the deciders Variable expense_sync_deciders names

    reasons = dict(
        mdm.execute(
            "SELECT entity || ':' || record_key, reason_code FROM sync.exception_item WHERE kind = 'conflict'"
        ).fetchall()
    )
    assert reasons == {
        f"cost_center:{both}": "changed_both_sides",
        f"project:{project}": "changed_both_sides",
        f"expense_category:{new_category}": "no_fee_type",
        f"cost_center:{edited}": "expense_side_edited",
    }
    cost_center_items, project_items = expense_items(sandboxes, "cost_center"), expense_items(sandboxes, "project")
    assert cost_center_items[renamed]["name"] == "ERP改名中心"
    assert cost_center_items[both]["name"] == "ERP新名称"  # Take ERP value: written to 合思
    assert project_items[project] == {**project_items[project], "name": "合思手改项目", "active": True}  # kept
    assert cost_center_items[edited]["name"] == edited_name  # restored, and the overwrite recorded:
    assert decided(mdm, "cost_center", edited) == []
    assert mdm.execute(
        "SELECT status, decision, decided_by FROM sync.exception_item WHERE record_key = %s", (edited,)
    ).fetchone() == ("resolved", "take_erp", "system")

    answered_at = {a["subject"].split(" ")[1].rstrip(":"): a["responded_at"] for a in li.answered}
    for entity, key, decision in (("cost_center", both, "take_erp"), ("project", project, "keep_expense")):
        ((status, made, by, at, actor, action, detail),) = decided(mdm, entity, key)
        assert (status, made, by, actor, action) == ("resolved", decision, "li.na", "li.na", "decided")
        assert at.isoformat().replace("+00:00", "Z") == answered_at[key]  # when the person answered
        assert detail["option"] == choices[key] and detail["user_id"] == "li.na" and not detail["timed_out"]
        assert detail["note"] == detail["reason"] == REASON  # why, for the auditors
    ((status, _, _, _, actor, action, detail),) = decided(mdm, "expense_category", new_category)
    assert (status, actor, action, detail["option"]) == ("deferred", "li.na", "deferred", DEFER)
    assert step_counts(mdm, "decisions")["answers"] == {"take_erp": 1, "keep_expense": 1, "deferred": 1}

    before, last_write = write_calls(sandboxes), chart_writes(mdm)
    state, tasks = run_dag(dagbag, DAG)  # nothing changed: nothing asked, nothing written
    assert state == "success" and tasks["ask_for_decisions"] == "skipped", tasks
    assert write_calls(sandboxes) == before and chart_writes(mdm) == last_write
    assert expense_items(sandboxes, "project")[project]["name"] == "合思手改项目"  # the decision stands
    assert open_conflicts(mdm) == {("expense_category", new_category): ("no_fee_type", "deferred")}

    ekb.mutate("add_fee_type", code=new_category, name="新增费用项目")  # a 合思 admin adds the fee type
    assert run_dag(dagbag, DAG)[0] == "success"
    assert open_conflicts(mdm) == {}
    assert mdm.execute(
        "SELECT m.state, m.provenance FROM mdm.category_fee_type m JOIN mdm.expense_category c "
        "USING (expense_category_id) WHERE c.code = %s",
        (new_category,),
    ).fetchone() == ("mapped", "auto_code")


def category_states(mdm) -> dict[str, tuple[str, str | None]]:
    return dict(
        (code, (state, provenance))
        for code, state, provenance in mdm.execute(
            "SELECT c.code, m.state, m.provenance FROM mdm.category_fee_type m JOIN mdm.expense_category c "
            "USING (expense_category_id)"
        ).fetchall()
    )


# SAP has no expense-item master: its expense categories are G/L accounts posting to themselves, so a
# category can never point at another, unusable account there.
@pytest.mark.parametrize("erp", ["kingdee", "yonyou"], indirect=True)
def test_fee_types_on_unusable_gl_accounts_are_asked_about_and_the_answers_stand(dagbag, mdm, sandboxes, erp):
    assert run_dag(dagbag, DAG)[0] == "success"
    by_account: dict[str, list[str]] = {}
    for code, account in mdm.execute(
        "SELECT code, gl_account_code FROM mdm.expense_category WHERE active ORDER BY code"
    ).fetchall():
        by_account.setdefault(account, []).append(code)
    blocked, parent = sorted(by_account)[:2]
    erp.block_gl_account(blocked)  # inactive in the ERP
    erp.add_sub_account(parent, "新增明细")  # no longer a postable leaf
    kept = by_account[blocked][0]
    with Responder(lambda s, b: KEEP_EXPENSE if f" {kept}:" in s else TAKE_ERP, expected=len(by_account[blocked]) +
                   len(by_account[parent])) as li:  # fmt: skip
        state, tasks = run_dag(dagbag, DAG)
    assert li.errors == [] and state == "success", (li.errors, tasks)
    assert tasks["check_chart_health"] == "success"  # a suspended mapping is not in force: nothing to block
    reasons = dict(
        mdm.execute("SELECT record_key, reason_code FROM sync.exception_item WHERE kind = 'conflict'").fetchall()
    )
    assert reasons == {code: "fee_type_gl_inactive" for code in by_account[blocked]} | {
        code: "fee_type_gl_not_postable" for code in by_account[parent]
    }
    states = category_states(mdm)
    assert states[kept] == ("kept", "human")
    assert all(states[c] == ("suspended", "human") for c in by_account[blocked] + by_account[parent] if c != kept)

    state, tasks = run_dag(dagbag, DAG)  # the decisions stand: nothing asked
    assert state == "success" and tasks["ask_for_decisions"] == "skipped", tasks
    assert category_states(mdm) == states

    erp.unblock_gl_account(blocked)  # the ERP side changes again: judged afresh, mapped by code
    assert run_dag(dagbag, DAG)[0] == "success"
    assert all(category_states(mdm)[c] == ("mapped", "auto_code") for c in by_account[blocked])


@pytest.mark.parametrize("erp", ["sap"], indirect=True)
def test_an_unanswered_question_defaults_to_defer(dagbag, mdm, sandboxes, erp):
    assert run_dag(dagbag, DAG)[0] == "success"
    code = erp.new_code("expense_category")
    erp.add_expense_category(code, "新增费用项目", some_mapped_gl_account(mdm))
    with NobodyAnswers(expected=1) as clock:
        state, tasks = run_dag(dagbag, DAG)
    assert clock.errors == [] and state == "success", (clock.errors, tasks)
    ((status, _, by, _, actor, action, detail),) = decided(mdm, "expense_category", code)
    assert (status, by, actor, action) == ("deferred", None, "airflow:timeout", "deferred")
    assert detail["option"] == DEFER and detail["timed_out"] is True


# Kingdee's cost centers are departments: they name no owner unit of their own.
@pytest.mark.parametrize("erp", ["yonyou", "sap"], indirect=True)
def test_a_failing_health_check_blocks_the_push(dagbag, mdm, sandboxes, erp):
    assert run_dag(dagbag, DAG)[0] == "success"
    erp.add_cost_center(erp.new_code("cost_center"), "新成本中心", owner_unit="D999")  # the org master has no D999
    erp.rename_cost_center(sorted(canonical_items(mdm, "cost_center"))[0], "改名待推送")
    before = write_calls(sandboxes)
    state, tasks = run_dag(dagbag, DAG)
    assert state == "failed"
    assert tasks["check_chart_health"] == "failed" and tasks["push_dimensions"] == "upstream_failed"
    assert write_calls(sandboxes) == before
    check = step_counts(mdm, "check:erp_chart")
    assert check["success"] is False and "Owner unit exists" in json.dumps(check["failures"], ensure_ascii=False)


BATCH_CREATE = "/api/openapi/v1.1/dimensions/items/batch"
FAULTS = {
    "erp": [
        {"kind": "5xx", "every": 5},
        {"kind": "throttle", "every": 4},
        {"kind": "token_expired", "every": 7},
        {"kind": "timeout", "every": 9, "delay": 2.5},
    ],
    "ekuaibao": [
        {"kind": "5xx", "every": 4, "methods": ["GET"]},
        {"kind": "throttle", "every": 3},
        {"kind": "html_throttle", "every": 9},
        {"kind": "token_expired", "every": 6},
        {
            "kind": "slow_commit",
            "every": 1,
            "limit": 2,
            "delay": 2.5,
            "paths": ["/api/openapi/v1.1/dimensions/items/batch"],
        },
        {"kind": "timeout", "every": 2, "limit": 2, "delay": 2.5, "methods": ["PUT"]},
    ],
}


def test_faults_mid_run_end_exactly_like_a_clean_run(dagbag, mdm, sandboxes, erp, pg_server, mdm_template, monkeypatch):
    ekb = sandboxes.control("ekuaibao")

    def two_weeks():
        assert run_dag(dagbag, DAG)[0] == "success"
        cost_centers = sorted(canonical_items(mdm_now(), "cost_center"))
        erp.rename_cost_center(cost_centers[0], "ERP改名中心")
        erp.close_project(sorted(canonical_items(mdm_now(), "project"))[0])
        ekb.mutate("edit_item", dimension="成本中心", code=cost_centers[1], name="合思误改")
        assert run_dag(dagbag, DAG)[0] == "success"

    conns = [mdm]

    def mdm_now():
        return conns[-1]

    two_weeks()
    clean = (chart_state(mdm), expense_items(sandboxes, "cost_center"), expense_items(sandboxes, "project"))

    for vendor in (erp.vendor, "ekuaibao"):  # Retry-After: 0 keeps this test short
        sandboxes.control(vendor).reset(seed=1, retry_after=0)
    faulty_db = pg_server.create_database("expense_sync_chart_faults", template=mdm_template)
    monkeypatch.setenv("AIRFLOW_CONN_MDM_POSTGRES", pg_server.url(faulty_db))
    try:
        with psycopg.connect(pg_server.url(faulty_db), autocommit=True) as faulty:
            conns.append(faulty)
            seed_org_units(faulty, erp.vendor)
            erp.control.faults(*FAULTS["erp"], seed=7)
            ekb.faults(*FAULTS["ekuaibao"], seed=7)
            two_weeks()
            fired = {"erp": erp.control.stats()["faults_fired"], "ekuaibao": ekb.stats()["faults_fired"]}
            erp.control.faults()
            ekb.faults()
            faulty_state = chart_state(faulty)
    finally:
        pg_server.drop_database(faulty_db)
    assert (faulty_state, expense_items(sandboxes, "cost_center"), expense_items(sandboxes, "project")) == clean
    assert all(fired["erp"].get(k) for k in ("5xx", "throttle", "token_expired", "timeout")), fired
    assert all(fired["ekuaibao"].get(k) for k in ("5xx", "throttle", "html_throttle", "slow_commit", "timeout")), fired
    # both batch creates whose answer was lost had committed: only a look-up before any resend keeps
    # their items single (the counts of the attempt that adopted them may be lost with its failure)
    assert fired["ekuaibao"]["slow_commit"] == 2, fired
    codes = [i["code"] for i in ekb.state()["dimensionItems"] if i["active"]]
    assert len(codes) == len(set(codes)), "an item was created twice"


def test_switching_the_erp_is_configuration_only(dagbag, mdm, sandboxes, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_EXPENSE_SYNC_ERP_VENDOR", "kingdee")
    assert run_dag(dagbag, DAG)[0] == "success"
    before = {entity: set(canonical_items(mdm, entity)) for entity in ("cost_center", "project")}

    monkeypatch.setenv("AIRFLOW_VAR_EXPENSE_SYNC_ERP_VENDOR", "yonyou")  # the Variable, and nothing else
    seed_org_units(mdm, "yonyou")  # the org master knows Yonyou's departments
    state, tasks = run_dag(dagbag, DAG)
    assert state == "success", tasks
    for entity, kingdee_codes in before.items():
        canonical, expense = canonical_items(mdm, entity), expense_items(sandboxes, entity)
        yonyou_codes = set(canonical) - kingdee_codes
        assert yonyou_codes and all(canonical[c]["active"] and expense[c]["active"] for c in yonyou_codes)
        assert not any(canonical[c]["active"] or expense[c]["active"] for c in kingdee_codes)  # kept, inactive
    assert mdm.execute("SELECT DISTINCT source_system FROM mdm.cost_center WHERE active").fetchall() == [("yonyou",)]
