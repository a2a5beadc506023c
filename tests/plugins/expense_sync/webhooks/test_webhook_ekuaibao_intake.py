"""A 合思 outbound message as 合思 sends it (plain JSON, no signature: the sandbox posts exactly
that) on the secret path triggers the claim intake, which re-reads the document from 合思; on the
bare path the same message is refused and nothing is queued."""

from __future__ import annotations

import datetime as dt

import pytest
from webhook_senders import EKUAIBAO_PATH, EKUAIBAO_PATH_TOKEN
from webhook_testkit import inbox_rows

from expense_sync.claims.intake import collect
from expense_sync.hooks.ekuaibao import EkuaibaoHook
from testkit import FAST


@pytest.fixture
def ekb(sandboxes, webhook_env, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_EXPENSE_EKUAIBAO",
        sandboxes.connection("expense_ekuaibao", **FAST, outbound_path_tokens=[EKUAIBAO_PATH_TOKEN]),
    )
    hook = EkuaibaoHook()
    corp = hook.corporation()
    hook.create_staffs([{"name": "王芳", "code": "E1001", "cellphone": "13800000001", "defaultDepartment": corp}])
    hook.create_dimension_items(hook.dimension("成本中心")["id"], [{"name": "销售部", "code": "CC01", "parentId": ""}])
    control = sandboxes.control("ekuaibao")
    yield control
    control.mutate("configure_outbound", url=None)


def _claim(ekb) -> dict:
    lines = [{"fee_type_code": "FYXM0001", "amount": "100.10", "cost_center": "CC01"}]
    return ekb.mutate("seed_claim", staff_code="E1001", lines=lines, state="paying")


def _intake(mdm) -> dict:
    since = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    counts = collect(mdm, EkuaibaoHook(), company="1000", run_key="test", poll=False, since=since, max_attempts=3)
    return {key: n for key, n in counts.items() if n}


def test_an_unsigned_message_on_the_secret_path_brings_the_claim_in(ekb, receiver, webhook_env):
    ekb.mutate("configure_outbound", url=receiver.url + EKUAIBAO_PATH)

    flow = _claim(ekb)

    log = ekb.state()["outboundLog"]
    assert [entry["state"] for entry in log] == ["SUCCESS", "SUCCESS"]
    assert all("signKey" not in entry["request"] for entry in log)  # 合思 sends no key
    assert [(r["event_type"], r["subject"]) for r in inbox_rows(webhook_env)] == [
        ("backlog.approving", flow["id"]),
        ("backlog.paying", flow["id"]),
    ]
    counts = _intake(webhook_env)  # inbox only: no catch-up poll
    assert counts["events"] == 2 and counts["new"] == 1
    [(state, total)] = webhook_env.execute(
        "SELECT state, total_amount::text FROM fin.claim WHERE claim_no = %s", (flow["form"]["code"],)
    ).fetchall()
    assert (state, total) == ("received", "100.10")


def test_the_same_message_on_the_bare_path_is_refused_and_nothing_comes_in(ekb, receiver, webhook_env):
    ekb.mutate("configure_outbound", url=receiver.url + "/expense-sync/webhooks/ekuaibao")

    _claim(ekb)

    assert [entry["state"] for entry in ekb.state()["outboundLog"]] == ["FAILURE", "FAILURE"]
    assert inbox_rows(webhook_env) == []
    assert _intake(webhook_env) == {}
    assert webhook_env.execute("SELECT count(*) FROM fin.claim").fetchone()[0] == 0
