"""``python -m expense_sync``: an operator resolves a queued item with a decision that stays in its
history; the commands find ``mdm_postgres`` in the metadata database as well as in the environment
(as in the docker-compose deployment, where only the init service has it in its environment)."""

import pytest

from expense_sync import bootstrap
from expense_sync.__main__ import main
from expense_sync.store.queue import open_item


def test_an_operator_resolves_a_conflict_and_the_history_keeps_who_and_why(mdm, capsys):
    item = open_item(
        mdm, kind="conflict", system="ekuaibao", entity="employee", record_key="E0042", reason_code="pending_documents"
    )
    assert main(["resolve", str(item), "--decision", "left active until the claims close", "--by", "alice"]) == 0
    assert "resolved by alice" in capsys.readouterr().out
    status, decision, by = mdm.execute(
        "SELECT status, decision, decided_by FROM sync.exception_item WHERE item_id = %s", (item,)
    ).fetchone()
    assert (status, decision, by) == ("resolved", "left active until the claims close", "alice")
    events = mdm.execute(
        "SELECT actor, action, detail->>'decision' FROM sync.exception_event WHERE item_id = %s ORDER BY at", (item,)
    ).fetchall()
    assert events == [("system", "queued", None), ("alice", "decided", "left active until the claims close")]

    assert main(["resolve", str(item), "--decision", "again", "--by", "bob"]) == 1  # already resolved
    assert main(["resolve", "999999", "--decision", "x", "--by", "bob"]) == 1
    with pytest.raises(SystemExit):
        main(["resolve", str(item), "--decision", "x", "--by", "system"])


def test_commands_find_the_middle_platform_in_the_metadata_database(mdm, monkeypatch, capsys):
    import os

    from airflow.models.connection import Connection
    from airflow.utils.session import create_session

    url = os.environ["AIRFLOW_CONN_MDM_POSTGRES"]
    bootstrap.import_connections({"AIRFLOW_CONN_MDM_POSTGRES": url})
    monkeypatch.delenv("AIRFLOW_CONN_MDM_POSTGRES")
    try:
        assert main(["migrate"]) == 0
        assert "applied 0 migration(s)" in capsys.readouterr().out
    finally:
        with create_session() as session:
            session.query(Connection).filter(Connection.conn_id == "mdm_postgres").delete()
