"""Custom fields on the claim header: 合思 form templates may put the cost center (and project, OA
instance) on the document instead of, or beside, each fee line. A line takes its own value, else
the header's; the voucher the ERP receives carries the result."""

from __future__ import annotations

import pytest

from claimkit import (
    CLAIMS,
    claimant,
    cost_centers,
    erp_vouchers,
    mapped_fee_types,
    prepare_world,
    run_ok,
)
from expense_sync.claims.parse import parse_flow


@pytest.fixture
def world(dagbag, mdm, sandboxes, monkeypatch):
    prepare_world(dagbag, mdm, sandboxes, monkeypatch, "kingdee")
    return sandboxes.control("ekuaibao")


def _posted_cost_centers(sandboxes, claim_no: str) -> set[str]:
    """The cost centers on the voucher Kingdee holds: its entries' FDetailID flex field FFLEX5 (the
    sandbox's dump gives each base-data reference as its number)."""
    [voucher] = erp_vouchers(sandboxes, "kingdee", claim_no)
    return {entry["FDetailID"]["FFLEX5"] for entry in voucher["FEntity"] if "FFLEX5" in (entry["FDetailID"] or {})}


def _line_cost_centers(mdm, claim_no: str) -> list[str]:
    rows = mdm.execute(
        "SELECT cost_center FROM fin.claim_line l JOIN fin.claim c USING (claim_id)"
        " WHERE c.claim_no = %s ORDER BY line_no",
        (claim_no,),
    ).fetchall()
    return [r[0] for r in rows]


def test_a_header_cost_center_reaches_the_lines_and_a_line_value_wins(dagbag, mdm, sandboxes, world):
    fees, centers = mapped_fee_types(mdm), cost_centers(mdm)
    header, own = centers[0], centers[1]
    flow = world.mutate(
        "seed_claim",
        staff_code=claimant(mdm),
        lines=[
            {"fee_type_code": fees[0], "amount": "300.00"},  # no cost center of its own
            {"fee_type_code": fees[0], "amount": "120.00", "cost_center": own},
        ],
        header_cost_center=header,
        state="paying",
    )
    claim_no = flow["form"]["code"]
    assert "u_costCenter" not in flow["form"]["details"][0]["feeTypeForm"] and "u_costCenter" in flow["form"]

    run_ok(dagbag, CLAIMS)

    queued = mdm.execute("SELECT record_key, reason_code, reason FROM sync.exception_item").fetchall()
    claims = mdm.execute("SELECT claim_no, state FROM fin.claim").fetchall()
    assert _line_cost_centers(mdm, claim_no) == [header, own], (claims, queued)
    assert _posted_cost_centers(sandboxes, claim_no) == {header, own}


def _flow(header: dict, lines: list[dict]) -> dict:
    money = {"standard": "30.00", "standardStrCode": "CNY"}
    details = [{"feeTypeId": "F1", "feeTypeForm": {"amount": {"standard": "10.00"}, **line}} for line in lines]
    form = {"code": "B1", "expenseMoney": money, "expenseDate": 1764547200000, "details": details, **header}
    return {"id": "F", "state": "paying", "updateTime": 1764547200000, "form": form}


def test_the_parser_takes_a_lines_own_value_else_the_headers():
    flow = _flow(
        {"u_costCenter": "ID_HEAD", "u_project": "ID_PH", "u_oaInstanceId": "proc-1"},
        [{}, {"u_costCenter": "ID_LINE"}, {"u_costCenter": "", "u_project": "ID_PL"}],
    )

    claim = parse_flow(flow)

    assert [(line.cost_center_item, line.project_item) for line in claim.lines] == [
        ("ID_HEAD", "ID_PH"),
        ("ID_LINE", "ID_PH"),
        ("ID_HEAD", "ID_PL"),
    ]
    assert claim.oa_instance == "proc-1"
    assert [line.cost_center_item for line in parse_flow(_flow({}, [{}])).lines] == [None]
