"""The data health checks catch what they promise, name the failures, and leave offline Data Docs."""

import json
import logging
import re

import pytest

from expense_sync import rules
from expense_sync.quality.checkpoint import DataHealthCheckFailed, docs_index, run_checkpoint
from testkit import ROOT

SUITES = ROOT / "great_expectations" / "expectations"


def seed(conn):
    conn.execute("""
        INSERT INTO mdm.org_unit (org_unit_id, code, name, parent_id, source_updated_at) VALUES
            (1, 'ROOT', '集团', NULL, now()), (2, 'FIN', '财务部', 1, now()), (3, 'HR', '人力部', 1, now());
        INSERT INTO mdm.employee (employee_no, name, email, mobile, org_unit_id, source_updated_at) VALUES
            ('E1', '王伟', 'wang@example.com', '13800000001', 2, now()),
            ('E2', '李娜', NULL, '+85291234567', 3, now());
    """)


def test_the_suites_use_the_same_format_rules_as_the_merge():
    employees = json.loads((SUITES / "employees.json").read_text(encoding="utf-8"))
    regexes = {
        e["kwargs"]["column"]: e["kwargs"]["regex"]
        for e in employees["expectations"]
        if e["type"] == "expect_column_values_to_match_regex"
    }
    assert regexes == {"email": rules.EMAIL_RE, "mobile": rules.MOBILE_RE}


def test_clean_canonical_data_passes_and_the_docs_are_offline(mdm, monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("EXPENSE_SYNC_GX_RESULTS_DIR", str(tmp_path))
    seed(mdm)
    with caplog.at_level(logging.INFO):
        summary = run_checkpoint("org_sync", run_name="clean")
    # GX's own INFO chatter stays out of the task log: only our summary line is there
    assert not [r for r in caplog.records if r.name.startswith("great_expectations") and r.levelno < logging.WARNING]
    assert [r.getMessage()[:32] for r in caplog.records if r.name == "expense_sync.quality.checkpoint"] == [
        'data health check org_sync: [{"s'
    ]
    assert summary["success"] and [s["suite"] for s in summary["suites"]] == ["org_units", "employees"]
    pages = list(docs_index().parent.rglob("*.html"))
    assert docs_index().exists() and len(pages) >= 3
    remote = re.compile(r"<(script|link|img)[^>]+(src|href)=[\"']https?://", re.IGNORECASE)
    assert not [p for p in pages if remote.search(p.read_text(encoding="utf-8"))]
    assert not [p for p in pages if re.search(r"url\(\s*[\"']?https?://", p.read_text(encoding="utf-8"))]
    assert "validations" in {p.parent.parent.parent.name for p in pages} | {part for p in pages for part in p.parts}
    index = docs_index().read_text(encoding="utf-8")
    assert "<script" not in index  # the inline scripts needed the removed jQuery and would only throw
    assert index.count('href="validations/') == 2 and "<td>clean</td>" in index  # the result list is static HTML


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (
            "UPDATE mdm.org_unit SET parent_id = 3 WHERE org_unit_id = 2; "
            "UPDATE mdm.org_unit SET parent_id = 2 WHERE org_unit_id = 3",
            "No cycles",
        ),
        (
            "INSERT INTO mdm.org_unit (org_unit_id, code, name, source_updated_at) "
            "VALUES (4, 'ROOT2', '第二集团', now())",
            "Exactly one root",
        ),
        ("UPDATE mdm.org_unit SET active = false WHERE org_unit_id = 1", "active org unit sits under an active parent"),
        (
            "UPDATE mdm.org_unit SET active = false WHERE org_unit_id = 3",
            "active employee belongs to an active org unit",
        ),
        ("UPDATE mdm.employee SET email = 'not-an-email' WHERE employee_no = 'E1'", "E-mail addresses"),
        ("UPDATE mdm.employee SET mobile = '12345' WHERE employee_no = 'E2'", "Mobile numbers"),
    ],
)
def test_damaged_data_fails_the_check_and_names_the_expectation(mdm, monkeypatch, tmp_path, damage, expected):
    monkeypatch.setenv("EXPENSE_SYNC_GX_RESULTS_DIR", str(tmp_path))
    seed(mdm)
    mdm.execute(damage)
    with pytest.raises(DataHealthCheckFailed) as caught:
        run_checkpoint("org_sync", run_name="damaged")
    assert expected in str(caught.value)
    assert all(f["error"] is None for f in caught.value.failures), "an expectation errored instead of judging"
    assert '<a class="ge-failed" href="validations/' in docs_index().read_text(encoding="utf-8")


def test_each_validation_page_names_its_period_and_run_and_leads_back_to_the_index(mdm, monkeypatch, tmp_path):
    """An auditor who opens one validation page offline sees which period, DAG and Airflow run it
    checked, can unfold GX's details without Bootstrap's script, and finds the way back to the index;
    no newsletter footer."""
    monkeypatch.setenv("EXPENSE_SYNC_GX_RESULTS_DIR", str(tmp_path))
    seed(mdm)
    label = {
        "Period": "2026-11",
        "DAG": "expense_rollup_monthly",
        "Airflow run": "scheduled__2026-11-30T16:00:00+00:00",
    }
    run_checkpoint("org_sync", run_name=label["Airflow run"], label=label)
    run_checkpoint("org_sync", run_name="another")

    site = docs_index().parent
    pages = sorted((site / "validations").rglob("*.html"))
    ours = [p for p in pages if label["Airflow run"] in p.parts]
    assert len(ours) == 2 and len(pages) == 4  # org_units and employees, per run
    for page in ours:
        text = page.read_text(encoding="utf-8")
        shown = re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)</dd>", text)
        assert dict(shown) == label
        home = re.search(r'<a class="offline-home" href="([^"]+)"', text).group(1)
        assert (page.parent / home).resolve() == docs_index().resolve()
        assert "<details" in text and 'data-toggle="collapse"' not in text  # "Show more info..." works offline
    other = next(p for p in pages if "another" in p.parts).read_text(encoding="utf-8")
    assert re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)</dd>", other) == [("Run", "another")]
    assert not [p for p in [*pages, docs_index()] if "newsletter" in p.read_text(encoding="utf-8").lower()]
