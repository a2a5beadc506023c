"""The webhook receiver: claim events from 合思, DingTalk, WeCom and Standard Webhooks senders.

Served two ways:

* inside the Airflow api-server, by the plugin ``plugins/expense_sync_plugin.py`` under
  ``/expense-sync`` (Airflow's auth does not apply to plugin apps: every request authenticates
  itself), notifying Airflow through its asset manager;
* standalone, ``python -m expense_sync.webhooks`` (uvicorn; tests, the demo, the benchmark).

Each delivery is verified on its raw bytes (:mod:`.ekuaibao`, :mod:`.dingtalk`, :mod:`.wecom`,
:mod:`.standard`), written to ``sync.event_inbox`` and committed before the sender gets its 2xx
(:mod:`.writer`), then Airflow is told (:mod:`.notify`). Configuration: :mod:`.credentials`
(secrets, from Airflow connections and Variables) and :mod:`.config` (tuning, from the
environment).
"""

from expense_sync.webhooks.app import create_app

__all__ = ["create_app"]
