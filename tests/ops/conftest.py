"""One local Airflow deployment for the tests under tests/ops, started as ``make airflow`` starts it
(the fixture ``local_airflow`` lives in tests/opskit.py: the reliability suite starts one too).

Free ports, a temporary AIRFLOW_HOME and databases of its own; the probe DAGs of tests/ops/dags as a
second bundle; fast retries. At the end it is stopped and nothing it started may still be running.
"""

from __future__ import annotations

import pytest

from opskit import local_airflow  # noqa: F401 - the session fixture


@pytest.fixture(scope="session")
def green_run(local_airflow) -> str:  # noqa: F811 - the fixture above
    """A run of org_sync_daily triggered through the API, finished: its run id."""
    run_id = local_airflow.trigger("org_sync_daily")
    assert local_airflow.wait_for_run("org_sync_daily", run_id) == "success"
    return run_id
