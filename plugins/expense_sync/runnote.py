"""A DAG run's note, written from a task through Airflow's REST API.

Airflow 3.3's Task SDK has no call that changes the note of the running DAG run (its execution API
reads a run's note and sets one only when it *triggers* a run), and a task may not touch the
metadata database. The supported way is the public REST API, as the UI does it:
``PATCH /api/v2/dags/{dag_id}/dagRuns/{run_id}?update_mask=note`` with ``{"note": …}``, with a JWT
from ``POST /auth/token``. The note shows in the grid (the run's tooltip and its details) and on the
run's page.

Configuration: the connection ``airflow_api`` (type ``http``): host and port (and ``schema``
``https`` for TLS) of the api-server, login / password of an Airflow user allowed to edit DAG runs
(SimpleAuthManager role ``user`` or above). Unset, no note is written (the counts are in the task's
log and its XCom); a failure to write it is logged and never fails the task.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

import requests

from expense_sync.airflow_rest import AirflowRest
from expense_sync.settings import AIRFLOW_API_CONN_ID

log = logging.getLogger(__name__)
TIMEOUT = 10  # seconds per call
NOTE_CHARS = 1000  # Airflow refuses a longer note


def _base_url(conn) -> str:
    host = (conn.host or "").rstrip("/")
    if "://" in host:
        return host
    port = f":{conn.port}" if conn.port else ""
    return f"{conn.schema or 'http'}://{host}{port}"


def write_note(dag_id: str, run_id: str, note: str) -> bool:
    """Set the note of run ``run_id`` of ``dag_id``; False when ``airflow_api`` is not configured or
    the API refused (logged, without the password or the token)."""
    from expense_sync.alerts import _connection, _scrub

    conn = _connection(AIRFLOW_API_CONN_ID)
    if conn is None or not conn.host:
        log.info("no %s connection: the run's note is not written (%d chars)", AIRFLOW_API_CONN_ID, len(note))
        return False
    api = AirflowRest(_base_url(conn), conn.login or "", conn.password or "", TIMEOUT)
    try:
        api.call(
            "PATCH",
            f"/api/v2/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}",
            params={"update_mask": "note"},
            json={"note": note[:NOTE_CHARS]},
        )
    except (requests.RequestException, KeyError, ValueError) as err:
        log.error("the run's note is not written: %s", _scrub(f"{type(err).__name__}: {err}", conn.password, api.token))
        return False
    log.info("note written on %s %s", dag_id, run_id)
    return True
