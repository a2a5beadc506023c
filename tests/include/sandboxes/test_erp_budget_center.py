"""The ERP sandboxes' budget center: deterministic seeding from the OA org data, the control API's
mutations and their refusals, and SAP's plan data read by ``pyodata`` unchanged."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyodata
import pytest
import requests

from expense_sync_sandboxes.budgetcenter import BudgetCenter
from expense_sync_sandboxes.orgdata import Directory
from expense_sync_sandboxes.sap import PASSWORD, USER

CENTERS = [("001", f"BM{n:06d}") for n in range(1, 6)]


def test_seeding_is_deterministic_and_holders_are_real_people():
    today = dt.date(2026, 12, 5)
    first, again = BudgetCenter(1, CENTERS, today=today), BudgetCenter(1, CENTERS, today=today)
    assert first.dump() == again.dump()
    assert BudgetCenter(2, CENTERS, today=today).dump() != first.dump()
    assert len(first.lines) == len(CENTERS) * 24  # every month of last year and this year
    line = first.find("001", "BM000001", "2025-01")
    assert line is not None and line.amount > 0 and (line.control, line.reserved) == ("forbid", 0)
    assert first.find("001", "BM000001", "2024-12") is None
    people = {p.job_number: p for p in Directory(seed=1).people.values()}
    for holders in first.holders.values():
        assert people[holders.owner].title in ("经理", "主管", "总监")
        assert people[holders.budget_controller].title in ("会计", "分析师")
    assert len({h.owner for h in first.holders.values()}) == len(CENTERS)


def test_seed_budget_replaces_a_line_and_refuses_bad_input():
    center = BudgetCenter(1, CENTERS, today=dt.date(2026, 12, 5))
    center.mutate("seed_budget", {"company": "001", "cost_center": "BM000001", "period": "2025-01", "amount": "7"})
    assert center.find("001", "BM000001", "2025-01").amount == Decimal("7")
    with pytest.raises(ValueError):
        center.mutate("seed_budget", {"company": "001", "cost_center": "X", "period": "2025-1x", "amount": 1})
    with pytest.raises(ValueError):
        center.mutate(
            "seed_budget", {"company": "001", "cost_center": "X", "period": "2025-01", "amount": 1, "control": "hard"}
        )


@pytest.mark.parametrize("vendor", ["kingdee", "yonyou", "sap"])
def test_the_control_api_answers_400_to_a_bad_mutation(sandboxes, vendor):
    response = requests.post(
        f"{sandboxes.url(vendor)}/_sandbox/mutate",
        json={"op": "seed_budget", "company": "1", "cost_center": "C", "period": "2025-13", "amount": 1},
        timeout=10,
    )
    assert response.status_code == 400 and "period" in response.json()["error"]
    done = sandboxes.control(vendor).mutate("set_cost_center_holders", cost_center="C", owner="E0000001")
    assert done == {"cost_center": "C", "owner": "E0000001", "budget_controller": None}


def test_pyodata_reads_the_plan_data(sandboxes):
    control = sandboxes.control("sap")
    control.mutate("seed_budget", company="1000", cost_center="1000000001", period="2024-05", amount="1234.5")
    http = requests.Session()
    http.auth = (USER, PASSWORD)
    service = pyodata.Client(f"{sandboxes.url('sap')}/sap/opu/odata/sap/API_FINPLANNINGENTRYITEM_SRV/", http)
    found = (
        service.entity_sets.A_FinPlanningEntryItem.get_entities()
        .filter("CostCenter eq '1000000001' and FiscalYear eq '2024' and FiscalPeriod eq '005'")
        .execute()
    )
    assert [(r.PlanningCategory, r.GLAccount, Decimal(str(r.AmountInCompanyCodeCurrency))) for r in found] == [
        ("BUDGET01", "", Decimal("1234.5"))
    ]
