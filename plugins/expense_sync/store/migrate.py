"""Versioned SQL migrations, applied idempotently.

Files ``include/sql/migrations/V<version>__<name>.sql`` run in version order, all pending ones in
one transaction (PostgreSQL DDL is transactional: all apply or none), under an advisory lock so
that two workers never migrate at once. Applied versions and
their checksums are kept in ``public.expense_sync_migration``; a changed checksum of an applied file
is an error (a migration never changes once applied: write a new one).
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import psycopg

from expense_sync.settings import MIGRATIONS_DIR
from expense_sync.store import sqlfile

log = logging.getLogger(__name__)
SQL = "store/migrate"
LOCK_KEY = 8_734_201  # pg_advisory_xact_lock key for migrations
FILE_PATTERN = re.compile(r"^V(\d{4})__([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def discover(folder: Path = MIGRATIONS_DIR) -> list[Migration]:
    found = []
    for path in sorted(folder.glob("*.sql")):
        match = FILE_PATTERN.match(path.name)
        if not match:
            raise ValueError(f"{path.name}: migration files are named V<4 digits>__<snake_name>.sql")
        found.append(Migration(match[1], match[2], path))
    versions = [m.version for m in found]
    if len(versions) != len(set(versions)):
        raise ValueError(f"duplicate migration versions in {folder}")
    return found


def migrate(conn: psycopg.Connection, folder: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply the pending migrations; return the versions applied now."""
    migrations = discover(folder)
    applied_now = []
    with conn.transaction():
        conn.execute(sqlfile.step(SQL, "lock"), (LOCK_KEY,))
        conn.execute(sqlfile.step(SQL, "create_table"))
        applied: dict[str, str] = dict(conn.execute(sqlfile.step(SQL, "applied")).fetchall())
        for migration in migrations:
            if migration.version in applied:
                if applied[migration.version] != migration.checksum:
                    raise RuntimeError(
                        f"migration V{migration.version} ({migration.path.name}) changed after it was "
                        "applied; write a new migration instead"
                    )
                continue
            conn.execute(migration.sql)
            conn.execute(sqlfile.step(SQL, "record_applied"), (migration.version, migration.name, migration.checksum))
            applied_now.append(migration.version)
            log.info("applied migration V%s %s", migration.version, migration.name)
    return applied_now
