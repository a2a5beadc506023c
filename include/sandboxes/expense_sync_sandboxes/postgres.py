"""A PostgreSQL server for tests, the demo and benchmarks: the local one, or a throwaway cluster.

:class:`LocalPostgres` uses the server at ``$EXPENSE_SYNC_PG_SERVER`` (default
``postgresql://postgres@127.0.0.1:5432/postgres``) when it answers; otherwise it runs ``initdb`` and
``pg_ctl`` from the machine's PostgreSQL packages into a temporary folder on a free port (as the
``postgres`` OS user when we are root: PostgreSQL refuses to run as root) and removes it on stop.
Databases are created and dropped per use, so nothing depends on what an earlier run left.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid

import psycopg
from psycopg import sql

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def _binary(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if not found:
        raise RuntimeError(
            f"no PostgreSQL server answers and {name} is not installed "
            "(apt-get install postgresql, or set EXPENSE_SYNC_PG_SERVER)"
        )
    return found


def _answers(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


class LocalPostgres:
    def __init__(self, server_url: str | None = None) -> None:
        self.server_url = server_url or os.environ.get("EXPENSE_SYNC_PG_SERVER", DEFAULT_SERVER)
        self.cluster_dir: str | None = None
        self._as_user: list[str] = []

    def start(self) -> LocalPostgres:
        if _answers(self.server_url):
            return self
        self._start_cluster()
        return self

    def _start_cluster(self) -> None:
        initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
        base = tempfile.mkdtemp(prefix="expense-sync-pg-")
        if os.geteuid() == 0:
            self._as_user = ["runuser", "-u", "postgres", "--"]
            shutil.chown(base, "postgres", "postgres")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        data = os.path.join(base, "data")
        subprocess.run(
            self._as_user + [initdb, "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale"],
            check=True,
            capture_output=True,
        )
        options = (
            f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        subprocess.run(
            self._as_user + [pg_ctl, "-D", data, "-l", os.path.join(base, "log"), "-w", "start", "-o", options],
            check=True,
            capture_output=True,
        )
        self.cluster_dir = base
        self.server_url = f"postgresql://postgres@127.0.0.1:{port}/postgres"

    def stop(self) -> None:
        if self.cluster_dir:
            subprocess.run(
                self._as_user
                + [_binary("pg_ctl"), "-D", os.path.join(self.cluster_dir, "data"), "-m", "fast", "-w", "stop"],
                capture_output=True,
            )
            shutil.rmtree(self.cluster_dir, ignore_errors=True)
            self.cluster_dir = None

    def url(self, database: str) -> str:
        return self.server_url.rsplit("/", 1)[0] + f"/{database}"

    def create_database(self, prefix: str = "expense_sync", template: str | None = None) -> str:
        """Create a fresh database (optionally from a template); return its name."""
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            conn.execute(statement)
        return name

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def __enter__(self) -> LocalPostgres:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
