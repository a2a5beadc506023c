"""Where each sender's secrets come from, and a short-lived cache of them.

Every secret is read from Airflow (a connection or a Variable, so ``AIRFLOW_CONN_<ID>`` and
``AIRFLOW_VAR_<NAME>`` work too, as does any secrets backend):

=====================  ===================================  =========================================
sender                 where                                names
=====================  ===================================  =========================================
合思 / Ekuaibao        connection ``expense_ekuaibao``      extras ``outbound_path_tokens`` (list),
                                                            ``outbound_allowed_cidrs`` (list); signed
                                                            senders: the Standard Webhooks secrets
DingTalk               connection ``oa_dingtalk``           extras ``callback_token``,
                                                            ``callback_aes_key``, ``callback_owner_key``
                                                            (default: the login, i.e. the AppKey)
WeCom                  connection ``oa_wecom``              extras ``callback_token``,
                                                            ``callback_aes_key``; receive id = login
                                                            (the CorpID)
Standard Webhooks      Variable                             ``expense_sync_webhook_secrets``
=====================  ===================================  =========================================

A sender whose secrets are absent is *not configured* (its route answers 404); one whose settings
are invalid is *misconfigured* (503, so that the sender retries while an operator fixes it). The
secrets are registered with Airflow's log masker and never logged or put into an error.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from expense_sync.hooks.base import mask
from expense_sync.webhooks.errors import Rejected
from expense_sync.webhooks.msgcrypt import MsgCrypt


class NotConfigured(Exception):
    """The sender has no secrets configured: its deliveries are refused with 404."""


class Misconfigured(Exception):
    """The sender's settings are invalid (the message names fields only, never values)."""


Model = TypeVar("Model", bound=BaseModel)


def connection_settings(conn_id: str, model: type[Model]) -> tuple[Any, Model]:
    """The Airflow connection and its extras validated by the hook's settings model."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        conn = BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        raise NotConfigured(f"connection {conn_id} is not defined") from None
    try:
        settings = model.model_validate(conn.extra_dejson or {})
    except ValidationError as err:
        names = ", ".join(".".join(map(str, e["loc"])) for e in err.errors())
        raise Misconfigured(f"connection {conn_id} has invalid extras: {names}") from None
    return conn, settings


@dataclass(frozen=True)
class Callback:
    """A DingTalk or WeCom callback's credentials: the shared message crypto."""

    crypt: MsgCrypt


def crypt_callback(
    conn_id: str, token: str | None, aes_key: str | None, receive_id: str | None, needs: str
) -> Callback:
    """The callback crypto of an OA connection, or why it cannot be had (``needs``: what names the
    receive id, for the message)."""
    if not (token and aes_key):
        raise NotConfigured(f"{conn_id} has no callback_token/callback_aes_key")
    if not receive_id:
        raise Misconfigured(f"{conn_id}: {needs} is needed")
    masked(token, aes_key)
    try:
        return Callback(MsgCrypt(token, aes_key, receive_id))
    except ValueError:
        raise Misconfigured(f"{conn_id}: callback_aes_key is not an EncodingAESKey") from None


def variable(name: str) -> str | None:
    from airflow.sdk import Variable

    value = Variable.get(name, default=None)
    return None if value is None else str(value)


def masked(*secrets: str | None) -> None:
    for secret in secrets:
        mask(secret)


class CredentialCache:
    """Loads a sender's credentials at most once per ``ttl`` seconds (failures included)."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[float, Any, Exception | None]] = {}
        self._lock = threading.Lock()

    def fresh(self, source: str) -> bool:
        entry = self._entries.get(source)
        return entry is not None and time.monotonic() - entry[0] < self.ttl

    def get(self, source: str, load: Callable[[], Any]) -> Any:
        """The cached credentials, loading them if stale; raises :class:`Rejected` if unusable."""
        with self._lock:
            if not self.fresh(source):
                try:
                    self._entries[source] = (time.monotonic(), load(), None)
                except (NotConfigured, Misconfigured) as err:
                    self._entries[source] = (time.monotonic(), None, err)
            _, value, error = self._entries[source]
        if isinstance(error, NotConfigured):
            raise Rejected(404, "receiver not configured for this sender")
        if isinstance(error, Misconfigured):
            raise Rejected(503, "receiver misconfigured for this sender", retry_after=60, detail=str(error))
        return value
