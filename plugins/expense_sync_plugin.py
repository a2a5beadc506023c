"""The Airflow plugin of expense-sync: the webhook receiver, served by the api-server.

This module sits at the top of ``plugins/`` on purpose: Airflow's plugin loader imports every
``.py`` file under the plugins folder as a top-level module, so the package itself is hidden from
it (``plugins/.airflowignore``) and imported the normal way from here.

The app is mounted at ``/expense-sync`` (``/expense-sync/webhooks/<sender>``, see
:mod:`expense_sync.webhooks`). Airflow's auth does not cover plugin apps; the receiver
authenticates every request itself. It notifies the ``expense_claims`` asset through Airflow's
asset manager. The sync-health page (:mod:`expense_sync.health`) is mounted at
``/expense-sync-health`` behind Airflow's login, and shown in the UI under Browse → Sync health.
It also registers the deadline reference of every DAG's deadline
(:class:`expense_sync.dag_defaults.RunQueuedAt`): without it the scheduler and the api-server cannot
create a run. Importing this module opens no connection and starts no thread.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from expense_sync.dag_defaults import RunQueuedAt
from expense_sync.health import app as health
from expense_sync.webhooks import create_app
from expense_sync.webhooks.notify import airflow_asset_notifier

URL_PREFIX = "/expense-sync"


class ExpenseSyncPlugin(AirflowPlugin):
    name = "expense_sync"
    fastapi_apps = [
        {
            "app": create_app(notifier=airflow_asset_notifier),
            "url_prefix": URL_PREFIX,
            "name": "expense-sync webhook receiver",
        },
        {"app": health.create_app(), "url_prefix": health.URL_PREFIX, "name": "expense-sync sync health"},
    ]
    external_views = [
        {
            "name": "Sync health",
            "href": f"{health.URL_PREFIX}/",
            "destination": "nav",
            "category": "browse",
            "url_route": "sync-health",
        },
    ]
    deadline_references = [RunQueuedAt]
