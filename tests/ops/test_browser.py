"""A person's look at the deployment: headless Chromium (Debian's package, installed by ``make test``)
signs in to the Airflow UI, opens the DAG list and each DAG of the strategy table, then the Data Docs
index and a validation page; screenshots land in test-artifacts/browser/. Any page that shows an
error, throws, or never shows its content fails the test."""

from pathlib import Path

from browser_check import Browser, capture, check_airflow, check_data_docs
from testkit import ROOT, strategy_table

OUT = ROOT / "test-artifacts" / "browser"


def test_the_airflow_ui_and_the_data_docs_show_no_error(local_airflow, green_run):
    docs = Path(local_airflow.settings.environment["EXPENSE_SYNC_GX_RESULTS_DIR"]) / "data_docs/local_site/index.html"
    dag_ids = sorted(strategy_table())
    with Browser() as browser:
        shots = check_airflow(
            browser,
            local_airflow.url,
            "admin",
            local_airflow.password,
            dag_ids,
            OUT,
            runs={"org_sync_daily": green_run},
        )
        shots += check_data_docs(browser, docs, OUT, ("Validation Results", green_run))
        missing = capture(browser, "90-no-such-dag", f"{local_airflow.url}/dags/no_such_dag", ("Dag Not Found",), OUT)
    assert "shows 'Dag Not Found'" in missing.errors  # the check sees an error page for what it is
    assert {s.name: s.errors for s in shots if s.errors} == {}
    assert len(shots) == 2 + len(dag_ids) + 1 + 2 and all(s.path.stat().st_size > 5_000 for s in shots)
