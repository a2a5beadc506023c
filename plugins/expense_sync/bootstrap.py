"""``python -m expense_sync setup``: make a fresh Airflow ready to run the DAGs (idempotent).

The docker-compose init service and ``make airflow`` run it after ``airflow db migrate``:

1. **connections and variables**: every ``AIRFLOW_CONN_<ID>`` and ``AIRFLOW_VAR_<NAME>`` in the
   environment is written to the metadata database, so operators see (and may edit) them in the UI;
   one set to an empty value is removed (an alert channel emptied in .env turns off); where the same
   variable is still set in a component's environment, that value wins;
2. **pools**: one per vendor role, sized from the configured vendor's rate limit
   (:mod:`expense_sync.pools`);
3. **the middle platform**: pending SQL migrations, when ``mdm_postgres`` is configured;
4. **the UI login**: with ``EXPENSE_SYNC_ADMIN_PASSWORD`` set, the password of the first admin of
   ``[core] simple_auth_manager_users`` goes into ``[core] simple_auth_manager_passwords_file``.

It prints what it did by name; no value of a connection, variable or password is printed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from expense_sync.hooks.registry import hook_class
from expense_sync.pools import DEFAULT_RATE_LIMIT_QPS, ROLES, PoolSpec
from expense_sync.settings import (
    DEFAULT_VENDORS,
    MDM_CONN_ID,
    VAR_VENDOR_QUOTA_QPS,
    VENDOR_VARIABLES,
    vendor_of,
)

CONN_PREFIX, VAR_PREFIX = "AIRFLOW_CONN_", "AIRFLOW_VAR_"
ADMIN_PASSWORD_ENV = "EXPENSE_SYNC_ADMIN_PASSWORD"


def import_connections(environ: dict[str, str]) -> tuple[list[str], list[str]]:
    """Upsert every ``AIRFLOW_CONN_<ID>`` of ``environ`` into the metadata database; one set to an empty
    value is removed from it (so an alert channel emptied in .env turns off). The ids written and removed."""
    from airflow.models.connection import Connection
    from airflow.utils.session import create_session

    written, removed = [], []
    for name, value in sorted(environ.items()):
        if not name.startswith(CONN_PREFIX):
            continue
        conn_id = name.removeprefix(CONN_PREFIX).lower()
        with create_session() as session:
            existing = session.query(Connection).filter(Connection.conn_id == conn_id).one_or_none()
            if not value.strip():
                if existing is not None:
                    session.delete(existing)
                    removed.append(conn_id)
                continue
            parsed = (
                Connection.from_json(value, conn_id=conn_id)
                if value.lstrip().startswith("{")
                else Connection(conn_id=conn_id, uri=value)
            )
            target = existing or Connection(conn_id=conn_id)
            for field in ("conn_type", "description", "host", "schema", "login", "port"):
                setattr(target, field, getattr(parsed, field))
            target.set_password(parsed.password)
            target.set_extra(parsed.extra)
            session.add(target)
        written.append(conn_id)
    return written, removed


def stored_variable(key: str) -> str | None:
    """The Variable's value in the metadata database itself (``Variable.get`` would answer from the
    environment first, which during setup holds the value being seeded)."""
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.query(Variable).filter(Variable.key == key).one_or_none()
        return None if row is None else row.val


def import_variables(environ: dict[str, str], *, overwrite: bool = False) -> tuple[list[str], list[str], list[str]]:
    """Seed every ``AIRFLOW_VAR_<NAME>`` of ``environ`` as a Variable in the metadata database.

    The database is where Variables live (an operator changes them in the UI; the components carry
    none in their environment): a Variable already there keeps its value, unless ``overwrite``, which
    also removes the ones set to an empty value. Returns the keys written, removed, and kept with a
    value that differs from the environment's."""
    from airflow.models.variable import Variable

    written, removed, kept = [], [], []
    for name, value in sorted(environ.items()):
        if not name.startswith(VAR_PREFIX):
            continue
        key = name.removeprefix(VAR_PREFIX).lower()
        current = stored_variable(key)
        if not value.strip():
            if overwrite and current is not None and Variable.delete(key):
                removed.append(key)
        elif current is None or (overwrite and current != value):
            Variable.set(key, value)
            written.append(key)
        elif current != value:
            kept.append(key)
    return written, removed, kept


