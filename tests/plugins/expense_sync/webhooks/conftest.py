"""Fixtures for the webhook receiver: its secrets in Airflow connections, and a running receiver.

The receiver runs under uvicorn on a free port (in a thread of the test process, so that log
records reach ``caplog``) against the test's fresh middle-platform database; tests send real HTTP.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import uvicorn
from webhook_senders import (
    DINGTALK_AES_KEY,
    DINGTALK_APP_KEY,
    DINGTALK_TOKEN,
    EKUAIBAO_PATH_TOKEN,
    EKUAIBAO_SIGN_KEY,
    STANDARD_SECRET,
    WECOM_AES_KEY,
    WECOM_CORP_ID,
    WECOM_TOKEN,
    Delivery,
)
from webhook_testkit import Notifications

from expense_sync.webhooks import create_app
from expense_sync.webhooks.config import ReceiverSettings
from testkit import serve

TEST_SETTINGS = ReceiverSettings(notify_interval=0.0, config_ttl=0.0, rate_burst=100_000)  # no 429 unless asked


def connection(login: str, **extra: Any) -> str:
    return json.dumps(
        {
            "conn_type": "http",
            "host": "127.0.0.1",
            "port": 9,
            "schema": "http",
            "login": login,
            "password": "app-secret",
            "extra": extra,
        }
    )


@pytest.fixture
def webhook_env(mdm, monkeypatch):
    """Every sender configured; returns the test database connection."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_EXPENSE_EKUAIBAO",
        connection("ekb-appkey", outbound_path_tokens=[EKUAIBAO_PATH_TOKEN], outbound_sign_keys=[EKUAIBAO_SIGN_KEY]),
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_OA_DINGTALK",
        connection(DINGTALK_APP_KEY, callback_token=DINGTALK_TOKEN, callback_aes_key=DINGTALK_AES_KEY),
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_OA_WECOM", connection(WECOM_CORP_ID, callback_token=WECOM_TOKEN, callback_aes_key=WECOM_AES_KEY)
    )
    monkeypatch.setenv("AIRFLOW_VAR_EXPENSE_SYNC_WEBHOOK_SECRETS", STANDARD_SECRET)
    return mdm


@dataclass
class RunningReceiver:
    url: str
    server: uvicorn.Server
    thread: threading.Thread
    notifications: Notifications | None
    session: requests.Session = field(default_factory=requests.Session)

    def send(self, delivery: Delivery) -> requests.Response:
        return delivery.send(self.url, self.session)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)


@pytest.fixture
def start_receiver(webhook_env):
    """``start_receiver(notifier=, settings=, connect=)``: a running receiver, stopped after the test."""
    running: list[RunningReceiver] = []

    def start(
        notifier: Any = "record", settings: ReceiverSettings = TEST_SETTINGS, connect: Any = None
    ) -> RunningReceiver:
        notifications = Notifications() if notifier == "record" else None
        app = create_app(
            notifier=notifications if notifier == "record" else notifier,
            settings=settings,
            prefix="/expense-sync",
            connect=connect,
        )
        receiver = RunningReceiver(*serve(app), notifications)
        running.append(receiver)
        return receiver

    yield start
    for receiver in running:
        receiver.stop()


@pytest.fixture
def receiver(start_receiver) -> RunningReceiver:
    return start_receiver()
