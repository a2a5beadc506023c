"""The Yonyou hook's budget center against its sandbox over HTTP (YonBIP): a budget line (whole, by
project, by account), an unknown cost center, a voucher occupying then executing the budget, the
holders as 工号 of the OA sandboxes' people, a server fault retried, and NC Cloud reading none."""

import datetime as dt
import json
import os
from decimal import Decimal

import pytest

from expense_sync.erp.budget import BudgetKey
from expense_sync.erp.model import Voucher, VoucherLine
from expense_sync.hooks.errors import EntityUnavailableError
from expense_sync.hooks.registry import erp_hook
from expense_sync.hooks.yonyou import YonyouHook
from expense_sync.hooks.yonyou.settings import YonyouSettings
from expense_sync_sandboxes.budgetcenter import org_people

CENTER, PROJECT, MARCH = "CC0101", "PRJ20210001", "2025-03"
BALANCE = YonyouSettings.model_fields["budget_balance_path"].default


@pytest.fixture
def yonyou(sandboxes):
    return sandboxes.control("yonyou")


def claim(ref: str, amount: str, *, account="660201", project=None, period=MARCH) -> Voucher:
    money = Decimal(amount)
    return Voucher(
        external_ref=ref,
        company="0001",
        posting_date=dt.date.fromisoformat(f"{period}-15"),
        period=period,
        description=f"差旅报销 {ref}",
        lines=(
            VoucherLine(account, debit=money, cost_center=CENTER, project=project, text="差旅费"),
            VoucherLine("224101", credit=money, text="应付报销款"),
        ),
    )


def seed(sandbox, amount: str, **kw) -> None:
    sandbox.mutate("seed_budget", company="0001", cost_center=CENTER, period=MARCH, amount=amount, **kw)


def test_seeded_budget_of_the_current_month(yonyou):
    period = dt.date.today().strftime("%Y-%m")
    balance = erp_hook("yonyou").budget_balance(BudgetKey("0001", CENTER, period))
    assert balance is not None and balance.budget > 0 and balance.budget_period == period
    assert (balance.used, balance.reserved, balance.control) == (0, 0, "forbid")
    assert balance.source == f"Yonyou {BALANCE}"


def test_balance_by_cost_center_project_and_account(yonyou):
    seed(yonyou, "50000")
    seed(yonyou, "8000", project=PROJECT, control="warn", reserved="500")
    seed(yonyou, "3000", account="660201", control="none")
    hook = YonyouHook()
    whole = hook.budget_balance(BudgetKey("0001", CENTER, MARCH))
    by_project = hook.budget_balance(BudgetKey("0001", CENTER, MARCH, project=PROJECT))
    by_account = hook.budget_balance(BudgetKey("0001", CENTER, MARCH, account="660201"))
    assert (whole.budget, whole.available, whole.control) == (Decimal("50000"), Decimal("50000"), "forbid")
    assert (by_project.budget, by_project.reserved, by_project.available, by_project.control) == (
        8000,
        500,
        7500,
        "warn",
    )
    assert (by_account.budget, by_account.control) == (3000, "none")
    assert hook.budget_balance(BudgetKey("0001", CENTER, MARCH, project="PRJ20220002")) is None
    assert hook.budget_balance(BudgetKey("0001", "CC9999", MARCH)) is None  # unknown cost center


def test_a_voucher_occupies_then_executes_the_budget(yonyou):
    seed(yonyou, "10000")
    seed(yonyou, "2000", account="6602")
    seed(yonyou, "1000", project=PROJECT)
    hook = YonyouHook()
    created = hook.create_voucher(claim("BX-Y-1", "1288.50", project=PROJECT))
    saved = hook.budget_balance(BudgetKey("0001", CENTER, MARCH))
    assert (saved.used, saved.reserved, saved.available) == (0, Decimal("1288.50"), Decimal("8711.50"))
    yonyou.mutate("audit_voucher", voucher_id=created.remote_id)
    yonyou.mutate("post_voucher", voucher_id=created.remote_id)
    posted = hook.budget_balance(BudgetKey("0001", CENTER, MARCH))
    assert (posted.used, posted.reserved, posted.available) == (Decimal("1288.50"), 0, Decimal("8711.50"))
    assert hook.budget_balance(BudgetKey("0001", CENTER, MARCH, account="6602")).available == Decimal("711.50")
    assert hook.budget_balance(BudgetKey("0001", CENTER, MARCH, project=PROJECT)).available == Decimal("-288.50")
    hook.create_voucher(claim("BX-Y-2", "100.00", period="2025-04"))  # April leaves March alone
    assert hook.budget_balance(BudgetKey("0001", CENTER, MARCH)).available == Decimal("8711.50")


def test_holders_are_people_of_the_oa_sandboxes(yonyou, monkeypatch):
    owners, controllers = org_people(1, departments=12, employees=60)  # the org the sandboxes fixture resets
    conn = json.loads(os.environ["AIRFLOW_CONN_ERP_YONYOU"])
    conn["extra"].update(page_size=7)
    monkeypatch.setenv("AIRFLOW_CONN_ERP_YONYOU", json.dumps(conn))
    holders = {h.cost_center: h for h in YonyouHook().cost_center_holders()}
    assert len(holders) == 40 and CENTER in holders  # 40 cost centers, 7 a page
    assert all(h.owner in owners and h.budget_controller in controllers for h in holders.values())
    assert all(h.owner != h.budget_controller and h.company == "0001" for h in holders.values())
    yonyou.mutate("set_cost_center_holders", cost_center=CENTER, owner="E0000042", budget_controller="E0000043")
    yonyou.mutate("disable_record", kind="costcenter", code="CC0102")
    changed = {h.cost_center: h for h in YonyouHook().cost_center_holders()}
    assert (changed[CENTER].owner, changed[CENTER].budget_controller) == ("E0000042", "E0000043")
    assert "CC0102" not in changed


def test_a_server_fault_is_retried(yonyou):
    seed(yonyou, "900")
    yonyou.faults({"kind": "5xx", "every": 2})
    hook = YonyouHook()
    assert hook.budget_balance(BudgetKey("0001", CENTER, MARCH)).budget == 900
    assert len(list(hook.cost_center_holders())) == 40
    assert yonyou.stats()["faults_fired"]["5xx"] >= 2


def test_nc_cloud_reads_no_budget(yonyou, monkeypatch):
    conn = json.loads(os.environ["AIRFLOW_CONN_ERP_YONYOU"])
    conn["extra"].update(variant="ncc", ncc_public_key="x", ncc_biz_center="01")
    monkeypatch.setenv("AIRFLOW_CONN_ERP_YONYOU", json.dumps(conn))
    with pytest.raises(EntityUnavailableError):
        YonyouHook().budget_balance(BudgetKey("0001", CENTER, MARCH))
    with pytest.raises(EntityUnavailableError):
        list(YonyouHook().cost_center_holders())
