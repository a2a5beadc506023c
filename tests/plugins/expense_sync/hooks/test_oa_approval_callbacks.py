"""The OA sandboxes push their approval events to the real webhook receiver, sealed as each OA seals
them: the receiver verifies, decrypts and stores each in ``sync.event_inbox`` with the instance as
its subject (DingTalk ``bpms_instance_change`` / ``bpms_task_change``, WeCom ``sys_approval_change``)."""

from __future__ import annotations

import time

import pytest
from test_oa_approvals import people, request_for

from expense_sync.hooks.dingtalk import DingTalkHook
from expense_sync.hooks.wecom import WeComHook
from expense_sync_sandboxes.cluster import CONNECTIONS
from inboundkit import webhook_fixtures

webhook_env = webhook_fixtures().webhook_env
start_receiver = webhook_fixtures().start_receiver
TOKEN = "oa-sandbox-callback-token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


def inbox_rows(conn) -> list[dict]:
    """What the receiver stored, oldest first."""
    cur = conn.execute("SELECT source, event_type, subject, payload FROM sync.event_inbox ORDER BY event_id")
    return [dict(zip(("source", "event_type", "subject", "payload"), row, strict=True)) for row in cur.fetchall()]


@pytest.fixture
def pushing(sandboxes, webhook_env, start_receiver, monkeypatch):
    """``pushing(vendor)``: the OA's connection points at its sandbox with the callback secrets, a
    receiver runs, and the sandbox pushes to it; returns the hook and the sandbox's control."""

    def start(vendor: str):
        conn_id = f"oa_{vendor}"
        connection = sandboxes.connection(conn_id, callback_token=TOKEN, callback_aes_key=AES_KEY)
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", connection)
        receiver = start_receiver()
        control = sandboxes.control(vendor)
        control.mutate(
            "configure_callback",
            url=f"{receiver.url}/expense-sync/webhooks/{vendor}",
            token=TOKEN,
            aes_key=AES_KEY,
            receive_id=CONNECTIONS[conn_id][1],  # the AppKey / CorpID the receiver expects
        )
        return (DingTalkHook() if vendor == "dingtalk" else WeComHook()), control

    return start


def test_dingtalk_pushes_task_and_instance_changes_the_receiver_stores(pushing, webhook_env):
    hook, control = pushing("dingtalk")
    users = people(control, 5)
    instance_id = hook.create_approval(request_for(users))
    control.mutate("decide_task", instance_id=instance_id, approver=users[1], result="agree", comment="同意")
    control.mutate("decide_task", instance_id=instance_id, approver=users[2], result="agree", comment="财务已核")

    pushed = control.state()["callbacks"]
    rows = inbox_rows(webhook_env)

    assert pushed and all(p["status"] == 200 for p in pushed), pushed
    assert {r["subject"] for r in rows} == {instance_id}
    assert {r["event_type"] for r in rows} == {"bpms_instance_change", "bpms_task_change"}
    finish = [r["payload"] for r in rows if r["payload"]["EventType"] == "bpms_instance_change"]
    assert [(p["type"], p.get("result")) for p in finish] == [("start", None), ("finish", "agree")]
    decided = [r["payload"] for r in rows if r["payload"].get("result") == "agree" and "remark" in r["payload"]]
    assert {(p["staffId"], p["remark"]) for p in decided} == {(users[1], "同意"), (users[2], "财务已核")}


def test_dingtalk_pushes_a_transfer_as_a_redirected_task(pushing, webhook_env):
    hook, control = pushing("dingtalk")
    users = people(control, 6)
    instance_id = hook.create_approval(request_for(users))
    (task,) = hook.approval(instance_id).tasks

    hook.transfer_task(instance_id, task, users[5], "代批")

    redirects = [r["payload"] for r in inbox_rows(webhook_env) if r["payload"].get("result") == "redirect"]
    assert [(p["staffId"], p["type"], p["processInstanceId"]) for p in redirects] == [(users[1], "finish", instance_id)]


def test_wecom_pushes_one_approval_change_per_act_the_receiver_stores(pushing, webhook_env):
    hook, control = pushing("wecom")
    users = people(control, 5)
    sp_no = hook.create_approval(request_for(users))
    # WeCom's events carry CreateTime in seconds and the receiver keys them on it (no StatuChangeEvent):
    # acts a second apart are separate events
    time.sleep(1.1)
    control.mutate("decide_task", instance_id=sp_no, approver=users[1], result="agree", comment="同意")
    time.sleep(1.1)
    control.mutate("decide_task", instance_id=sp_no, approver=users[3], result="refuse", comment="超预算")

    pushed = control.state()["callbacks"]
    rows = inbox_rows(webhook_env)

    assert [p["event"]["StatuChangeEvent"] for p in pushed] == [1, 2, 3]
    assert all(p["status"] == 200 and p["reply"] == "success" for p in pushed), pushed
    assert [(r["event_type"], r["subject"]) for r in rows] == [("sys_approval_change", sp_no)] * 3
    info = [r["payload"]["ApprovalInfo"] for r in rows]
    assert [(i["SpStatus"], i["StatuChangeEvent"]) for i in info] == [("1", "1"), ("1", "2"), ("3", "3")]
    assert info[-1]["SpRecord"][-1]["Details"][-1]["Speech"] == "超预算"
    assert hook.approval(sp_no).state == "rejected"


def test_no_callback_configured_means_nothing_is_pushed(sandboxes):
    control = sandboxes.control("dingtalk")
    users = people(control, 5)
    DingTalkHook().create_approval(request_for(users))
    assert control.state()["callbacks"] == []
    with pytest.raises(RuntimeError, match="aes_key"):
        control.mutate("configure_callback", url="http://127.0.0.1:9/", token="t", aes_key="short", receive_id="x")
