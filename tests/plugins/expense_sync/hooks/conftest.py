"""Fixtures the vendor hook tests share."""

from __future__ import annotations

import json

import pytest

from testkit import FAST


@pytest.fixture
def kingdee(sandboxes):
    return sandboxes.control("kingdee")


@pytest.fixture
def connect(sandboxes, monkeypatch):
    """``connect(password=None, **extra)``: point ``erp_kingdee`` at the sandbox with extra settings
    (and optionally another secret)."""

    def use(password=None, **extra):
        value = json.loads(sandboxes.connection("erp_kingdee", **{**FAST, **extra}))
        if password is not None:
            value["password"] = password
        monkeypatch.setenv("AIRFLOW_CONN_ERP_KINGDEE", json.dumps(value))

    return use
