"""Command line: ``python -m expense_sync migrate | setup | queue | resolve``.

``migrate`` and ``resolve`` use the Airflow connection ``mdm_postgres`` (from ``AIRFLOW_CONN_MDM_POSTGRES``
or the metadata database), or ``--dsn``. ``setup`` readies a fresh Airflow (connections, variables,
pools, migrations, the UI login): see :mod:`expense_sync.bootstrap`. ``queue`` lists the open items of
the exception queue (``--reason``, ``--entity`` narrow it), one a line: item id, kind, entity, record
key, reason code, reason (with the vendor's text). ``resolve`` closes one item of the exception queue
with a decision, who took it and why, kept in ``sync.exception_event``; resolving a ``voucher_refused``
item releases its claim, which the next ``claim_events`` run validates and posts again through the
exactly-once write (looked up by claim number first, so never twice).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


class CliError(Exception):
    """What the command needs and does not have, in one line (no traceback)."""


def _airflow_configured() -> bool:
    """Whether an Airflow metadata database is configured here; asking Airflow without one would make
    an empty SQLite ``airflow.db`` in the home directory and then fail."""
    if os.environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN") or os.environ.get("AIRFLOW_HOME"):
        return True  # a deployment (the image sets AIRFLOW_HOME) or a deliberate choice
    return (Path.home() / "airflow" / "airflow.cfg").exists()


def _connect(dsn: str | None, conn_id: str):
    """A middle-platform connection outside any task: the URL given, or the Airflow connection as the
    deployment resolves it (``AIRFLOW_CONN_<ID>`` first, then the metadata database)."""
    import psycopg
    from psycopg.conninfo import make_conninfo

    if not dsn:
        from_env = os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}")
        if not from_env and not _airflow_configured():
            raise CliError(
                f"no {conn_id} connection here: run `make resolve` beside `make airflow`, `docker compose exec "
                f"airflow-scheduler python -m expense_sync …` with compose, or give --dsn "
                f"or AIRFLOW_CONN_{conn_id.upper()}"
            )
        from airflow.exceptions import AirflowNotFoundException
        from airflow.models.connection import Connection

        try:
            conn = (
                Connection(conn_id=conn_id, uri=from_env)
                if from_env
                else Connection.get_connection_from_secrets(conn_id)
            )
        except AirflowNotFoundException:
            raise CliError(
                f"the Airflow deployment here has no {conn_id} connection: run `python -m expense_sync setup`"
            ) from None
        parts = {"host": conn.host, "port": conn.port or 5432, "dbname": conn.schema}
        dsn = make_conninfo("", **parts, user=conn.login, password=conn.password)
    try:
        return psycopg.connect(dsn, autocommit=True)
    except psycopg.OperationalError as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CliError(f"the middle platform is not reachable ({first})") from None


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except CliError as err:
        print(f"expense_sync: {err}", file=sys.stderr)
        return 2


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m expense_sync")
    sub = parser.add_subparsers(dest="command", required=True)
    migrate = sub.add_parser("migrate", help="apply pending SQL migrations to the middle platform")
    setup = sub.add_parser("setup", help="connections, variables and pools into Airflow; migrations; the UI login")
    setup.add_argument("--no-migrate", action="store_true", help="leave the middle platform alone")
    setup.add_argument(
        "--overwrite-variables",
        action="store_true",
        help="set each AIRFLOW_VAR_* of the environment even where the Variable was changed in Airflow",
    )
    setup.add_argument(
        "--no-vendor-check", action="store_true", help="do not ask the vendors whether their prerequisites are met"
    )
    listing = sub.add_parser("queue", help="list the open items of the exception queue")
    listing.add_argument("--reason", help="only this reason code, e.g. voucher_refused")
    listing.add_argument("--entity", help="only this entity, e.g. claim")
    resolve = sub.add_parser("resolve", help="close an exception-queue item with a decision (kept in its history)")
    resolve.add_argument("item_id", type=int, help="sync.exception_item.item_id")
    resolve.add_argument("--decision", required=True, help="what was decided, e.g. 'kept the ERP account'")
    resolve.add_argument("--by", required=True, help="who decided (a person, not 'system')")
    resolve.add_argument("--note", default="", help="why, or where the evidence is")
    for command in (migrate, listing, resolve):
        command.add_argument("--dsn", help="a PostgreSQL URL instead of the Airflow connection")
        command.add_argument("--conn-id", default="mdm_postgres")
    args = parser.parse_args(argv)

    if args.command == "setup":
        from expense_sync.bootstrap import setup as run_setup

        run_setup(
            migrate=not args.no_migrate,
            check_vendors=not args.no_vendor_check,
            overwrite_variables=args.overwrite_variables,
        )

    if args.command == "migrate":
        from expense_sync.store.migrate import migrate as apply

        with _connect(args.dsn, args.conn_id) as conn:
            applied = apply(conn)
        print(f"applied {len(applied)} migration(s)" + (f": {', '.join(applied)}" if applied else ""))

    if args.command == "queue":
        from expense_sync.store import sqlfile
        from expense_sync.store.queue import SQL

        with _connect(args.dsn, args.conn_id) as conn:
            rows = conn.execute(
                sqlfile.step(SQL, "list_open"), (args.reason, args.reason, args.entity, args.entity)
            ).fetchall()
        for row in rows:
            print("\t".join(str(value) for value in row))
        print(f"{len(rows)} open item(s)", file=sys.stderr)

    if args.command == "resolve":
        from expense_sync.store import sqlfile
        from expense_sync.store.queue import SQL, SYSTEM_ACTOR, resolve_item

        if args.by.strip().lower() == SYSTEM_ACTOR:
            parser.error("--by names the person who decided")
        with _connect(args.dsn, args.conn_id) as conn, conn.transaction():
            row = conn.execute(sqlfile.step(SQL, "take_item"), (args.item_id,)).fetchone()
            if row is None or row[0] == "resolved":
                print(f"item {args.item_id} is {'unknown' if row is None else 'already resolved'}", file=sys.stderr)
                return 1
            resolve_item(conn, args.item_id, decision=args.decision, actor=args.by.strip(), note=args.note)
        print(f"item {args.item_id} ({row[1]} {row[2]}: {row[3]}) resolved by {args.by.strip()}: {args.decision}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
