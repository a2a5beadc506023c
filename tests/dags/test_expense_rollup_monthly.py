"""expense_rollup_monthly end to end with dag.test(): rollup, reconciliation, GX checks and the auditors' pack."""

from __future__ import annotations

import csv
import os
from decimal import Decimal
from pathlib import Path

import pendulum
import pytest

from monthkit import CHART, make_claims, manual_entry
from testkit import run_dag, step_counts

DAG_ID = "expense_rollup_monthly"


@pytest.fixture
def erp(monkeypatch):
    def use(vendor, first_period="2025-01"):
        monkeypatch.setenv("AIRFLOW_VAR_EXPENSE_SYNC_ERP_VENDOR", vendor)
        if first_period:
            monkeypatch.setenv("AIRFLOW_VAR_EXPENSE_SYNC_FIRST_PERIOD", first_period)
        else:
            monkeypatch.delenv("AIRFLOW_VAR_EXPENSE_SYNC_FIRST_PERIOD", raising=False)

    return use


def rollup_vouchers_in_kingdee(sandboxes) -> list[str]:
    refs = (v.get("F_ES_ExternalRef") or "" for v in sandboxes.control("kingdee").state()["vouchers"])
    return sorted(r for r in refs if r.startswith("RU-"))


def test_a_run_without_a_logical_date_closes_the_month_before_it(dagbag, mdm, sandboxes, erp):
    erp("kingdee")
    make_claims(mdm, sandboxes, "kingdee", "2026-02", count=2)
    run = dagbag.dags[DAG_ID].test(  # no period: dag.test() keeps an earlier test's run_conf params
        logical_date=None, run_after=pendulum.datetime(2026, 3, 5, 9, tz="Asia/Shanghai"), run_conf={"period": None}
    )
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    assert str(run.state) == "success", states
    assert step_counts(mdm, "rollup")["period"] == "2026-02"
    assert rollup_vouchers_in_kingdee(sandboxes) == ["RU-2026-02-001-1"]
    pages = list((results_dir() / "data_docs" / "local_site" / "validations").rglob(f"*/{run.run_id}/*/*.html"))
    assert pages and all(  # an auditor's validation page says which month, DAG and run it checked
        "<dt>Period</dt><dd>2026-02</dd><dt>DAG</dt><dd>expense_rollup_monthly</dd>" in p.read_text(encoding="utf-8")
        for p in pages
    )


def test_no_run_posts_a_month_before_the_first_period(dagbag, mdm, sandboxes, erp):
    erp("kingdee", first_period=None)  # unset: the month before the first run, recorded by it
    make_claims(mdm, sandboxes, "kingdee", "2025-10", count=2)
    state, tasks = run_dag(dagbag, DAG_ID, period="2025-10")
    assert state == "success" and tasks["period_open"] == "success", tasks
    assert {tasks[t] for t in ("rollup_month", "reconcile_month", "build_auditors_pack")} == {"skipped"}, tasks
    assert rollup_vouchers_in_kingdee(sandboxes) == []
    recorded = mdm.execute("SELECT value FROM sync.watermark WHERE stream = 'monthend:first_period'").fetchone()[0]
    expected = pendulum.now("Asia/Shanghai").start_of("month").subtract(months=1)
    assert pendulum.instance(recorded).in_timezone("Asia/Shanghai") == expected  # it stays put from now on

    erp("kingdee", first_period="2025-10")  # an operator opens the earlier month on purpose
    state, tasks = run_dag(dagbag, DAG_ID, period="2025-10")
    assert state == "success" and tasks["rollup_month"] == "success", tasks
    assert rollup_vouchers_in_kingdee(sandboxes) == ["RU-2025-10-001-1"]


def results_dir() -> Path:
    return Path(os.environ["EXPENSE_SYNC_GX_RESULTS_DIR"])


def test_the_month_of_the_data_interval_closes_reconciled_with_its_pack(dagbag, mdm, sandboxes, erp):
    erp("kingdee")
    claims = make_claims(mdm, sandboxes, "kingdee", "2026-02", count=6)
    manual_entry(sandboxes, "kingdee", "2026-02", "77.70")
    run = dagbag.dags[DAG_ID].test(
        logical_date=pendulum.datetime(2026, 3, 1, 3, tz="Asia/Shanghai"), run_conf={"period": None}
    )
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    assert str(run.state) == "success", states

    reconciled = step_counts(mdm, "reconcile")
    assert reconciled["period"] == "2026-02" and reconciled["status"] == "reconciled"
    total = sum(c["total"] for c in claims)
    pack = results_dir() / "auditors_pack" / "2026-02"
    page = (pack / "index.html").read_text(encoding="utf-8")
    assert "reconciled" in page and "erp_manual_entry" in page
    with (pack / "totals.csv").open(encoding="utf-8") as f:
        totals = list(csv.DictReader(f))
    db = mdm.execute(
        "SELECT account, cost_center, project, ledger_debit, ledger_credit, claims_amount FROM fin.reconciliation_line"
    ).fetchall()
    assert sorted(
        (
            r["account"],
            r["cost_center"],
            r["project"],
            Decimal(r["ledger_debit"]),
            Decimal(r["ledger_credit"]),
            Decimal(r["claims_amount"]),
        )
        for r in totals
    ) == sorted((a, c or "", p or "", *amounts) for a, c, p, *amounts in db)
    assert sum(Decimal(r["claims_amount"]) for r in totals) == total
    with (pack / "chain.csv").open(encoding="utf-8") as f:
        chain = list(csv.DictReader(f))
    numbers = dict(mdm.execute("SELECT external_ref, number FROM fin.voucher"))
    assert len(chain) == sum(len(c["lines"]) for c in claims)
    assert all(row["claim_voucher_number"] == numbers[row["claim_voucher"]] for row in chain)
    assert all(row["rollup_voucher_number"] == numbers[row["rollup_voucher"]] for row in chain)
    assert sum(Decimal(row["amount"]) for row in chain) == total
    with (pack / "exceptions.csv").open(encoding="utf-8") as f:
        assert {r["reason_code"] for r in csv.DictReader(f)} == {"erp_manual_entry"}
    assert "validations/" in page  # the period's GX validation pages are linked
    docs = (results_dir() / "data_docs" / "local_site" / "index.html").read_text(encoding="utf-8")
    assert "../../auditors_pack/index.html" in docs
    assert "2026-02/index.html" in (results_dir() / "auditors_pack" / "index.html").read_text(encoding="utf-8")


