"""``python -m expense_sync setup``: connections from the environment into the metadata database (empty
ones removed), Variables seeded there (an operator's change kept), pools sized from the configured
vendor's quota and the connection's pace, the admin's password for SimpleAuthManager, and the vendors'
prerequisites."""

import json

import pytest

from expense_sync import bootstrap
from expense_sync.pools import POOL_ERP, POOL_EXPENSE, POOL_OA, slots_for


@pytest.fixture
def clean_metadata():
    from airflow.models.connection import Connection
    from airflow.models.pool import Pool
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session

    yield
    with create_session() as session:
        session.query(Connection).delete()
        session.query(Variable).delete()
        session.query(Pool).filter(Pool.pool != "default_pool").delete()


def stored_connection(conn_id):
    from airflow.models.connection import Connection
    from airflow.utils.session import create_session

    with create_session() as session:
        conn = session.query(Connection).filter(Connection.conn_id == conn_id).one_or_none()
        return (
            None
            if conn is None
            else (conn.conn_type, conn.host, conn.port, conn.login, conn.password, conn.extra_dejson)
        )


def test_connections_and_variables_are_written_and_empty_ones_removed(clean_metadata, monkeypatch):
    wecom = {
        "conn_type": "http",
        "host": "qyapi.weixin.qq.com",
        "schema": "https",
        "login": "ww1",
        "password": "s3cr3t",
    }
    written, removed = bootstrap.import_connections(
        {
            "AIRFLOW_CONN_OA_WECOM": json.dumps({**wecom, "extra": {"rate_limit_qps": 15}}),
            "AIRFLOW_CONN_MDM_POSTGRES": "postgresql://sync:pw@db.internal:5432/expense_sync",
            "AIRFLOW_CONN_ALERTS_SMTP": "",
            "HOME": "/root",
        }
    )
    assert (written, removed) == (["mdm_postgres", "oa_wecom"], [])
    assert stored_connection("oa_wecom") == (
        "http",
        "qyapi.weixin.qq.com",
        None,
        "ww1",
        "s3cr3t",
        {"rate_limit_qps": 15},
    )
    assert stored_connection("mdm_postgres")[:5] == ("postgres", "db.internal", 5432, "sync", "pw")

    bootstrap.import_connections({"AIRFLOW_CONN_OA_WECOM": json.dumps({**wecom, "password": "rotated"})})
    assert stored_connection("oa_wecom")[4] == "rotated"
    assert bootstrap.import_connections({"AIRFLOW_CONN_OA_WECOM": " "}) == ([], ["oa_wecom"])
    assert stored_connection("oa_wecom") is None

    from airflow.models.variable import Variable

    env = {"AIRFLOW_VAR_EXPENSE_SYNC_OA_VENDOR": "wecom"}
    monkeypatch.setenv("AIRFLOW_VAR_EXPENSE_SYNC_OA_VENDOR", "wecom")  # as setup runs: the value in its environment
    assert bootstrap.import_variables(env) == (["expense_sync_oa_vendor"], [], [])
    assert bootstrap.stored_variable("expense_sync_oa_vendor") == "wecom"
    # an operator changes it in the UI: setup run again (a restart) keeps the operator's value
    Variable.set("expense_sync_oa_vendor", "dingtalk")
    assert bootstrap.import_variables(env) == ([], [], ["expense_sync_oa_vendor"])
    assert bootstrap.import_variables({"AIRFLOW_VAR_EXPENSE_SYNC_OA_VENDOR": ""}) == ([], [], [])
    assert bootstrap.stored_variable("expense_sync_oa_vendor") == "dingtalk"
    # unless told to take the environment's
    assert bootstrap.import_variables(env, overwrite=True) == (["expense_sync_oa_vendor"], [], [])
    assert bootstrap.stored_variable("expense_sync_oa_vendor") == "wecom"
    assert bootstrap.import_variables({"AIRFLOW_VAR_EXPENSE_SYNC_OA_VENDOR": ""}, overwrite=True) == (
        [],
        ["expense_sync_oa_vendor"],
        [],
    )


def test_pools_follow_the_configured_vendors_quota_and_pace(clean_metadata, monkeypatch):
    from airflow.models.pool import Pool

    monkeypatch.setenv("AIRFLOW_VAR_EXPENSE_SYNC_OA_VENDOR", "wecom")
    monkeypatch.setenv("AIRFLOW_VAR_EXPENSE_SYNC_ERP_VENDOR", "sap")
    monkeypatch.setenv("AIRFLOW_CONN_OA_WECOM", json.dumps({"conn_type": "http", "extra": {"rate_limit_qps": 15}}))
    specs = {s.name: s for s in bootstrap.ensure_pools()}
    assert (specs[POOL_OA].vendor, specs[POOL_OA].conn_id, specs[POOL_OA].slots) == ("wecom", "oa_wecom", 8)
    assert (specs[POOL_ERP].vendor, specs[POOL_ERP].slots) == ("sap", 1)  # no connection yet: the default pace
    assert specs[POOL_EXPENSE].conn_id == "expense_ekuaibao"
    assert Pool.get_pool(POOL_OA).slots == 8 and "wecom" in Pool.get_pool(POOL_OA).description

    monkeypatch.setenv("AIRFLOW_VAR_EXPENSE_SYNC_OA_VENDOR", "dingtalk")
    monkeypatch.setenv("AIRFLOW_VAR_EXPENSE_SYNC_VENDOR_QUOTA_QPS", '{"dingtalk": 40}')
    monkeypatch.setenv("AIRFLOW_CONN_OA_DINGTALK", json.dumps({"conn_type": "http", "extra": {"rate_limit_qps": 15}}))
    bootstrap.ensure_pools()
    assert Pool.get_pool(POOL_OA).slots == 2  # floor(40 x 0.8 / 15)

    monkeypatch.setenv("AIRFLOW_VAR_EXPENSE_SYNC_OA_VENDOR", "feishu")
    with pytest.raises(ValueError, match="expense_sync_oa_vendor='feishu'"):
        bootstrap.ensure_pools()


def test_the_slot_formula_never_goes_below_one():
    assert slots_for(20, 15) == 1 and slots_for(20, 40) == 1 and slots_for(10_000 / 60, 10) == 13


def test_the_admin_password_goes_into_the_passwords_file(tmp_path, monkeypatch):
    path = tmp_path / "passwords.json"
    path.write_text(json.dumps({"viewer": "kept"}))
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "viewer:viewer,boss:admin")
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE", str(path))
    assert bootstrap.write_admin_password("chosen-pw") == "boss"
    assert json.loads(path.read_text()) == {"viewer": "kept", "boss": "chosen-pw"}
    assert path.stat().st_mode & 0o077 == 0


def test_setup_reports_each_configured_vendors_prerequisites(sandboxes, monkeypatch):
    from expense_sync.bootstrap import vendor_prerequisites

    assert vendor_prerequisites() == ["erp kingdee: ok", "oa dingtalk: ok", "expense ekuaibao: ok"]

    # an unreachable ERP is reported in one line, and does not stop setup
    monkeypatch.setenv("AIRFLOW_CONN_ERP_KINGDEE", "http://user:pw@127.0.0.1:9/?max_attempts=1")
    lines = vendor_prerequisites()
    assert lines[0].startswith("erp kingdee: prerequisites not checked (")
    assert lines[1:] == ["oa dingtalk: ok", "expense ekuaibao: ok"]
