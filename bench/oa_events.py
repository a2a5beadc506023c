"""The OA's contact-change events in a benchmark: the webhook receiver served in a thread of the
driver, and an OA sandbox pushing its events to it, sealed with the connection's callback secrets."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

CALLBACK = {"callback_token": "bench-callback-token", "callback_aes_key": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"}


def oa_connection(sandboxes: Any, oa: str) -> str:
    """The OA's connection with the callback secrets the receiver verifies its pushes with."""
    return sandboxes.connection(f"oa_{oa}", **CALLBACK)


def start_receiver(connect: Callable[[], Any] | None = None) -> tuple[Any, str]:
    """The receiver (inbox connections from ``connect``, else ``mdm_postgres``; the OA connection read
    from this process's environment); returns the uvicorn server and its base URL."""
    import uvicorn

    from expense_sync.webhooks import create_app
    from expense_sync.webhooks.config import ReceiverSettings
    from expense_sync_sandboxes.cluster import free_port

    port = free_port()
    app = create_app(notifier=lambda event: None, settings=ReceiverSettings(notify_interval=0.0), connect=connect)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    return server, f"http://127.0.0.1:{port}"


def push_to(sandboxes: Any, oa: str, base_url: str) -> None:
    """Point the OA sandbox's event pushes at the receiver at ``base_url``."""
    from expense_sync_sandboxes.cluster import CONNECTIONS

    sandboxes.control(oa).mutate(
        "configure_callback",
        url=f"{base_url}/webhooks/{oa}",
        token=CALLBACK["callback_token"],
        aes_key=CALLBACK["callback_aes_key"],
        receive_id=CONNECTIONS[f"oa_{oa}"][1],  # the AppKey / CorpID the receiver expects
    )


def set_env(env: dict[str, str]) -> None:
    """This process's environment for the receiver: the Airflow connections and settings of ``env``."""
    os.environ.update({k: v for k, v in env.items() if k.startswith(("AIRFLOW_", "EXPENSE_SYNC_"))})