def pool_specs() -> list[PoolSpec]:
    """The pools for the vendors this deployment is configured with (Variables and connections as now set)."""
    from airflow.models.connection import Connection
    from airflow.models.variable import Variable

    overrides = json.loads(Variable.get(VAR_VENDOR_QUOTA_QPS, default_var="{}") or "{}")
    specs = []
    for pool, (_, role) in ROLES.items():
        configured = (
            Variable.get(VENDOR_VARIABLES[role], default_var=DEFAULT_VENDORS[role])
            if role in VENDOR_VARIABLES
            else None
        )
        vendor = vendor_of(role, configured)
        hook = hook_class(role, vendor)
        conn_id = hook.default_conn_name
        try:
            extra = Connection.get_connection_from_secrets(conn_id).extra_dejson or {}
        except Exception:  # noqa: BLE001 - a role without its connection yet still gets a pool
            extra = {}
        specs.append(
            PoolSpec(
                name=pool,
                vendor=vendor,
                conn_id=conn_id,
                quota_qps=float(overrides.get(vendor, hook.quota_qps)),
                rate_limit_qps=float(extra.get("rate_limit_qps", DEFAULT_RATE_LIMIT_QPS)),
            )
        )
    return specs


def ensure_pools() -> list[PoolSpec]:
    from airflow.models.pool import Pool

    specs = pool_specs()
    for spec in specs:
        Pool.create_or_update_pool(
            name=spec.name, slots=spec.slots, description=spec.description, include_deferred=False
        )
    return specs


def migrate_middle_platform() -> list[str] | None:
    """Apply pending migrations to ``mdm_postgres``; None when that connection is not configured."""
    from airflow.models.connection import Connection

    from expense_sync.store.db import connect
    from expense_sync.store.migrate import migrate

    try:
        Connection.get_connection_from_secrets(MDM_CONN_ID)
    except Exception:  # noqa: BLE001 - AirflowNotFoundException: nothing to migrate yet
        return None
    with connect() as conn:
        return migrate(conn)


def write_admin_password(password: str) -> str:
    """Put ``password`` for the first admin user into SimpleAuthManager's passwords file; the user name."""
    from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager

    admin = next((u.username for u in SimpleAuthManager.get_users() if u.role == "admin"), None)
    if admin is None:
        raise ValueError("[core] simple_auth_manager_users names no admin (e.g. admin:admin)")
    path = Path(SimpleAuthManager.get_generated_password_file())
    current = json.loads(path.read_text()) if path.exists() and path.read_text().strip() else {}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**current, admin: password}))
    path.chmod(0o600)
    return admin


def vendor_prerequisites() -> list[str]:
    """One line per configured vendor: its prerequisites met, each one missing, or why it was not
    checked (unreachable, no connection yet). Never raises: setup reports, the deployment decides."""
    from expense_sync.hooks import registry
    from expense_sync.settings import vendor_of

    lines = []
    for role in ("erp", "oa", "expense"):
        vendor = vendor_of(role)
        try:
            problems = registry.hook_class(role, vendor)().prerequisites()
        except Exception as err:  # an unreachable vendor must not stop the deployment
            lines.append(f"{role} {vendor}: prerequisites not checked ({type(err).__name__}: {str(err)[:200]})")
            continue
        lines += [f"{role} {vendor}: MISSING {problem}" for problem in problems] or [f"{role} {vendor}: ok"]
    return lines


def setup(
    environ: dict[str, str] | None = None,
    *,
    migrate: bool = True,
    check_vendors: bool = True,
    overwrite_variables: bool = False,
) -> None:
    environ = dict(os.environ if environ is None else environ)
    written, removed = import_connections(environ)
    print(
        f"connections: {', '.join(written) or 'none in the environment'}"
        + (f"; removed {', '.join(removed)}" if removed else "")
    )
    written, removed, kept = import_variables(environ, overwrite=overwrite_variables)
    seeded = f"variables seeded: {', '.join(written) or 'none new'}"
    if removed:
        seeded += f"; removed {', '.join(removed)}"
    if kept:
        seeded += f"; kept as changed in Airflow (--overwrite-variables takes the environment's): {', '.join(kept)}"
    print(seeded)
    for spec in ensure_pools():
        print(f"pool {spec.description}")
    if migrate:
        applied = migrate_middle_platform()
        print(
            "middle platform: "
            + ("no mdm_postgres connection yet" if applied is None else f"{len(applied)} migration(s) applied")
        )
    if environ.get(ADMIN_PASSWORD_ENV):
        print(f"UI login: password of {write_admin_password(environ[ADMIN_PASSWORD_ENV])!r} set")
    if check_vendors:
        for line in vendor_prerequisites():
            print(line)
