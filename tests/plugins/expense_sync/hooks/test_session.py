"""The hooks' session reads the proxy and CA-bundle environment once per origin (requests reads it
for every request): it must settle every request exactly as ``requests.Session`` does."""

import requests

from expense_sync.hooks.base import Session

URLS = [
    "https://oapi.dingtalk.com/topapi/v2/user/list?access_token=t",
    "https://oapi.dingtalk.com/department/list",
    "http://127.0.0.1:8080/gettoken",
    "https://qyapi.weixin.qq.com/cgi-bin/user/list",
]


def settled(session, url, **kw):
    args = {"proxies": {}, "stream": None, "verify": None, "cert": None} | kw
    return session.merge_environment_settings(url, args["proxies"], args["stream"], args["verify"], args["cert"])


def test_the_same_settings_as_requests_for_every_origin(monkeypatch, tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp:3128")
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.corp:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,qyapi.weixin.qq.com")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    ours, plain = Session(), requests.Session()
    for _ in range(2):  # the second time from what it kept
        for url in URLS:
            for kw in ({}, {"verify": False}, {"proxies": {"https": "http://other:1"}}, {"stream": True}):
                assert settled(ours, url, **kw) == settled(plain, url, **kw), (url, kw)
    assert settled(ours, URLS[0])["proxies"]["https"] == "http://proxy.corp:3128"
    assert settled(ours, URLS[2])["proxies"].get("http") is None  # NO_PROXY
    assert settled(ours, URLS[0])["verify"] == str(bundle)


def test_a_change_to_the_sessions_own_settings_is_not_answered_from_what_it_kept():
    ours, plain = Session(), requests.Session()
    first = settled(ours, URLS[0])
    for session in (ours, plain):
        session.verify = False
        session.proxies = {"https": "http://proxy.corp:3128"}
    assert settled(ours, URLS[0]) == settled(plain, URLS[0]) != first


def test_what_it_hands_out_is_a_copy():
    ours = Session()
    settled(ours, URLS[0])["proxies"]["https"] = "http://tampered:1"
    assert settled(ours, URLS[0])["proxies"].get("https") != "http://tampered:1"
