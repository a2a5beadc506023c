"""approval_events end to end, for DingTalk and WeCom: a 合思 application (申请单) waiting at the E-Bot
node becomes one OA approval instance with the approval matrix's nodes, the approvers decide in the
OA, and the decision reaches 合思 once; over budget adds 总监; bad input (an approver the OA does not
know, a chain nobody holds, a budget the ERP forbids, the OA refusing the instance) is queued with a
reason and never approved; a create whose answer was lost is adopted, never made twice; an approver
who leaves mid-flow has their task handed over (DingTalk) or queued for a person (WeCom)."""

from __future__ import annotations

import datetime as dt

import pytest

from claimkit import claimant, cost_centers, mapped_fee_types, prepare_world, run_ok
from expense_sync.store.inbox import InboundEvent
from expense_sync.store.inbox import insert as inbox_insert
from testkit import run_dag

DAG, MATRIX, ERP = "approval_events", "approval_matrix_sync", "kingdee"
CREATE = {"dingtalk": "/v1.0/workflow/processInstances", "wecom": "/cgi-bin/oa/applyevent"}
CHINA = dt.timezone(dt.timedelta(hours=8))


def world(dagbag, mdm, sandboxes, monkeypatch, oa: str) -> dict:
    """Org and chart synced, the first cost center held by two real people, the matrix derived; the
    applicant is someone with a manager who holds no role there."""
    prepare_world(dagbag, mdm, sandboxes, monkeypatch, ERP, oa=oa)
    center = cost_centers(mdm)[0]
    people = [
        r[0]
        for r in mdm.execute("SELECT employee_no FROM mdm.employee WHERE active AND manager_employee_no IS NOT NULL")
    ]
    people.sort()
    applicant = next(p for p in people if p != claimant(mdm, 0)) if people else None
    assert applicant, "the org sync gave nobody a manager"
    manager = mdm.execute(
        "SELECT manager_employee_no FROM mdm.employee WHERE employee_no = %s", (applicant,)
    ).fetchone()[0]
    others = [p for p in people if p not in (applicant, manager)]
    controller, owner = others[0], others[1]
    sandboxes.control(ERP).mutate("set_cost_center_holders", cost_center=center, owner=owner,
                                  budget_controller=controller)  # fmt: skip
    run_ok(dagbag, MATRIX)
    return {"center": center, "applicant": applicant, "manager": manager, "controller": controller, "owner": owner,
            "spare": others[2]}  # fmt: skip


def apply(sandboxes, mdm, w: dict, amount: str = "3200.00") -> str:
    lines = [{"fee_type_code": mapped_fee_types(mdm)[0], "amount": amount, "cost_center": w["center"]}]
    flow = sandboxes.control("ekuaibao").mutate("seed_application", staff_code=w["applicant"], lines=lines,
                                                via_ebot=True, title="北京出差申请")  # fmt: skip
    return flow["form"]["code"]


def flow(mdm, code: str) -> dict:
    cur = mdm.execute("SELECT * FROM fin.approval_flow WHERE doc_code = %s ORDER BY approval_id DESC LIMIT 1", (code,))
    row = cur.fetchone()
    assert row is not None, f"no approval flow for {code}"
    return dict(zip([c.name for c in cur.description], row, strict=True))


def oa_user(mdm, oa: str, employee_no: str) -> str:
    return mdm.execute(
        "SELECT x.external_id FROM mdm.crosswalk x JOIN mdm.employee e ON e.employee_id = x.canonical_id "
        "WHERE x.entity = 'employee' AND x.system = %s AND e.employee_no = %s",
        (oa, employee_no),
    ).fetchone()[0]


def document(sandboxes, code: str) -> dict:
    return next(f for f in sandboxes.control("ekuaibao").state()["flows"] if f["form"]["code"] == code)


def items(mdm) -> dict[str, tuple[str, str]]:
    rows = mdm.execute(
        "SELECT record_key, kind, reason_code FROM sync.exception_item "
        "WHERE entity = 'approval' AND status <> 'resolved'"
    ).fetchall()
    return {key: (kind, reason) for key, kind, reason in rows}


def comments(sandboxes, code: str) -> list[str]:
    """The comments on a 合思 document (its log's freeflow.comment entries)."""
    logs = document(sandboxes, code)["logs"]
    return [e["attributes"]["comment"] for e in logs if e["action"] == "freeflow.comment"]


def creates(sandboxes, oa: str) -> int:
    return sandboxes.control(oa).stats()["calls"].get(f"POST {CREATE[oa]}", 0)


