"""approvals/budget.py and the pure parts of approvals/route.py: the over-budget rule, what a verdict
says to a person, the role a task belongs to, an approval request read back from the ledger."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal

import pytest

from expense_sync.approvals.budget import OverBudgetRule, Verdict, over_budget_rule
from expense_sync.approvals.contract import ApprovalNode, ApprovalRequest, ApprovalTask
from expense_sync.approvals.route import request_from_state, role_of
from expense_sync.erp.budget import BudgetBalance, BudgetKey


def test_the_over_budget_rule_defaults_and_refuses_what_it_does_not_know():
    assert over_budget_rule("{}") == OverBudgetRule("add_director", "queue")
    assert over_budget_rule('{"requisition": "queue", "expense": "allow"}') == OverBudgetRule("queue", "allow")
    with pytest.raises(ValueError, match="over-budget rule"):
        over_budget_rule('{"expense": "add_director"}')
    with pytest.raises(ValueError, match="over-budget rule"):
        over_budget_rule('{"claims": "queue"}')


def test_a_verdict_shows_the_figures_it_was_made_on():
    key = BudgetKey("001", "CC-01", "2026-12", "PJ-7", "6602.01")
    balance = BudgetBalance(key, Decimal("10000"), Decimal("7000"), Decimal("1500"), "forbid", "2026Q4", "Kingdee BM")
    verdict = Verdict(key, Decimal("1200.00"), "over", balance, Decimal("400.00"), 1)
    assert balance.available == Decimal("1500")
    assert verdict.forbidden
    assert verdict.describe() == (
        "001/CC-01/PJ-7/6602.01 2026Q4: budget 10000 − used 7000 − reserved 1500 − ours 400.00 = 1100.00 "
        "available, this document 1200.00 (forbid control, Kingdee BM)"
    )
    warned = Verdict(key, Decimal("1200.00"), "over", dataclasses.replace(balance, control="warn"), Decimal(0), 2)
    assert warned.over and not warned.forbidden
    assert Verdict(key, Decimal(1), "unavailable", None, Decimal(0), 3).describe() == (
        "001/CC-01/PJ-7/6602.01 2026-12: unavailable"
    )


def test_a_task_belongs_to_the_node_the_oa_names_else_to_the_node_holding_its_approver():
    nodes = [
        {"role": "主管", "approvers": ["E1"], "oa_users": ["u1"]},
        {"role": "财务", "approvers": ["E2", "E3"], "oa_users": ["u2", "u3"]},
        {"originator": "u9", "department": "7"},
    ]
    assert role_of(nodes, ApprovalTask("t1", "u3", "pending")) == "财务"
    assert role_of(nodes, ApprovalTask("t2", "ux", "pending", node=0)) == "主管"
    assert role_of(nodes, ApprovalTask("t3", "ux", "pending")) is None


def test_a_request_survives_the_ledger_round_trip():
    request = ApprovalRequest(
        business_key="FLOW1:1733",
        title="出差申请 S001",
        originator="u9",
        department="7",
        nodes=(ApprovalNode("主管", ("u1",)), ApprovalNode("财务", ("u2", "u3"))),
        form=(("业务单号", "FLOW1:1733"), ("金额", "1636.50 CNY")),
    )
    stored = json.loads(json.dumps({"request": dataclasses.asdict(request)}))
    assert request_from_state(stored["request"]) == request
