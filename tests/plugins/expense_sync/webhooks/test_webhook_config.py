"""The receiver's tuning from the environment, and the secrets cache."""

from __future__ import annotations

import pytest

from expense_sync.webhooks.config import ReceiverSettings
from expense_sync.webhooks.credentials import CredentialCache, Misconfigured, NotConfigured
from expense_sync.webhooks.errors import Rejected


def test_settings_come_from_named_environment_variables():
    settings = ReceiverSettings.from_env(
        {
            "EXPENSE_SYNC_WEBHOOK_MAX_BODY_BYTES": "65536",
            "EXPENSE_SYNC_WEBHOOK_POOL_SIZE": "8",
            "EXPENSE_SYNC_WEBHOOK_DB_TIMEOUT": "0.5",
            "EXPENSE_SYNC_WEBHOOK_NOTIFY_INTERVAL": "2",
            "EXPENSE_SYNC_WEBHOOK_CONFIG_TTL": "30",
            "EXPENSE_SYNC_WEBHOOK_BODY_TIMEOUT": "5",
        }
    )

    assert settings == ReceiverSettings(
        max_body_bytes=65536, pool_size=8, db_timeout=0.5, notify_interval=2.0, config_ttl=30.0, body_timeout=5.0
    )
    assert ReceiverSettings.from_env({}) == ReceiverSettings()


@pytest.mark.parametrize(
    "env",
    [
        {"EXPENSE_SYNC_WEBHOOK_POOL_SIZE": "four"},
        {"EXPENSE_SYNC_WEBHOOK_POOL_SIZE": "0"},
        {"EXPENSE_SYNC_WEBHOOK_MAX_BODY_BYTES": "100"},
        {"EXPENSE_SYNC_WEBHOOK_DB_TIMEOUT": "0"},
        {"EXPENSE_SYNC_WEBHOOK_BODY_TIMEOUT": "0"},
    ],
)
def test_bad_settings_stop_the_receiver(env):
    with pytest.raises(ValueError, match="EXPENSE_SYNC_WEBHOOK_"):
        ReceiverSettings.from_env(env)


def test_the_cache_loads_once_per_ttl_including_failures():
    loads = []

    def load():
        loads.append(1)
        return {"key": "value"}

    def not_configured():
        loads.append(1)
        raise NotConfigured("no secrets")

    cache = CredentialCache(ttl=3600)
    assert [cache.get("standard", load) for _ in range(3)] == [{"key": "value"}] * 3
    for _ in range(3):
        with pytest.raises(Rejected) as refused:
            cache.get("wecom", not_configured)
        assert refused.value.status == 404
    assert len(loads) == 2

    uncached = CredentialCache(ttl=0)
    uncached.get("standard", load)
    uncached.get("standard", load)
    assert len(loads) == 4


def test_a_misconfiguration_names_the_setting_for_the_log_only():
    def load():
        raise Misconfigured("connection oa_wecom has invalid extras: callback_aes_key")

    with pytest.raises(Rejected) as refused:
        CredentialCache(ttl=60).get("wecom", load)

    assert (refused.value.status, refused.value.reason) == (503, "receiver misconfigured for this sender")
    assert refused.value.detail == "connection oa_wecom has invalid extras: callback_aes_key"
