"""The writers to 合思 other than the ERP vouchers — the org push (org_sync_daily), the chart push of cost
centers and projects as dimension items (expense_category_sync_weekly) and the voucher-number
write-back (voucher_status_pull) — under the worst operating day: the writer SIGKILLed once 合思 has
received its k-th write, overlapping runs, vendor fault storms, and its PostgreSQL backend terminated
mid-push and mid-merge. Judged by what 合思's sandbox holds (each record once, with the canonical
values; each claim's number written and the claim closed) and, for the merges, by the canonical
tables a clean run leaves."""

from __future__ import annotations

import os

import pytest

from writerkit import (
    WRITERS,
    args_json,
    chart_world,
    finish,
    judge,
    kill_at_write,
    merge_day_terminated,
    org_world,
    record,
    retry_until_ok,
    start_child,
    storm,
    terminate_at_write,
    write_back_world,
)

pytestmark = pytest.mark.reliability

CLAIMS = 6  # claims waiting for their number in the write-back world
LABEL = {"org": "org push", "chart": "chart push", "write_back": "voucher-number write-back"}


@pytest.fixture(params=WRITERS)
def world(request, dagbag, mdm, sandboxes, monkeypatch):
    """(writer, its arguments, the test database's URL) in a world where the writer has work to do."""
    writer = request.param
    if writer == "org":
        args = org_world(mdm)
    elif writer == "chart":
        args = chart_world(mdm)
    else:
        args = write_back_world(dagbag, mdm, sandboxes, monkeypatch, CLAIMS)
    return writer, args, os.environ["AIRFLOW_CONN_MDM_POSTGRES"]


def test_kill_9_mid_push_then_the_retry(figures, mdm, sandboxes, world):
    writer, args, url = world
    kills = [kill_at_write(writer, args_json(args), f"kill/{k}", sandboxes, url, k) for k in (1, 2, 3)]
    assert kills[0], "the writer was not killed at its first write"
    retry_until_ok(writer, args, tries=3)
    verdict = judge(writer, mdm, sandboxes, args)
    scenario = f"kill -9 at 合思's 1st, 2nd, 3rd write of {LABEL[writer]} ({sum(kills)} kills), then the retry"
    record(figures, scenario, verdict)


def test_three_overlapping_runs(figures, mdm, sandboxes, world):
    writer, args, url = world
    children = [start_child(writer, args_json(args), f"overlap/{i}", sandboxes, url, qps=16) for i in range(3)]
    ended = [finish(child) for child in children]
    assert all(code == 0 for code, _ in ended), ended
    retry_until_ok(writer, args, tries=1, label="next")
    verdict = judge(writer, mdm, sandboxes, args)
    record(figures, f"3 overlapping runs of {LABEL[writer]}", verdict)


def test_a_vendor_fault_storm(figures, mdm, sandboxes, world):
    writer, args, _ = world
    control = sandboxes.control("ekuaibao")
    control.faults(*storm(writer), seed=5)
    try:
        runs = retry_until_ok(writer, args, tries=8, label="storm")
        fired = control.stats()["faults_fired"]
    finally:
        control.faults()
    assert fired.get("slow_commit") and fired.get("5xx") and fired.get("token_expired"), fired
    verdict = judge(writer, mdm, sandboxes, args)
    record(
        figures,
        f"合思 5xx, 429, HTML throttle, token expiry, lost answers during {LABEL[writer]} ({runs} runs)",
        verdict,
    )


def test_backend_terminated_mid_push(figures, mdm, sandboxes, world):
    writer, args, url = world
    assert terminate_at_write(writer, args_json(args), "terminated", sandboxes, mdm, url, 2) >= 1
    retry_until_ok(writer, args, tries=3)
    verdict = judge(writer, mdm, sandboxes, args)
    record(figures, f"PostgreSQL backend terminated at 合思's 2nd write of {LABEL[writer]}, then the retry", verdict)


# -- the merges: terminated mid-transaction, they must end exactly as a clean run --------------------


@pytest.mark.parametrize("kind", ["org", "chart"])
def test_backend_terminated_mid_merge(figures, pg_server, mdm_template, mdm, sandboxes, kind):
    """A first sync (merge and push), a day of changes at the source, and the merge of that day's
    extraction terminated while it waits to write a later table; the retry merges it again, then pushes."""
    args, differing, stopped_in = merge_day_terminated(kind, pg_server, mdm_template, mdm, sandboxes)
    assert stopped_in, "the merge was not stopped mid-way"
    retry_until_ok(kind, args, tries=1, label="push")
    verdict = judge(kind, mdm, sandboxes, args)
    verdict["lost"] += len(differing)
    verdict["accepted"] -= len(differing)
    verdict["detail"]["canonical"] = sorted(differing)[:10]
    record(figures, f"PostgreSQL backend terminated mid-merge of the {kind} day, then the retry and the push", verdict)
