"""The OA sandboxes are faithful: the vendors' own Python SDKs work against them unchanged."""

import requests
from dingtalk.client import AppKeyClient
from requests.adapters import HTTPAdapter
from wechatpy.enterprise import WeChatClient

from expense_sync_sandboxes import dingtalk, wecom


def test_dingtalk_sdk_reads_the_same_directory_as_our_hook(sandboxes):
    client = AppKeyClient("dingcorp", dingtalk.APP_KEY, dingtalk.APP_SECRET)
    client.API_BASE_URL = sandboxes.url("dingtalk") + "/"
    departments = client.department.list(fetch_child=True)
    assert len(departments) == 11  # every department but the root
    members = client.user.list(departments[0]["id"])
    assert members["userlist"] and {"userid", "jobnumber", "department", "mobile"} <= set(members["userlist"][0])
    one = client.user.get(members["userlist"][0]["userid"])
    assert one["jobnumber"] == members["userlist"][0]["jobnumber"]
    state = sandboxes.control("dingtalk").state()
    assert {d["id"] for d in departments} == {d["id"] for d in state["departments"] if d["parent_id"]}


def test_dingtalk_sdk_refreshes_its_token_on_42001(sandboxes):
    client = AppKeyClient("dingcorp", dingtalk.APP_KEY, dingtalk.APP_SECRET)
    client.API_BASE_URL = sandboxes.url("dingtalk") + "/"
    client.department.list()
    sandboxes.control("dingtalk").expire_tokens()
    assert client.department.list()
    assert sandboxes.control("dingtalk").stats()["tokens_issued"] == 2


class _ToSandbox(HTTPAdapter):
    """The network edge: wechatpy's fixed token URL on qyapi.weixin.qq.com is served by the sandbox."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base

    def send(self, request, **kwargs):
        request.url = request.url.replace("https://qyapi.weixin.qq.com", self.base)
        return super().send(request, **kwargs)


def wechat_client(sandboxes) -> WeChatClient:
    client = WeChatClient(wecom.CORP_ID, wecom.CORP_SECRET)
    client.API_BASE_URL = sandboxes.url("wecom") + "/cgi-bin/"
    session = requests.Session()
    session.mount("https://qyapi.weixin.qq.com", _ToSandbox(sandboxes.url("wecom")))
    client._http = session
    return client


def test_wechatpy_reads_departments_and_members(sandboxes):
    client = wechat_client(sandboxes)
    departments = client.department.get()
    assert len(departments) == 12 and departments[0]["parentid"] == 0
    members = client.user.list(departments[1]["id"], fetch_child=False)
    assert members and {"userid", "name", "department", "status"} <= set(members[0])
    assert client.user.get(members[0]["userid"])["name"] == members[0]["name"]
    everyone = client.user.list(1, fetch_child=True)
    assert len(everyone) == 60


def test_wechatpy_refreshes_its_token_on_42001(sandboxes):
    client = wechat_client(sandboxes)
    client.department.get()
    sandboxes.control("wecom").expire_tokens()
    assert client.department.get()
    assert sandboxes.control("wecom").stats()["tokens_issued"] == 2
