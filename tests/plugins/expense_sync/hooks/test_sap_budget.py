"""The SAP hook's budget center against its sandbox over OData: plan data of the budget category
(whole cost center, by WBS element, by G/L account), an unknown cost center, a posted journal entry
lowering the balance, owners from A_CostCenter as 工号 of the OA sandboxes' people, the budget
controller from the extras, and a server fault retried."""

import datetime as dt
import json
import os
from decimal import Decimal

import pytest

from expense_sync.erp.budget import BudgetKey
from expense_sync.erp.model import Voucher, VoucherLine
from expense_sync.hooks.registry import erp_hook
from expense_sync.hooks.sap import SapHook
from expense_sync_sandboxes.budgetcenter import org_people

CENTER = "1000000001"
MAY = "2024-05"


@pytest.fixture
def sap(sandboxes):
    return sandboxes.control("sap")


def connect(monkeypatch, **extra) -> SapHook:
    conn = json.loads(os.environ["AIRFLOW_CONN_ERP_SAP"])
    conn["extra"].update(extra)
    monkeypatch.setenv("AIRFLOW_CONN_ERP_SAP", json.dumps(conn))
    return SapHook()


def claim(ref: str, amount: str, *, account="6602010000", project=None, day=dt.date(2024, 5, 20)) -> Voucher:
    value = Decimal(amount)
    return Voucher(
        external_ref=ref,
        company="1000",
        posting_date=day,
        period=day.strftime("%Y-%m"),
        description="差旅报销",
        lines=(
            VoucherLine(account, debit=value, cost_center=CENTER, project=project, text=f"{ref} 报销"),
            VoucherLine("2241010000", credit=value, text=f"{ref} 应付"),
        ),
    )


def calls(control, fragment: str) -> int:
    return sum(n for key, n in control.stats()["calls"].items() if fragment in key)


def test_seeded_budget_of_the_current_month(sap):
    period = dt.date.today().strftime("%Y-%m")
    balance = erp_hook("sap").budget_balance(BudgetKey("1000", CENTER, period))
    assert balance is not None and balance.budget > 0 and balance.budget_period == period
    assert (balance.reserved, balance.control) == (0, "warn")
    assert balance.source == "SAP A_FinPlanningEntryItem BUDGET01 + A_JournalEntryItemBasic"
    assert calls(sap, "/API_FINPLANNINGENTRYITEM_SRV/A_FinPlanningEntryItem") == 1


def test_balance_by_cost_center_project_and_account(sap, monkeypatch):
    sap.mutate("seed_budget", company="1000", cost_center=CENTER, period=MAY, amount="50000")
    sap.mutate("seed_budget", company="1000", cost_center=CENTER, period=MAY, amount="8000", project="P100001")
    sap.mutate("seed_budget", company="1000", cost_center=CENTER, period=MAY, amount="3000", account="6602010000")
    hook = connect(monkeypatch, budget_control="forbid")
    whole = hook.budget_balance(BudgetKey("1000", CENTER, MAY))
    by_project = hook.budget_balance(BudgetKey("1000", CENTER, MAY, project="P100001"))
    by_account = hook.budget_balance(BudgetKey("1000", CENTER, MAY, account="6602010000"))
    assert (whole.budget, whole.available, whole.control) == (Decimal("50000"), Decimal("50000"), "forbid")
    assert (by_project.budget, by_account.budget) == (8000, 3000)
    assert hook.budget_balance(BudgetKey("1000", CENTER, MAY, project="P100002")) is None
    assert hook.budget_balance(BudgetKey("1000", "1000999999", MAY)) is None  # unknown cost center
    assert hook.budget_balance(BudgetKey("2000", CENTER, MAY)) is None  # another company code
    # another planning category (a plan, not the budget) finds nothing
    assert connect(monkeypatch, budget_planning_category="PLN").budget_balance(BudgetKey("1000", CENTER, MAY)) is None


def test_a_posted_entry_lowers_the_balance(sap):
    sap.mutate("seed_budget", company="1000", cost_center=CENTER, period=MAY, amount="10000")
    sap.mutate("seed_budget", company="1000", cost_center=CENTER, period=MAY, amount="2000", account="6602040000")
    hook = SapHook()
    hook.create_voucher(claim("BX-S-1", "1288.50"))
    hook.create_voucher(claim("BX-S-2", "35.50", account="6602040000", project="P100001"))
    hook.create_voucher(claim("BX-S-3", "99.00", day=dt.date(2024, 6, 3)))  # June leaves May alone
    whole = hook.budget_balance(BudgetKey("1000", CENTER, MAY))
    assert (whole.used, whole.available) == (Decimal("1324.00"), Decimal("8676.00"))  # the leading ledger once
    by_account = hook.budget_balance(BudgetKey("1000", CENTER, MAY, account="6602040000"))
    assert (by_account.used, by_account.available) == (Decimal("35.50"), Decimal("1964.50"))


def test_holders_are_the_responsible_users(sap, monkeypatch):
    owners, _ = org_people(1, departments=12, employees=60)  # the org the sandboxes fixture resets
    holders = {h.cost_center: h for h in SapHook().cost_center_holders()}
    assert CENTER in holders and "2000000004" not in holders  # blocked for primary costs
    assert all(h.owner in owners and h.budget_controller is None for h in holders.values())
    assert holders[CENTER].company == "1000"
    sap.mutate("set_cost_center_holders", cost_center=CENTER, owner="E0000042", budget_controller="E0000043")
    hook = connect(monkeypatch, budget_controller="E0000100", budget_controllers={CENTER: "E0000101"})
    changed = {h.cost_center: h for h in hook.cost_center_holders()}
    assert (changed[CENTER].owner, changed[CENTER].budget_controller) == ("E0000042", "E0000101")
    assert {h.budget_controller for c, h in changed.items() if c != CENTER} == {"E0000100"}


def test_a_server_fault_is_retried(sap):
    sap.mutate("seed_budget", company="1000", cost_center=CENTER, period=MAY, amount="900")
    sap.faults({"kind": "5xx", "every": 2})
    hook = SapHook()
    assert hook.budget_balance(BudgetKey("1000", CENTER, MAY)).budget == 900
    assert len(list(hook.cost_center_holders())) >= 10
    assert sap.stats()["faults_fired"]["5xx"] >= 2
