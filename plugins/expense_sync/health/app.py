"""The sync-health app: ``/`` (the page) and ``/numbers`` (its numbers as JSON).

The api-server mounts plugin apps outside its own auth, so every route depends on :func:`viewer`:
Airflow's login JWT (``Authorization: Bearer …``, else the UI's ``_token`` cookie, which the page
gets inside the UI) resolved by Airflow's ``resolve_user_from_token`` through the auth manager (no
token: 401; expired: 401; forged: 403), and the auth manager's word that the user may read DAGs (no:
403). Airflow's API modules are imported on the first request, not with the plugin: every task
process loads the plugin, and they would add about a second to each.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

URL_PREFIX = "/expense-sync-health"
Days = Annotated[int, Query(ge=1, le=366, description="the window: runs started in the last `days` days")]


async def viewer(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(HTTPBearer(auto_error=False))],
) -> None:
    """Let through a logged-in Airflow user who may read DAGs (the header wins over the cookie)."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN
    from airflow.api_fastapi.core_api.security import resolve_user_from_token

    token = bearer.credentials if bearer else request.cookies.get(COOKIE_NAME_JWT_TOKEN)
    user = await resolve_user_from_token(token)
    if not get_auth_manager().is_authorized_dag(method="GET", user=user):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Forbidden")


def _numbers(days: int) -> dict[str, Any]:
    from expense_sync.health.queries import numbers
    from expense_sync.store.db import connect

    with connect() as conn:
        return numbers(conn, days=days)


def create_app() -> FastAPI:
    app = FastAPI(
        title="expense-sync sync health",
        dependencies=[Depends(viewer)],
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
