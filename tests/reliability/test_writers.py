"""The writers to 合思 other than the ERP vouchers — the org push (org_sync_daily), the chart push of cost
centers and projects as dimension items (expense_category_sync_weekly) and the voucher-number
write-back (voucher_status_pull) — under the worst operating day: the writer SIGKILLed once 合思 has
received its k-th write, overlapping runs, vendor fault storms, and its PostgreSQL backend terminated
mid-push and mid-merge. Judged by what 合思's sandbox holds (each record once, with the canonical
values; each claim's number written and the claim closed) and, for the merges, by the canonical
tables a clean run leaves."""

from __future__ import annotations

import os

import psycopg
import pytest

from chartkit import ErpWorld, chart_state
from testkit import canonical_state
from writerkit import (
    OA,
    WRITERS,
    args_json,
    chart_world,
    finish,
    judge,
    kill_at_write,
    org_world,
    record,
    retry_until_ok,
    start_child,
    storm,
    terminate_at_write,
    terminate_mid_merge,
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
    record(figures, f"kill -9 at 合思's 1st, 2nd, 3rd write of {LABEL[writer]}, then the retry", verdict)


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


def churn(kind: str, sandboxes, mdm) -> None:
    if kind == "org":
        oa = sandboxes.control(OA)
        new_unit = oa.mutate("new_department", parent_id=2, name="审计二部")
        for dept in (new_unit, 3, 5):
            oa.mutate("hire", dept_id=dept)
        oa.mutate("leave", userid="u0000005")
        oa.mutate("leave", userid="u0000006")
        oa.mutate("transfer", userid="u0000007", dept_id=new_unit)
        oa.mutate("rename_person", userid="u0000008", name="改名后")
        oa.mutate("rename_department", dept_id=4, name="新名字部")
    else:
        erp = ErpWorld("kingdee", sandboxes)
        centers = [r[0] for r in mdm.execute("SELECT code FROM mdm.cost_center WHERE active ORDER BY code")]
        projects = [r[0] for r in mdm.execute("SELECT code FROM mdm.project WHERE active ORDER BY code")]
        for code in centers[:3]:
            erp.rename_cost_center(code, f"改名{code}")
        erp.close_project(projects[0])


def extract(kind: str, conn, run_key: str) -> dict:
    from expense_sync.chart.extract import extract_chart
    from expense_sync.hooks.erp import erp_hook
    from expense_sync.hooks.oa import oa_hook
    from expense_sync.org.extract import extract_directory

    if kind == "org":
        return {"loads": extract_directory(conn, oa_hook(OA), run_key)["loads"]}
    return {"loads": extract_chart(conn, erp_hook("kingdee"), run_key)["loads"]}


def merge(kind: str, conn, loads: dict, run_key: str) -> None:
    from expense_sync.chart.merge import merge_chart
    from expense_sync.org.merge import merge_directory

    if kind == "org":
        merge_directory(conn, loads, run_key)
    else:
        merge_chart(conn, loads, run_key)


def canonical(kind: str, conn) -> dict:
    """The canonical tables by business key (no surrogate ids or times)."""
    if kind == "org":
        state = canonical_state(conn)
        return {(entity, key): value for entity, records in state.items() for key, value in records.items()}
    return {(table, row[0]): row for table, rows in chart_state(conn).items() for row in rows}


@pytest.mark.parametrize("kind", ["org", "chart"])
def test_backend_terminated_mid_merge(figures, pg_server, mdm_template, mdm, sandboxes, kind):
    """A first sync (merge and push), a day of changes at the source, and the merge of that day's
    extraction terminated while it waits to write its second table; the retry merges it again."""
    url = os.environ["AIRFLOW_CONN_MDM_POSTGRES"]
    clean_db = pg_server.create_database("expense_sync_clean", template=mdm_template)
    try:
        with psycopg.connect(pg_server.url(clean_db), autocommit=True) as clean:
            args = org_world(mdm) if kind == "org" else chart_world(mdm)
            if kind == "chart":
                from chartkit import seed_org_units

                seed_org_units(clean, "kingdee")
            merge(kind, clean, extract(kind, clean, "clean/1")["loads"], "clean/1")
            retry_until_ok(kind, args, tries=1, label="first")
            churn(kind, sandboxes, mdm)
            day = extract(kind, mdm, "day/2")
            merge(kind, clean, extract(kind, clean, "clean/2")["loads"], "clean/2")
            table = "mdm.employee" if kind == "org" else "mdm.cost_center"
            stopped_in = terminate_mid_merge(f"{kind}_merge", day, sandboxes, mdm, url, table)
            merge(kind, mdm, day["loads"], "day/2-retry")
            got, want = canonical(kind, mdm), canonical(kind, clean)
    finally:
        pg_server.drop_database(clean_db)
    differing = {key for key in want.keys() | got.keys() if got.get(key) != want.get(key)}
    retry_until_ok(kind, args, tries=1, label="push")
    verdict = judge(kind, mdm, sandboxes, args)
    verdict["lost"] += len(differing)
    verdict["accepted"] -= len(differing & set(want))
    verdict["detail"]["canonical"] = sorted(differing)[:10]
    assert want, "the clean run merged nothing"
    assert stopped_in, "the merge was not stopped mid-way"
    record(figures, f"PostgreSQL backend terminated mid-merge of the {kind} day, then the retry and the push", verdict)
