"""The sync-health app: ``/`` (the page) and ``/numbers`` (its numbers as JSON).

The api-server mounts plugin apps outside its own auth, so every route depends on Airflow's:
``requires_access_dag("GET")`` reads the login JWT (``Authorization: Bearer …``, else the UI's
``_token`` cookie, which the page gets inside the UI), resolves the user through the auth manager
(no token: 401; expired: 401; forged: 403) and asks it whether the user may read DAGs (no: 403).
"""

from __future__ import annotations

from typing import Annotated, Any

from airflow.api_fastapi.core_api.security import requires_access_dag
from fastapi import Depends, FastAPI, Query
from fastapi.responses import HTMLResponse

URL_PREFIX = "/expense-sync-health"
Days = Annotated[int, Query(ge=1, le=366, description="the window: runs started in the last `days` days")]


def _numbers(days: int) -> dict[str, Any]:
    from expense_sync.health.queries import numbers
    from expense_sync.store.db import connect

    with connect() as conn:
        return numbers(conn, days=days)


def create_app() -> FastAPI:
    app = FastAPI(
        title="expense-sync sync health",
        dependencies=[Depends(requires_access_dag("GET"))],
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )

    @app.get("/", response_class=HTMLResponse)
    def page(days: Days = 30) -> str:
        from expense_sync.health.page import render

        return render(_numbers(days))

    @app.get("/numbers")
    def numbers(days: Days = 30) -> dict[str, Any]:
        return _numbers(days)

    return app
