"""The ERP budget check before each claim voucher (预算校验), against each ERP's budget center sandbox:
a claim over the budget is held with the figures and never posted; once the budget allows, it posts
once; and a balance read before one posting is never used after it (two claims each within the
budget but over it together: the second is held)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from claimkit import (
    CLAIMS,
    ERPS,
    claim_row,
    cost_centers,
    erp_vouchers,
    file_claim,
    open_claim_items,
    prepare_world,
    run_ok,
)
from expense_sync.hooks.registry import erp_class

CHINA = dt.timezone(dt.timedelta(hours=8))


def checks(mdm, claim_no: str) -> list[tuple]:
    return mdm.execute(
        "SELECT result, amount, budget, control FROM fin.budget_check WHERE subject = 'claim' AND subject_key = %s "
        "ORDER BY check_id",
        (claim_no,),
    ).fetchall()


@pytest.mark.parametrize("erp", ERPS)
def test_a_claim_over_the_erp_budget_is_held_until_the_budget_allows_it(dagbag, mdm, sandboxes, monkeypatch, erp):
    prepare_world(dagbag, mdm, sandboxes, monkeypatch, erp)
    period = dt.datetime.now(CHINA).strftime("%Y-%m")
    company, center = erp_class(erp).default_company, cost_centers(mdm)[0]
    budget = sandboxes.control(erp)

    def seed(amount: str) -> None:  # the cost center's budget as a whole, rigidly controlled (刚性)
        budget.mutate("seed_budget", company=company, cost_center=center, period=period, amount=amount,
                      control="forbid")  # fmt: skip

    seed("1000")
    over = file_claim(sandboxes, mdm, amounts=("1280.00",))["form"]["code"]
    run_ok(dagbag, CLAIMS)
    assert erp_vouchers(sandboxes, erp, over) == [], "over budget: no voucher"
    assert claim_row(mdm, over)["state"] == "invalid"
    assert open_claim_items(mdm) == {over: ("quarantine", "over_budget")}
    reason = mdm.execute("SELECT reason FROM sync.exception_item WHERE record_key = %s", (over,)).fetchone()[0]
    assert f"{center}" in reason and "budget 1000" in reason and "this document 1280.00" in reason
    control = "warn" if erp == "sap" else "forbid"  # SAP's plan data carries none: the connection says (warn)
    assert checks(mdm, over) == [("over", Decimal("1280.00"), Decimal("1000.00"), control)]

    seed("5000")  # the budget raised in the ERP: the next run posts it, once
    run_ok(dagbag, CLAIMS)
    assert len(erp_vouchers(sandboxes, erp, over)) == 1
    assert claim_row(mdm, over)["state"] in ("voucher_created", "voucher_audited")
    assert open_claim_items(mdm) == {}, "the over-budget item is resolved once the claim passes"
    assert checks(mdm, over)[-1][0] == "within"

    # 5000 − 1280 = 3720 left: two claims of 2500 each pass alone, not together
    first = file_claim(sandboxes, mdm, amounts=("2500.00",))["form"]["code"]
    second = file_claim(sandboxes, mdm, amounts=("2500.00",))["form"]["code"]
    run_ok(dagbag, CLAIMS)
    posted = [no for no in (first, second) if erp_vouchers(sandboxes, erp, no)]
    held = [no for no in (first, second) if not erp_vouchers(sandboxes, erp, no)]
    assert len(posted) == 1 and len(held) == 1, "the balance read before a posting is not used after it"
    assert open_claim_items(mdm) == {held[0]: ("quarantine", "over_budget")}
    assert [c[0] for c in checks(mdm, held[0])] == ["over"]
