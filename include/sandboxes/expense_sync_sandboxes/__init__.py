"""Faithful local sandboxes of the vendor APIs (OA, expense system, ERP) for tests, demo and benchmarks.

Each vendor runs on its own port, as the real hosts differ; ``python -m expense_sync_sandboxes serve``
starts them, :class:`expense_sync_sandboxes.cluster.SandboxCluster` does so from Python. Production
points the Airflow connections at the real hosts instead; nothing in ``plugins/`` imports this.
"""

# vendor name -> "module:Class", imported only when that vendor is served
VENDORS = {
    "dingtalk": "expense_sync_sandboxes.dingtalk:DingTalkSandbox",
    "wecom": "expense_sync_sandboxes.wecom:WeComSandbox",
    "ekuaibao": "expense_sync_sandboxes.ekuaibao:EkuaibaoSandbox",
    "kingdee": "expense_sync_sandboxes.kingdee:KingdeeSandbox",
    "yonyou": "expense_sync_sandboxes.yonyou:YonyouSandbox",
    "sap": "expense_sync_sandboxes.sap:SapSandbox",
}


def load(vendor: str):
    """The sandbox class of a vendor."""
    import importlib

    module, _, name = VENDORS[vendor].partition(":")
    return getattr(importlib.import_module(module), name)
