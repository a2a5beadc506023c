"""The receiver inside Airflow: loaded by the plugin manager, served by the api-server's app, and
notifying the ``expense_claims`` asset through the asset manager or the REST API."""

from __future__ import annotations

import json
import sys
import sysconfig
import threading
import time
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from webhook_senders import standard, standard_payload
from webhook_testkit import inbox_rows

from expense_sync.settings import CLAIMS_ASSET_NAME, CLAIMS_ASSET_URI
from expense_sync.webhooks.notify import RestAssetNotifier, airflow_asset_notifier
from expense_sync_sandboxes.cluster import free_port

ROOT = Path(__file__).resolve().parents[4]
PACKAGE = ROOT / "plugins" / "expense_sync"


def test_the_plugin_manager_loads_the_plugin_and_its_app():
    from airflow import plugins_manager, settings

    assert Path(settings.PLUGINS_FOLDER) == ROOT / "plugins"
    plugins, errors = plugins_manager._get_plugins()

    assert errors == {}
    assert [p.name for p in plugins if p.name == "expense_sync"] == ["expense_sync"]
    apps, _ = plugins_manager.get_fastapi_plugins()
    [entry] = [a for a in apps if a["url_prefix"] == "/expense-sync"]
    assert isinstance(entry["app"], FastAPI) and entry["name"] == "expense-sync webhook receiver"
    assert Path(sys.modules["expense_sync_plugin"].__file__) == ROOT / "plugins" / "expense_sync_plugin.py"


def test_no_module_of_the_package_is_loaded_as_a_top_level_module():
    from airflow import plugins_manager

    plugins_manager._get_plugins()
    strays = [
        name
        for name, module in list(sys.modules.items())
        if (path := getattr(module, "__file__", None))
        and Path(path).is_relative_to(PACKAGE)
        and not (name == "expense_sync" or name.startswith("expense_sync."))
    ]

    assert strays == []
    assert Path(sys.modules["queue"].__file__).parent == Path(sysconfig.get_paths()["stdlib"])


@pytest.fixture(scope="module")
def airflow_api():
    """Airflow's own API server app (the one ``airflow api-server`` serves), plugins included."""
    from airflow.api_fastapi.app import create_app

    return create_app()


@pytest.fixture
def claims_asset():
    """The asset as the claim_events DAG will declare it, registered in Airflow's metadata database."""
    from airflow.models.asset import AssetActive, AssetModel
    from airflow.sdk import Asset
    from airflow.utils.session import create_session

    uri = Asset(name=CLAIMS_ASSET_NAME, uri=CLAIMS_ASSET_URI).uri
    with create_session() as session:
        asset = session.scalar(select(AssetModel).where(AssetModel.name == CLAIMS_ASSET_NAME))
        if asset is None:
            asset = AssetModel(name=CLAIMS_ASSET_NAME, uri=uri, group="asset")
            session.add(asset)
            session.flush()
            session.add(AssetActive.for_asset(asset))
        return asset.id


def asset_events(asset_id: int) -> list[dict]:
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session

    with create_session() as session:
        return [
            e.extra
            for e in session.scalars(select(AssetEvent).where(AssetEvent.asset_id == asset_id).order_by(AssetEvent.id))
        ]


def _wait_for(condition, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_the_api_server_app_serves_the_receiver_and_the_asset_gets_an_event(airflow_api, webhook_env, claims_asset):
    client = TestClient(airflow_api)
    before = len(asset_events(claims_asset))
    delivery = standard(standard_payload(), msg_id="msg_via_api_server")

    assert client.get("/expense-sync/health").json() == {"status": "ok"}
    response = client.post("/expense-sync/webhooks/standard", content=delivery.body, headers=delivery.headers)

    assert response.status_code == 200 and response.json() == {"status": "stored"}
    assert [r["dedup_key"] for r in inbox_rows(webhook_env)] == ["msg_via_api_server"]
    _wait_for(lambda: len(asset_events(claims_asset)) > before)
    assert asset_events(claims_asset)[-1] == {"events": 1, "sources": {"standard": 1}}
    assert (
        client.post(
            "/expense-sync/webhooks/standard", content=b"{}", headers={"Content-Type": "application/json"}
        ).status_code
        == 400
    )  # no Airflow auth


def test_the_asset_manager_notifier_needs_the_asset_registered(claims_asset, monkeypatch):
    airflow_asset_notifier({"events": 2, "sources": {"dingtalk": 2}})
    assert asset_events(claims_asset)[-1] == {"events": 2, "sources": {"dingtalk": 2}}

    monkeypatch.setattr("expense_sync.webhooks.notify.CLAIMS_ASSET_NAME", "no_such_asset")
    with pytest.raises(LookupError, match="not registered"):
        airflow_asset_notifier({"events": 1})


@pytest.fixture
def airflow_rest(airflow_api, monkeypatch, tmp_path):
    """Airflow's API on a real port, with a service user ``webhook`` of role ``op``."""
    passwords = tmp_path / "passwords.json"
    passwords.write_text(json.dumps({"admin": "admin-pw", "webhook": "webhook-pw"}))
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "admin:admin,webhook:op")
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE", str(passwords))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(airflow_api, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    _wait_for(lambda: server.started)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(15)


def test_the_rest_notifier_posts_asset_events_as_a_service_user(airflow_rest, claims_asset):
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    notifier = RestAssetNotifier(airflow_rest, "webhook", "webhook-pw")

    notifier({"events": 3, "sources": {"wecom": 3}})
    notifier._token = get_auth_manager().generate_jwt(
        SimpleAuthManagerUser(username="webhook", role="op"), expiration_time_in_seconds=-60
    )
    notifier({"events": 1, "sources": {"ekuaibao": 1}})  # 401 Token Expired: logs in again
    notifier._token = "revoked.or.garbage"
    notifier({"events": 2, "sources": {"standard": 2}})  # 403 Invalid JWT token: logs in again

    assert notifier.asset_id() == claims_asset
    rest = {"from_rest_api": True}  # Airflow marks events that came through its REST API
    assert asset_events(claims_asset)[-3:] == [
        {"events": 3, "sources": {"wecom": 3}, **rest},
        {"events": 1, "sources": {"ekuaibao": 1}, **rest},
        {"events": 2, "sources": {"standard": 2}, **rest},
    ]


def test_the_rest_notifier_fails_loudly_on_wrong_credentials(airflow_rest, claims_asset):
    import requests

    with pytest.raises(requests.HTTPError):
        RestAssetNotifier(airflow_rest, "webhook", "wrong-pw")({"events": 1})
