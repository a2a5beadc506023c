"""EkuaibaoHook's documents, budgets and voucher write-back, and the OA hooks' approval states, against
the sandboxes over HTTP: money as strings, update-time windows, the not-paid refusal, 412s."""

import datetime as dt
import os
import subprocess
import sys
import time
from decimal import Decimal

import pytest
import requests

from expense_sync.claims.parse import parse_flow
from expense_sync.hooks.dingtalk import DingTalkHook
from expense_sync.hooks.ekuaibao import EkuaibaoHook, NotPaidError
from expense_sync.hooks.errors import VendorRequestError
from expense_sync.hooks.wecom import WeComHook
from expense_sync_sandboxes.cluster import PACKAGE_ROOT, free_port
from expense_sync_sandboxes.ekuaibao import APP_KEY, APP_SECURITY
from testkit import point_connection


@pytest.fixture
def hook(sandboxes):
    hook = EkuaibaoHook()
    corp = hook.corporation()
    hook.create_staffs([{"name": "王芳", "code": "E1001", "cellphone": "13800000001", "defaultDepartment": corp}])
    dimension = hook.dimension("成本中心")["id"]
    hook.create_dimension_items(dimension, [{"name": "销售部", "code": "CC01", "parentId": ""}])
    return hook


def claim(sandboxes, state="paying", amounts=("100.10", "20.00"), **kw):
    lines = [{"fee_type_code": "FYXM0001", "amount": a, "cost_center": "CC01"} for a in amounts]
    return sandboxes.control("ekuaibao").mutate("seed_claim", staff_code="E1001", lines=lines, state=state, **kw)


def test_documents_are_listed_by_update_time_and_read_with_string_money(sandboxes, hook):
    first, second = claim(sandboxes), claim(sandboxes, state="approving")
    flows = [f for page in hook.iter_documents() for f in page]
    assert [f["id"] for f in flows] == [first["id"], second["id"]]  # oldest change first
    later = dt.datetime.fromtimestamp(second["updateTime"] / 1000 + 1, dt.timezone(dt.timedelta(hours=8)))
    assert [f for page in hook.iter_documents(later.strftime("%Y-%m-%d %H:%M:%S")) for f in page] == []
    detail = hook.flow_detail(first["id"])
    assert detail["form"]["expenseMoney"]["standard"] == "120.10"
    parsed = parse_flow(detail)
    assert parsed.total == Decimal("120.10") and [line.amount for line in parsed.lines] == [
        Decimal("100.10"),
        Decimal("20.00"),
    ]
    assert parsed.approved and parsed.claim_no == first["form"]["code"]
    assert not parse_flow(hook.flow_detail(second["id"])).approved
    assert hook.flow_detail("SBXcorp0001:NOPE") is None
    assert hook.approve_states([first["id"], second["id"]]) == {first["id"]: "出纳支付", second["id"]: "财务审批"}


def test_write_back_needs_a_paid_document(sandboxes, hook):
    flow = claim(sandboxes)
    with pytest.raises(NotPaidError, match="不是已支付状态"):
        hook.write_back_voucher(flow["id"], "记-0001", 1767225600000, "2026-01")
    with pytest.raises(VendorRequestError, match="不存在此单据") as unknown:
        hook.write_back_voucher("SBXcorp0001:NOPE", "记-0001", 1767225600000)
    assert unknown.value.status == 412 and not isinstance(unknown.value, NotPaidError)
    sandboxes.control("ekuaibao").mutate("claim_action", code=flow["form"]["code"], action="pay")
    hook.write_back_voucher(flow["id"], "记-0001", 1767225600000, "2026-01")
    form = hook.flow_detail(flow["id"])["form"]
    assert (form["voucherNo"], form["voucherStatus"], form["voucherCreateTime"]) == ("记-0001", "已生成", 1767225600000)


def test_budget_balance_counts_confirmed_and_occupied_claims(sandboxes, hook):
    ekb = sandboxes.control("ekuaibao")
    assert hook.budget_balances() == {}
    ekb.mutate("set_budget", cost_center="CC01", amount="500.00")
    claim(sandboxes, state="paid", amounts=("100.00",))
    claim(sandboxes, state="approving", amounts=("50.25",))
    claim(sandboxes, state="draft", amounts=("999.00",))  # not submitted: not counted
    (balance,) = hook.budget_balances().values()
    assert balance == Decimal("349.75")


@pytest.mark.parametrize("hook_class", [DingTalkHook, WeComHook])
def test_oa_approval_states(sandboxes, hook_class):
    oa = hook_class()
    control = sandboxes.control(oa.vendor)
    for state in ("running", "agree", "refuse", "terminated"):
        control.mutate("start_approval", instance_id=f"SP-{state}", state=state)
    assert {s: oa.approval_state(f"SP-{s}") for s in ("running", "agree", "refuse", "terminated")} == {
        "running": "running",
        "agree": "approved",
        "refuse": "rejected",
        "terminated": "withdrawn",
    }
    with pytest.raises(VendorRequestError):
        oa.approval_state("SP-unknown")


# -- the sandbox served standalone -------------------------------------------------------------------
def _standalone(tmp_path, *flags: str):
    """``python -m expense_sync_sandboxes serve --port ekuaibao=…`` as a user starts it; its URL."""
    port = free_port()
    log = (tmp_path / f"sandbox-{port}.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "expense_sync_sandboxes", "serve", "--port", f"ekuaibao={port}", *flags],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")])),
        },
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            requests.get(f"{url}/_sandbox/health", timeout=1)
            return process, url
        except requests.ConnectionError:
            assert process.poll() is None and time.monotonic() < deadline, (
                tmp_path / f"sandbox-{port}.log"
            ).read_text()
            time.sleep(0.2)


@pytest.fixture
def standalone(tmp_path, monkeypatch):
    started = []

    def start(*flags: str) -> EkuaibaoHook:
        process, url = _standalone(tmp_path, *flags)
        started.append(process)
        point_connection(monkeypatch, "expense_ekuaibao", url, login=APP_KEY, password=APP_SECURITY)
        return EkuaibaoHook()

    yield start
    for process in started:
        process.terminate()
        process.wait(30)


def test_served_standalone_the_sandbox_holds_approved_travel_claims(standalone):
    hook = standalone()

    claims = [parse_flow(hook.flow_detail(f["id"])) for page in hook.iter_documents() for f in page]

    approved = [c for c in claims if c.approved]
    assert len(approved) >= 3 and len(claims) > len(approved)
    assert all(c.lines and c.total == sum(line.amount for line in c.lines) for c in claims)
    assert all(line.cost_center_item for c in approved for line in c.lines)  # on the line or the header
    assert any(line.project_item for c in approved for line in c.lines)
    fee_types = {f["id"]: f["name"] for f in hook.fee_types()}
    assert {fee_types[line.fee_type_id] for c in claims for line in c.lines} >= {"飞机票", "火车票", "酒店住宿"}
    centers = [i["code"] for page in hook.iter_dimension_items(hook.dimension("成本中心")["id"]) for i in page]
    assert {"CC100", "CC200", "CC300"} <= set(centers)
    staff = {s["id"] for page in hook.iter_staffs() for s in page}
    assert {c.submitter_id for c in claims} <= staff


def test_served_standalone_with_empty_the_sandbox_holds_no_claims(standalone):
    hook = standalone("--empty")

    assert [f for page in hook.iter_documents() for f in page] == []
    assert [s for page in hook.iter_staffs() for s in page] == []
