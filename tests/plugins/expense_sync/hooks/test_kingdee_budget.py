"""The Kingdee hook's budget center against its sandbox over HTTP: a cost center's budget line (whole,
by project, by account), an unknown cost center, a voucher occupying then using the budget, the
holders as 工号 of the OA sandboxes' people, and a server fault retried."""

import datetime as dt
from decimal import Decimal

from expense_sync.erp.budget import BudgetKey, ErpBudget
from expense_sync.erp.model import Voucher, VoucherLine
from expense_sync.hooks.kingdee import KingdeeHook
from expense_sync.hooks.registry import erp_hook
from expense_sync_sandboxes.budgetcenter import org_people

QUERY = "POST /k3cloud/Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.ExecuteBillQuery.common.kdsvc"
CENTER = "BM000007"


def claim(ref: str, amount: str, *, account="6602.01", project=None, period="2025-03") -> Voucher:
    year, month = map(int, period.split("-"))
    value = Decimal(amount)
    return Voucher(
        external_ref=ref,
        company="001",
        posting_date=dt.date(year, month, 10),
        period=period,
        description=f"报销单 {ref}",
        lines=(
            VoucherLine(account, debit=value, cost_center=CENTER, project=project, text="差旅费报销"),
            VoucherLine("2241.01", credit=value, text="应付员工报销款"),
        ),
    )


def test_the_hook_answers_the_budget_contract(kingdee):
    hook = erp_hook("kingdee")
    assert isinstance(hook, KingdeeHook) and hook.vendor == "kingdee"
    assert {"budget_balance", "cost_center_holders"} <= set(ErpBudget.__dict__)
    assert callable(hook.budget_balance) and callable(hook.cost_center_holders)


def test_seeded_budget_of_the_current_month(kingdee):
    period = dt.date.today().strftime("%Y-%m")
    balance = KingdeeHook().budget_balance(BudgetKey("001", CENTER, period))
    assert balance is not None and balance.budget > 0
    assert (balance.used, balance.reserved, balance.control) == (0, 0, "forbid")
    assert (balance.budget_period, balance.source) == (period, "Kingdee BM_BudgetBalance")


def test_balance_by_cost_center_project_and_account(kingdee):
    kingdee.mutate("seed_budget", company="001", cost_center=CENTER, period="2025-03", amount="50000")
    kingdee.mutate(
        "seed_budget", company="001", cost_center=CENTER, period="2025-03", amount="8000", project="XM2024002",
        control="warn", reserved="500",
    )  # fmt: skip
    kingdee.mutate(
        "seed_budget", company="001", cost_center=CENTER, period="2025-03", amount="3000", account="6602.01",
        control="none",
    )  # fmt: skip
    hook = KingdeeHook()
    whole = hook.budget_balance(BudgetKey("001", CENTER, "2025-03"))
    by_project = hook.budget_balance(BudgetKey("001", CENTER, "2025-03", project="XM2024002"))
    by_account = hook.budget_balance(BudgetKey("001", CENTER, "2025-03", account="6602.01"))
    assert (whole.budget, whole.available, whole.control) == (Decimal("50000"), Decimal("50000"), "forbid")
    assert (by_project.budget, by_project.reserved, by_project.available) == (8000, 500, 7500)
    assert by_project.control == "warn" and by_account.control == "none" and by_account.budget == 3000
    assert hook.budget_balance(BudgetKey("001", CENTER, "2025-03", project="XM2024001")) is None
    assert hook.budget_balance(BudgetKey("001", "BM999999", "2025-03")) is None  # unknown cost center
    assert hook.budget_balance(BudgetKey("002", CENTER, "2025-03")) is None  # another book


def test_a_voucher_occupies_then_uses_the_budget(kingdee):
    kingdee.mutate("seed_budget", company="001", cost_center=CENTER, period="2025-03", amount="10000")
    kingdee.mutate(
        "seed_budget", company="001", cost_center=CENTER, period="2025-03", amount="2000", account="6602",
    )  # fmt: skip
    hook = KingdeeHook()
    created = hook.create_voucher(claim("BX-B-1", "1288.50"))
    saved = hook.budget_balance(BudgetKey("001", CENTER, "2025-03"))
    assert (saved.used, saved.reserved, saved.available) == (0, Decimal("1288.50"), Decimal("8711.50"))
    hook.submit_voucher(created.remote_id)
    hook.audit_voucher(created.remote_id)
    posted = hook.budget_balance(BudgetKey("001", CENTER, "2025-03"))
    assert (posted.used, posted.reserved, posted.available) == (Decimal("1288.50"), 0, Decimal("8711.50"))
    parent = hook.budget_balance(BudgetKey("001", CENTER, "2025-03", account="6602"))  # 6602.01 is under 6602
    assert parent.available == Decimal("711.50")
    hook.create_voucher(claim("BX-B-2", "100.00", period="2025-04"))  # another period leaves March alone
    assert hook.budget_balance(BudgetKey("001", CENTER, "2025-03")).available == Decimal("8711.50")


def test_holders_are_people_of_the_oa_sandboxes(kingdee):
    owners, controllers = org_people(1, departments=12, employees=60)  # the org the sandboxes fixture resets
    holders = {h.cost_center: h for h in KingdeeHook().cost_center_holders()}
    assert CENTER in holders and len(holders) >= 10
    assert all(h.owner in owners and h.budget_controller in controllers for h in holders.values())
    assert all(h.owner != h.budget_controller and h.company == "001" for h in holders.values())
    kingdee.mutate("set_cost_center_holders", cost_center=CENTER, owner="E0000042", budget_controller=None)
    changed = {h.cost_center: h for h in KingdeeHook().cost_center_holders()}[CENTER]
    assert (changed.owner, changed.budget_controller) == ("E0000042", None)


def test_a_server_fault_is_retried(kingdee):
    kingdee.mutate("seed_budget", company="001", cost_center=CENTER, period="2025-03", amount="900")
    kingdee.faults({"kind": "5xx", "every": 2})
    hook = KingdeeHook()
    assert hook.budget_balance(BudgetKey("001", CENTER, "2025-03")).budget == 900
    assert len(list(hook.cost_center_holders())) >= 10
    assert kingdee.stats()["faults_fired"]["5xx"] >= 2 and kingdee.stats()["calls"][QUERY] >= 4