def test_a_period_with_an_unexplained_difference_fails_the_check_but_still_gets_its_pack(dagbag, mdm, sandboxes, erp):
    erp("sap")
    make_claims(mdm, sandboxes, "sap", "2025-11", count=3)
    state, tasks = run_dag(dagbag, DAG_ID, period="2025-11")
    assert state == "success" and step_counts(mdm, "reconcile")["status"] == "reconciled"
    # a claim line changed without its voucher: the claims no longer agree with the posted vouchers
    mdm.execute(
        "UPDATE fin.claim_line SET amount = amount + 1 WHERE line_no = 1 AND claim_id = "
        "(SELECT min(claim_id) FROM fin.claim)"
    )

    state, tasks = run_dag(dagbag, DAG_ID, period="2025-11")

    assert state == "failed" and tasks["check_month_end"] == "failed"
    assert tasks["build_auditors_pack"] == "success"
    assert step_counts(mdm, "reconcile")["status"] == "differences"
    page = (results_dir() / "auditors_pack" / "2025-11" / "index.html").read_text(encoding="utf-8")
    assert "not reconciled" in page and "claim_voucher_mismatch" in page
    assert CHART["sap"]["company"] in page


def test_the_pack_a_person_opens_in_a_browser_agrees_with_the_database_to_the_cent(dagbag, mdm, sandboxes, erp):
    from browser_check import Browser, capture

    erp("yonyou")
    make_claims(mdm, sandboxes, "yonyou", "2025-12", count=5)
    state, _ = run_dag(dagbag, DAG_ID, period="2025-12")
    assert state == "success"
    index = results_dir() / "auditors_pack" / "index.html"
    out = Path(os.environ["EXPENSE_SYNC_GX_RESULTS_DIR"]) / "shots"
    with Browser() as browser:
        listing = capture(browser, "packs", index.as_uri(), ("2025-12",), out)
        page = capture(browser, "pack", (index.parent / "2025-12" / "index.html").as_uri(), ("reconciled",), out)
    assert listing.errors == [] and page.errors == []
    claims_total, ledger_total, claims = mdm.execute(
        "SELECT claims_total, ledger_total, claims FROM fin.reconciliation_latest WHERE period = '2025-12'"
    ).fetchone()
    assert claims_total == ledger_total
    assert f"{claims}\t{claims_total}\t{claims_total}\t{ledger_total}\t0.00\t0.00" in page.text
    for number, total in mdm.execute("SELECT number, total FROM fin.voucher WHERE kind = 'rollup'"):
        assert f"{number}\taudited" in page.text or f"{number}\tdraft" in page.text
        assert str(total) in page.text


def test_a_month_without_claims_closes_green_and_its_pack_says_so(dagbag, mdm, sandboxes, erp):
    erp("kingdee")
    make_claims(mdm, sandboxes, "kingdee", "2025-08", count=2)  # the month before has claims; this one none
    state, tasks = run_dag(dagbag, DAG_ID, period="2025-09")

    assert state == "success", tasks
    counts = step_counts(mdm, "reconcile")
    assert (counts["period"], counts["status"], counts["companies"]) == ("2025-09", "no claims", [])
    assert mdm.execute("SELECT count(*) FROM fin.reconciliation WHERE period = '2025-09'").fetchone() == (0,)
    pack = results_dir() / "auditors_pack" / "2025-09"
    page = (pack / "index.html").read_text(encoding="utf-8")
    assert "Status: <b class='ok'>no claims in the period</b>" in page
    assert "no reconciliation yet" not in page
    assert (pack / "pack.pdf").read_bytes().startswith(b"%PDF-") and (pack / "MANIFEST.sha256").exists()
    trend = (pack / "charts" / "trend.csv").read_text(encoding="utf-8").splitlines()
    august = sum(c for (c,) in mdm.execute("SELECT total_amount FROM fin.claim WHERE period = '2025-08'"))
    assert trend[-2].split(",")[:3] == ["2025-08", "2", str(august)] and trend[-1].split(",")[:3] == [
        "2025-09",
        "0",
        "0.00",
    ]
