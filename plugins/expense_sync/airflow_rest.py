"""Airflow's public REST API as a service user, for code outside a task's own API: a JWT from
``POST /auth/token``, sent as a Bearer header, fetched again once when the API says it expired (401)
or was revoked (403). Used by the standalone webhook receiver's asset notifier and by the run note."""

from __future__ import annotations

from typing import Any

import requests


class AirflowRest:
    def __init__(self, base_url: str, username: str, password: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.username = username
        self.password = password
        self.timeout = timeout
        self.session = requests.Session()
        self.token: str | None = None

    def _authenticate(self) -> None:
        response = self.session.post(
            f"{self.base_url}/auth/token",
            timeout=self.timeout,
            json={"username": self.username, "password": self.password},
        )
        response.raise_for_status()
        self.token = response.json()["access_token"]

    def call(self, method: str, path: str, **kw: Any) -> requests.Response:
        """One call (``path`` from the API's root, e.g. ``/api/v2/assets``); raises for an error status."""
        attempt = 0
        while True:  # ends by returning or raising: an expired token earns one more attempt
            attempt += 1
            if self.token is None:
                self._authenticate()
            response = self.session.request(
                method,
                f"{self.base_url}{path}",
                timeout=self.timeout,
                headers={"Authorization": f"Bearer {self.token}"},
                **kw,
            )
            if response.status_code not in (401, 403) or attempt == 2:
                response.raise_for_status()
                return response
            self.token = None  # expired (401) or revoked (403): log in again, once
