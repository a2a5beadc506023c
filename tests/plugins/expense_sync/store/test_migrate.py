"""Migrations apply once, in order, from the task or the command line, and refuse edited history."""

import subprocess
import sys

import psycopg
import pytest

from expense_sync.store import migrate
from testkit import ROOT


@pytest.fixture
def empty_db(pg_server):
    name = pg_server.create_database("expense_sync_migrate")
    yield pg_server.url(name)
    pg_server.drop_database(name)


def test_migrations_apply_once_and_a_second_run_is_a_no_op(empty_db):
    with psycopg.connect(empty_db, autocommit=True) as conn:
        first = migrate.migrate(conn)
        assert first == [m.version for m in migrate.discover()]
        assert migrate.migrate(conn) == []
        tables = {
            r[0]
            for r in conn.execute(
                "SELECT table_schema || '.' || table_name FROM information_schema.tables "
                "WHERE table_schema IN ('staging', 'mdm', 'sync')"
            )
        }
    assert {
        "staging.org_unit",
        "staging.employee",
        "mdm.org_unit",
        "mdm.employee",
        "mdm.crosswalk",
        "sync.watermark",
        "sync.run",
        "sync.outbound",
        "sync.exception_item",
    } <= tables


def test_an_edited_applied_migration_is_refused(empty_db, tmp_path):
    for m in migrate.discover():
        (tmp_path / m.path.name).write_text(m.sql, encoding="utf-8")
    with psycopg.connect(empty_db, autocommit=True) as conn:
        migrate.migrate(conn, tmp_path)
        first = sorted(tmp_path.glob("*.sql"))[0]
        first.write_text(first.read_text(encoding="utf-8") + "\n-- edited\n", encoding="utf-8")
        with pytest.raises(RuntimeError, match="changed after it was applied"):
            migrate.migrate(conn, tmp_path)


def test_badly_named_migration_files_are_refused(tmp_path):
    (tmp_path / "0001_init.sql").write_text("SELECT 1", encoding="utf-8")
    with pytest.raises(ValueError, match="V<4 digits>__<snake_name>.sql"):
        migrate.discover(tmp_path)


def test_the_command_line_entry_migrates(empty_db):
    run = [sys.executable, "-m", "expense_sync", "migrate", "--dsn", empty_db]
    env = {"PYTHONPATH": str(ROOT / "plugins"), "PATH": "/usr/bin:/bin"}
    first = subprocess.run(run, capture_output=True, text=True, cwd=ROOT, env=env, check=True)
    again = subprocess.run(run, capture_output=True, text=True, cwd=ROOT, env=env, check=True)
    assert first.stdout.startswith("applied ") and "0001" in first.stdout
    assert again.stdout.strip() == "applied 0 migration(s)"
