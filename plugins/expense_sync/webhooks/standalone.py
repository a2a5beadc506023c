"""The receiver outside Airflow: ``python -m expense_sync.webhooks`` (uvicorn, for tests, the demo
and the benchmark).

Options: ``--host`` (127.0.0.1), ``--port`` (8090), ``--workers`` (1), ``--prefix``
(``/expense-sync``, the plugin's url_prefix, so that senders use the same paths), ``--notify``
(``none``, ``rest`` or ``airflow``), ``--log-level`` (info).

Environment: the Airflow connections and Variable named in :mod:`.credentials`
(``AIRFLOW_CONN_MDM_POSTGRES``, ``AIRFLOW_CONN_OA_DINGTALK``, ``AIRFLOW_CONN_OA_WECOM``,
``AIRFLOW_CONN_EXPENSE_EKUAIBAO``, ``AIRFLOW_VAR_EXPENSE_SYNC_WEBHOOK_SECRETS``), the tuning in
:mod:`.config`, and for ``--notify rest``: ``EXPENSE_SYNC_AIRFLOW_API_URL`` (e.g.
``http://airflow:8080``), ``EXPENSE_SYNC_AIRFLOW_API_USER`` and ``EXPENSE_SYNC_AIRFLOW_API_PASSWORD``
(a user with role ``op``). ``--notify airflow`` needs this process to reach Airflow's metadata
database (it is what the plugin uses inside the api-server).
"""

from __future__ import annotations

import argparse
import copy
import gc
import os

import uvicorn
from fastapi import FastAPI

from expense_sync.webhooks.app import create_app
from expense_sync.webhooks.notify import Notifier, RestAssetNotifier, airflow_asset_notifier

NOTIFY_ENV = "EXPENSE_SYNC_WEBHOOK_NOTIFY"
PREFIX_ENV = "EXPENSE_SYNC_WEBHOOK_PREFIX"
DEFAULT_PREFIX = "/expense-sync"


def notifier_from_env() -> Notifier | None:
    kind = os.environ.get(NOTIFY_ENV, "none")
    if kind == "none":
        return None
    if kind == "airflow":
        return airflow_asset_notifier
    if kind == "rest":
        names = ("EXPENSE_SYNC_AIRFLOW_API_URL", "EXPENSE_SYNC_AIRFLOW_API_USER", "EXPENSE_SYNC_AIRFLOW_API_PASSWORD")
        missing = [name for name in names if not os.environ.get(name)]
        if missing:
            raise SystemExit(f"--notify rest needs {', '.join(missing)}")
        url, user, password = (os.environ[name] for name in names)
        return RestAssetNotifier(url, user, password)
    raise SystemExit(f"{NOTIFY_ENV}={kind!r}: expected none, rest or airflow")


def app_from_env() -> FastAPI:
    """The uvicorn factory (every worker process calls it)."""
    app = create_app(notifier=notifier_from_env(), prefix=os.environ.get(PREFIX_ENV, DEFAULT_PREFIX))
    import airflow.sdk  # noqa: F401  (what the secrets' lookups load, loaded now to be frozen with the rest)

    # Everything loaded by now lives as long as the worker: kept out of the collector's sight, it is
    # no longer walked by each full collection (some 190 000 objects, a pause of up to 150 ms measured
    # on the benchmark machine for every delivery in flight: the p99 under load).
    gc.collect()
    gc.freeze()
    return app


def log_config(level: str) -> dict:
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["loggers"]["expense_sync"] = {"handlers": ["default"], "level": level.upper(), "propagate": False}
    return config


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m expense_sync.webhooks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--prefix", default=DEFAULT_PREFIX)
    parser.add_argument("--notify", choices=("none", "rest", "airflow"), default="none")
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    os.environ[NOTIFY_ENV] = args.notify  # read again by each worker process
    os.environ[PREFIX_ENV] = args.prefix
    notifier_from_env()  # fail now, not in every worker
    uvicorn.run(
        "expense_sync.webhooks.standalone:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level=args.log_level,
        log_config=log_config(args.log_level),
        timeout_keep_alive=30,
        proxy_headers=False,  # X-Forwarded-For is the receiver's to judge (EXPENSE_SYNC_WEBHOOK_TRUSTED_PROXIES)
    )