@pytest.mark.parametrize("oa", ["dingtalk", "wecom"])
def test_an_application_is_approved_in_the_oa_with_the_matrix_nodes_and_the_decision_reaches_heisi_once(
    dagbag, mdm, sandboxes, monkeypatch, oa
):
    w = world(dagbag, mdm, sandboxes, monkeypatch, oa)
    code = apply(sandboxes, mdm, w)

    run_ok(dagbag, DAG)
    f = flow(mdm, code)
    assert f["state"] == "running" and f["instance_id"] and f["kind"] == "requisition"
    assert [(n["role"], n["approvers"]) for n in f["nodes"] if "role" in n] == [
        ("主管", [w["manager"]]),
        ("财务", [w["controller"]]),
    ]
    assert mdm.execute(
        "SELECT result FROM fin.budget_check WHERE subject_key = %s", (f["business_key"],)
    ).fetchall() == [("within",)]
    control = sandboxes.control(oa)
    control.mutate("decide_task", instance_id=f["instance_id"], approver=oa_user(mdm, oa, w["manager"]), result="agree",
                   comment="同意")  # fmt: skip
    run_ok(dagbag, DAG)
    assert flow(mdm, code)["state"] == "running", "one node of two decided"
    assert document(sandboxes, code)["state"] == "approving"

    control.mutate("decide_task", instance_id=f["instance_id"], approver=oa_user(mdm, oa, w["controller"]),
                   result="agree", comment="预算内，同意")  # fmt: skip
    # the OA's callback as the receiver stores it, and one about an approval that is not ours
    for n, subject in enumerate((f["instance_id"], "someone-elses-approval")):
        inbox_insert(mdm, InboundEvent(source=oa, dedup_key=f"cb{n}", event_type="finish", subject=subject,
                                       payload_json="{}"))  # fmt: skip
    run_ok(dagbag, DAG, catch_up=False)  # the callback alone brings the decision
    assert dict(mdm.execute("SELECT subject, status FROM sync.event_inbox WHERE source = %s", (oa,)).fetchall()) == {
        f["instance_id"]: "processed",
        "someone-elses-approval": "ignored",
    }
    f = flow(mdm, code)
    assert (f["state"], f["decision"]) == ("applied", "accept")
    assert document(sandboxes, code)["state"] == "paid", "合思 took the OA's approval"
    calls = sandboxes.control("ekuaibao").state()["ebotCalls"]

    run_ok(dagbag, DAG)  # nothing left to do: no second instance, no second decision
    assert creates(sandboxes, oa) == 1
    assert sandboxes.control("ekuaibao").state()["ebotCalls"] == calls
    assert items(mdm) == {}


def test_bad_input_is_held_with_a_reason_and_never_approved(dagbag, mdm, sandboxes, monkeypatch):
    w = world(dagbag, mdm, sandboxes, monkeypatch, "dingtalk")
    period = dt.datetime.now(CHINA).strftime("%Y-%m")
    erp = sandboxes.control(ERP)

    # over a budget the ERP only warns about: the application gets a 总监 node
    erp.mutate("seed_budget", company="001", cost_center=w["center"], period=period, amount="1000", control="warn")
    warned = apply(sandboxes, mdm, w, amount="3200.00")
    run_ok(dagbag, DAG)
    f = flow(mdm, warned)
    assert f["over_budget"] and [n["role"] for n in f["nodes"] if "role" in n] == ["主管", "财务", "总监"]

    # over a budget the ERP forbids: held, no OA instance
    erp.mutate("seed_budget", company="001", cost_center=w["center"], period=period, amount="1000", control="forbid")
    forbidden = apply(sandboxes, mdm, w, amount="5000.00")
    before = creates(sandboxes, "dingtalk")
    run_ok(dagbag, DAG)
    assert flow(mdm, forbidden)["state"] == "held" and flow(mdm, forbidden)["instance_id"] is None
    assert items(mdm)[forbidden] == ("quarantine", "over_budget")
    assert creates(sandboxes, "dingtalk") == before

    # nobody holds 财务 for the cost center any more: the chain is incomplete
    erp.mutate("seed_budget", company="001", cost_center=w["center"], period=period, amount="999999", control="forbid")
    erp.mutate("set_cost_center_holders", cost_center=w["center"], owner=w["owner"], budget_controller=None)
    run_dag(dagbag, MATRIX)  # its health check fails on the hole (expected): the matrix in force has it
    orphan = apply(sandboxes, mdm, w, amount="800.00")
    run_ok(dagbag, DAG)
    assert items(mdm)[orphan] == ("quarantine", "approval_chain_missing")
    assert flow(mdm, orphan)["instance_id"] is None

    # an approver the OA does not know: held, no OA instance
    erp.mutate("set_cost_center_holders", cost_center=w["center"], owner=w["owner"], budget_controller=w["controller"])
    run_ok(dagbag, MATRIX)
    mdm.execute(
        "DELETE FROM mdm.crosswalk WHERE entity = 'employee' AND system = 'dingtalk' AND canonical_id = "
        "(SELECT employee_id FROM mdm.employee WHERE employee_no = %s)",
        (w["controller"],),
    )
    unknown = apply(sandboxes, mdm, w, amount="700.00")
    run_ok(dagbag, DAG)
    assert items(mdm)[unknown] == ("quarantine", "approver_not_in_oa")

    for code in (forbidden, orphan, unknown):
        assert document(sandboxes, code)["state"] == "approving", "nothing is decided for a held document"


