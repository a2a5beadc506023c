"""``python -m expense_sync``: an operator resolves a queued item with a decision that stays in its
history; the commands find ``mdm_postgres`` in the metadata database as well as in the environment
(as in the docker-compose deployment, where only the init service has it in its environment)."""

import os
import subprocess
import sys
from pathlib import Path

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


def test_without_a_deployment_it_says_what_is_missing_in_one_line_and_leaves_no_airflow_db(tmp_path):
    """Run as an operator would from a plain shell: no Airflow configured, no DSN."""
    root = Path(__file__).parents[3]
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "PYTHONPATH": str(root / "plugins")}

    def resolve() -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "expense_sync", "resolve", "1", "--decision", "x", "--by", "alice"]
        return subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)

    done = resolve()
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("expense_sync: no mdm_postgres connection here: run `make resolve`")
    assert not list(tmp_path.rglob("airflow.db"))

    # a connection that points nowhere: one line too
    env["AIRFLOW_CONN_MDM_POSTGRES"] = "postgresql://nobody@127.0.0.1:9/none"
    done = resolve()
    assert done.returncode == 2 and done.stderr.startswith("expense_sync: the middle platform is not reachable (")
    assert done.stderr.count("\n") == 1


def test_queue_lists_the_open_items_of_one_reason_with_the_vendors_text(mdm, capsys):
    refused = open_item(
        mdm,
        kind="quarantine",
        system="kingdee",
        entity="claim",
        record_key="ER-0042",
        reason_code="voucher_refused",
        detail="FACCOUNTID: 科目“2241.09 费用报销清算”已禁用",
    )
    open_item(mdm, kind="conflict", system="ekuaibao", entity="claim", record_key="ER-0043", reason_code="oa_disagrees")
    assert main(["queue", "--reason", "voucher_refused"]) == 0
    out = capsys.readouterr()
    assert out.out.splitlines() == [
        f"{refused}\tquarantine\tclaim\tER-0042\tvoucher_refused\t"
        "the ERP refused the claim's voucher: FACCOUNTID: 科目“2241.09 费用报销清算”已禁用"
    ]
    assert "1 open item(s)" in out.err
    assert main(["queue"]) == 0 and len(capsys.readouterr().out.splitlines()) == 2
