"""The Yonyou hook against its sandbox: every chart kind read in either list shape (bare ``data`` or
paged ``data.recordList``), and the tenant's auxiliary accounting types checked at setup."""

from __future__ import annotations

import datetime as dt
import json
import os
from decimal import Decimal

import pytest

from expense_sync.bootstrap import vendor_prerequisites
from expense_sync.chart.extract import ENTITIES
from expense_sync.erp.model import Voucher, VoucherLine
from expense_sync.hooks.yonyou import YonyouHook


@pytest.fixture
def yonyou(sandboxes):
    return sandboxes.control("yonyou")


def connect(monkeypatch, **extra) -> YonyouHook:
    conn = json.loads(os.environ["AIRFLOW_CONN_ERP_YONYOU"])
    conn["extra"].update(extra)
    monkeypatch.setenv("AIRFLOW_CONN_ERP_YONYOU", json.dumps(conn))
    return YonyouHook()


def calls(control, path: str) -> int:
    return sum(n for key, n in control.stats()["calls"].items() if key.endswith(path))


@pytest.mark.parametrize("shape", ["bare", "paged"])
def test_every_chart_is_read_whole_in_either_shape(yonyou, monkeypatch, shape):
    yonyou.reset(chart_shape=shape, accounts=53, expense_items=23, cost_centers=21, projects=17)
    hook = connect(monkeypatch, page_size=10)

    read = {kind: [r["code"] for r in hook.chart(kind)] for kind in ENTITIES}

    assert {kind: len(set(codes)) for kind, codes in read.items()} == {
        "gl_account": 53,
        "expense_item": 23,
        "cost_center": 21,
        "project": 17,
    }
    assert calls(yonyou, "/querybd/expenseitem") == 3 and calls(yonyou, "/querybd/project") == 2
    assert {r["code"]: r["accsubject_code"] for r in hook.chart("expense_item")}["0102"] == "660201"


def test_the_paged_shape_is_what_the_sandbox_serves_when_asked(yonyou, sandboxes):
    """The option changes the answer itself, so the test above reads two different shapes."""
    hook = YonyouHook()
    bare = hook.request("POST", "/yonbip/fi/fipub/basedoc/querybd/project", json={"pageIndex": 1, "pageSize": 5})
    yonyou.reset(chart_shape="paged")
    paged = hook.request("POST", "/yonbip/fi/fipub/basedoc/querybd/project", json={"pageIndex": 1, "pageSize": 5})

    assert isinstance(bare["data"], list) and bare["total"] == 30
    assert len(paged["data"]["recordList"]) == 5 and paged["data"]["recordCount"] == 30
    assert paged["data"]["pageCount"] == 6


def test_prerequisites_met_by_the_default_tenant(yonyou):
    assert YonyouHook().prerequisites() == []


def test_a_configured_aux_code_the_tenant_lacks_is_one_clear_line(yonyou, monkeypatch):
    yonyou.reset(cost_center_aux_code="1001")  # the tenant keeps cost centres under 1001, not 0010

    [line] = YonyouHook().prerequisites()

    assert line == (
        "auxiliary accounting type '0010' (cost_center_aux_code) is not among the tenant's types "
        "(querybd/multidimext: 0006 项目, 0011 费用项目, 1001 成本中心)"
    )
    assert connect(monkeypatch, cost_center_aux_code="1001").prerequisites() == []


def test_setup_prints_the_missing_aux_code_and_maker(yonyou, monkeypatch):
    yonyou.reset(project_aux_code="0099")
    connect(monkeypatch, maker_mobile=None)
    monkeypatch.setenv("AIRFLOW_VAR_EXPENSE_SYNC_ERP_VENDOR", "yonyou")

    lines = [line for line in vendor_prerequisites() if line.startswith("erp ")]

    assert lines == [
        "erp yonyou: MISSING connection 'erp_yonyou' names no voucher maker: set maker_mobile or "
        "maker_email (addVoucher refuses a voucher without one)",
        "erp yonyou: MISSING auxiliary accounting type '0006' (project_aux_code) is not among the "
        "tenant's types (querybd/multidimext: 0010 成本中心, 0011 费用项目, 0099 项目)",
    ]


def test_vouchers_carry_the_configured_aux_codes(yonyou, monkeypatch):
    """With the tenant's own codes configured, posting and balances follow them."""
    yonyou.reset(cost_center_aux_code="1001", project_aux_code="1002")
    hook = connect(monkeypatch, cost_center_aux_code="1001", project_aux_code="1002")
    hook.create_voucher(
        Voucher(
            external_ref="EXP-AUX1",
            company="0001",
            posting_date=dt.date(2025, 3, 15),
            period="2025-03",
            description="差旅报销",
            lines=(
                VoucherLine(
                    "660201", debit=Decimal("9.90"), cost_center="CC0101", project="PRJ20210001", text="差旅费"
                ),
                VoucherLine("224101", credit=Decimal("9.90"), text="应付报销款"),
            ),
        )
    )

    rows = {(b.account_code, b.cost_center, b.project): b.debit for b in hook.balances("0001", "2025-03")}

    assert rows[("660201", "CC0101", "PRJ20210001")] == Decimal("9.90")
