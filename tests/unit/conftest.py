"""Unit tests of pure functions: no database, no sandbox, no DAG run."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def airflow_db():
    """Overrides the session's Airflow metadata database: nothing here touches it."""
    yield
