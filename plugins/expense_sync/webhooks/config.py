"""The receiver's tuning knobs, from the environment of the process that serves it.

=========================================  ============  ==============================================
variable                                   default       meaning
=========================================  ============  ==============================================
``EXPENSE_SYNC_WEBHOOK_MAX_BODY_BYTES``    262144        larger bodies are refused with 413
``EXPENSE_SYNC_WEBHOOK_POOL_SIZE``         4             database connections (and writer threads)
                                                         per serving process (api-server worker)
``EXPENSE_SYNC_WEBHOOK_DB_TIMEOUT``        1.0           seconds a store may take before the sender
                                                         gets 503 (also the statement timeout;
                                                         DingTalk wants its answer within 1.5 s)
``EXPENSE_SYNC_WEBHOOK_NOTIFY_INTERVAL``   1.0           at most one asset event per this many
                                                         seconds and process (bursts are coalesced)
``EXPENSE_SYNC_WEBHOOK_CONFIG_TTL``        60.0          seconds the senders' secrets are cached
                                                         (a rotated secret is picked up after this)
``EXPENSE_SYNC_WEBHOOK_BODY_TIMEOUT``      10.0          seconds a request may take to send its whole
                                                         body (from its headers); then 408
=========================================  ============  ==============================================

Secrets never come from here: see :mod:`expense_sync.webhooks.credentials`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, cast

ENV_PREFIX = "EXPENSE_SYNC_WEBHOOK_"
TOLERANCE_SECONDS = 300  # timestamps more than 5 minutes old or ahead are refused (Standard Webhooks)


@dataclass(frozen=True)
class ReceiverSettings:
    max_body_bytes: int = 256 * 1024
    pool_size: int = 4
    db_timeout: float = 1.0
    notify_interval: float = 1.0
    config_ttl: float = 60.0
    body_timeout: float = 10.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ReceiverSettings:
        source: Mapping[str, str] = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = source.get(ENV_PREFIX + f.name.upper())
            if raw is not None:
                try:
                    values[f.name] = type(cast(Any, f.default))(raw)
                except ValueError:
                    raise ValueError(f"{ENV_PREFIX}{f.name.upper()} must be a number") from None
        settings = cls(**values)
        if (
            settings.max_body_bytes < 1024
            or settings.pool_size < 1
            or settings.db_timeout <= 0
            or settings.body_timeout <= 0
        ):
            raise ValueError(f"{ENV_PREFIX}*: body limit ≥ 1024, pool size ≥ 1 and positive timeouts")
        return settings
