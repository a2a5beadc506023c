"""Tell Airflow that new claim events are in the inbox: an asset event on ``expense_claims``.

A notifier is any callable taking the asset event's ``extra`` (a dict). The receiver never calls it
on the request path: :class:`CoalescingNotifier` sends at most one asset event per interval from a
background thread, after at least one event was stored, so a burst of a thousand deliveries makes
one DAG run's worth of notifications and a slow or failing Airflow never delays or fails a 2xx.
A failed notification is logged and dropped: the events are in the inbox, and the consumer's
polling catch-up finds them.

Notifiers:

* :func:`airflow_asset_notifier` — inside the Airflow api-server (the plugin): Airflow's own asset
  manager, the call the REST endpoint makes [an internal API of Airflow 3.3];
* :class:`RestAssetNotifier` — from anywhere else (the standalone receiver): Airflow's REST API,
  ``POST /api/v2/assets/events`` with a JWT from ``POST /auth/token`` (a user with role ``op``);
* ``None`` — no notification (the DAG's polling catch-up only).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import requests

from expense_sync.airflow_rest import AirflowRest
from expense_sync.settings import CLAIMS_ASSET_NAME

log = logging.getLogger(__name__)

Notifier = Callable[[dict[str, Any]], None]


class CoalescingNotifier:
    """Calls ``send`` from one daemon thread, at most once per ``interval`` seconds, when poked."""

    def __init__(self, send: Notifier, interval: float) -> None:
        self.send = send
        self.interval = interval
        self._pending: Counter[str] = Counter()
        self._wake = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def poke(self, source: str) -> None:
        """Note one stored event (non-blocking; starts the thread on first use)."""
        with self._wake:
            self._pending[source] += 1
            if self._thread is None and not self._stopping:
                self._thread = threading.Thread(target=self._run, name="expense-sync-notifier", daemon=True)
                self._thread.start()
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                self._wake.wait_for(lambda: self._pending or self._stopping)
                if not self._pending:
                    return
                batch, self._pending = self._pending, Counter()
            self._send({"events": sum(batch.values()), "sources": dict(batch)})
            with self._wake:
                if self._wake.wait_for(lambda: self._stopping, self.interval) and not self._pending:
                    return

    def _send(self, extra: dict[str, Any]) -> None:
        try:
            self.send(extra)
        except Exception as err:  # any failure: the events wait in the inbox for the catch-up
            log.warning(
                "asset notification failed (%s); %d event(s) wait for the catch-up", type(err).__name__, extra["events"]
            )

    def close(self, timeout: float = 5.0) -> None:
        """Send what is pending, then stop the thread."""
        with self._wake:
            self._stopping = True
            self._wake.notify()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)


def airflow_asset_notifier(extra: dict[str, Any]) -> None:
    """Register an asset event through Airflow's asset manager (inside the api-server)."""
    from airflow.assets.manager import asset_manager
    from airflow.models.asset import AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        asset = session.scalar(
            select(AssetModel).where(AssetModel.name == CLAIMS_ASSET_NAME, AssetModel.active.has()).limit(1)
        )
        if asset is None:
            raise LookupError(f"asset {CLAIMS_ASSET_NAME} is not registered (no DAG declares it yet)")
        asset_manager.register_asset_change(asset=asset, extra=extra, session=session, source_is_api=True)


class RestAssetNotifier:
    """Post asset events through Airflow's REST API as a service user (role ``op`` or higher)."""

    def __init__(self, base_url: str, username: str, password: str, timeout: float = 10.0) -> None:
        self.api = AirflowRest(base_url, username, password, timeout)
        self._asset_id: int | None = None

    def asset_id(self) -> int:
        if self._asset_id is None:
            assets = self.api.call("GET", "/api/v2/assets", params={"name_pattern": CLAIMS_ASSET_NAME}).json()
            ids = [a["id"] for a in assets.get("assets", []) if a.get("name") == CLAIMS_ASSET_NAME]
            if not ids:
                raise LookupError(f"asset {CLAIMS_ASSET_NAME} is not registered (no DAG declares it yet)")
            self._asset_id = ids[0]
        return self._asset_id

    def __call__(self, extra: dict[str, Any]) -> None:
        try:
            self.api.call("POST", "/api/v2/assets/events", json={"asset_id": self.asset_id(), "extra": extra})
        except requests.HTTPError as err:
            if err.response is not None and err.response.status_code == 404:
                self._asset_id = None  # the asset was re-created: look its id up again next time
            raise
