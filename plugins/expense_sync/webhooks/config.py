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
``EXPENSE_SYNC_WEBHOOK_RATE_PER_SECOND``   5.0           合思 deliveries per second and source address
                                                         (token bucket refill); beyond it 429
``EXPENSE_SYNC_WEBHOOK_RATE_BURST``        50            deliveries one address may make at once
``EXPENSE_SYNC_WEBHOOK_TRUSTED_PROXIES``   (none)        CIDRs of reverse proxies whose
                                                         ``X-Forwarded-For`` names the sender
                                                         (comma-separated); others are not believed
=========================================  ============  ==============================================

Secrets never come from here: see :mod:`expense_sync.webhooks.credentials`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, cast

from expense_sync.webhooks.peers import Network, networks

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
    rate_per_second: float = 5.0
    rate_burst: int = 50
    trusted_proxies: str = ""

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
            or settings.rate_per_second <= 0
            or settings.rate_burst < 1
        ):
            raise ValueError(f"{ENV_PREFIX}*: body limit ≥ 1024, pool size ≥ 1, positive timeouts and rate, burst ≥ 1")
        settings.trusted_networks()  # a bad CIDR stops the start, not the first delivery
        return settings

    def trusted_networks(self) -> tuple[Network, ...]:
        return networks(self.trusted_proxies.split(","), f"{ENV_PREFIX}TRUSTED_PROXIES")