def test_a_lost_answer_is_adopted_a_refusal_in_the_oa_reaches_heisi_and_the_oa_refusing_holds(
    dagbag, mdm, sandboxes, monkeypatch
):
    w = world(dagbag, mdm, sandboxes, monkeypatch, "dingtalk")
    control = sandboxes.control("dingtalk")

    control.faults({"kind": "slow_commit", "every": 1, "limit": 1, "delay": 2.5, "paths": [CREATE["dingtalk"]]})
    lost = apply(sandboxes, mdm, w)
    state, _ = run_dag(dagbag, DAG)  # the create committed, its answer was lost: the retry adopts it
    assert state == "success"
    assert flow(mdm, lost)["state"] == "running" and creates(sandboxes, "dingtalk") == 1  # adopted, not re-sent

    # the 主管 refuses in DingTalk: 合思 refuses, with the approver's remark
    control.mutate("decide_task", instance_id=flow(mdm, lost)["instance_id"], approver=oa_user(mdm, "dingtalk",
                   w["manager"]), result="refuse", comment="行程不必要")  # fmt: skip
    run_ok(dagbag, DAG)
    f = flow(mdm, lost)
    assert (f["state"], f["decision"], f["comment"]) == ("applied", "refuse", "行程不必要")
    assert document(sandboxes, lost)["state"] == "rejected"

    # the 财务 approver left DingTalk since the last org sync: DingTalk refuses the instance
    control.mutate("leave", userid=oa_user(mdm, "dingtalk", w["controller"]))
    refused = apply(sandboxes, mdm, w)
    run_ok(dagbag, DAG)
    assert items(mdm)[refused] == ("quarantine", "oa_refused_instance")
    assert flow(mdm, refused)["state"] == "held"
    assert (
        "审批实例参数错误"
        in mdm.execute("SELECT reason FROM sync.exception_item WHERE record_key = %s", (refused,)).fetchone()[0]
    )
    run_ok(dagbag, DAG)  # not asked again until a person resolves the item
    assert creates(sandboxes, "dingtalk") == 2
    assert document(sandboxes, refused)["state"] == "approving"


@pytest.mark.parametrize("oa", ["dingtalk", "wecom"])
def test_an_approver_who_leaves_mid_flow_is_replaced(dagbag, mdm, sandboxes, monkeypatch, oa):
    w = world(dagbag, mdm, sandboxes, monkeypatch, oa)
    code = apply(sandboxes, mdm, w)
    run_ok(dagbag, DAG)
    f = flow(mdm, code)
    control = sandboxes.control(oa)
    control.mutate("decide_task", instance_id=f["instance_id"], approver=oa_user(mdm, oa, w["manager"]), result="agree",
                   comment="同意")  # fmt: skip
    successor = w["spare"]  # the ERP names another budget controller for the cost center
    sandboxes.control(ERP).mutate("set_cost_center_holders", cost_center=w["center"], owner=w["owner"],
                                  budget_controller=successor)  # fmt: skip
    run_ok(dagbag, MATRIX)
    run_ok(dagbag, DAG)
    rows = mdm.execute(
        "SELECT role, from_user, to_user, reason, outcome FROM fin.approval_reassignment ORDER BY reassignment_id"
    ).fetchall()
    old, new = oa_user(mdm, oa, w["controller"]), oa_user(mdm, oa, successor)
    told = [c for c in comments(sandboxes, code) if "审批人变更（财务，审批矩阵已变更）" in c]
    assert len(told) == 1 and f"{old} → {new}" in told[0], "合思 is told once"
    run_ok(dagbag, DAG)
    assert len([c for c in comments(sandboxes, code) if "审批人变更" in c]) == 1, "and only once"
    if oa == "dingtalk":
        assert rows == [("财务", old, new, "matrix_changed", "transferred")]
        assert "已转交" in told[0]
        control.mutate("decide_task", instance_id=f["instance_id"], approver=new, result="agree", comment="同意")
        run_ok(dagbag, DAG)
        assert flow(mdm, code)["state"] == "applied"
    else:  # WeCom has no API to hand a task over: a person does it in the OA
        assert rows == [("财务", old, new, "matrix_changed", "unsupported")]
        assert items(mdm)[code] == ("quarantine", "reassign_by_hand")
        assert "请在 OA 中转交" in told[0]
