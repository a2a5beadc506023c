"""DingTalk's own gettoken answers (``tests/fixtures/vendor_docs/dingtalk/``, from the vendor's 2016
documentation repository ddtalk/dingTalkDoc): DingTalkHook parses each one, served at the network edge
by a stand-in for oapi.dingtalk.com, and the DingTalk sandbox answers gettoken in the same shapes.

No documented example answer of the ``topapi`` calls we make (``v2/department/listsub``,
``v2/department/get``, ``v2/user/list``, ``processinstance/get``) was found: docs/vendors/dingtalk.md,
"Golden fixtures"."""

import copy
import time

import pytest
import requests
from fastapi import FastAPI, Request
from vendordocs import assert_same_shape, load, names

from expense_sync.hooks.dingtalk import DingTalkHook
from expense_sync.hooks.errors import AuthenticationError, ContractError
from expense_sync_sandboxes import dingtalk
from testkit import point_connection, serve

DOCS = {name: load("dingtalk", name) for name in names("dingtalk")}
REFUSALS = ["gettoken_bad_secret", "gettoken_require_https"]


@pytest.fixture
def edge(monkeypatch):
    """``edge(answer)``: a DingTalkHook whose oapi host answers gettoken with ``answer``; the calls it
    received are in ``edge.calls``."""
    servers = []

    def connect(answer):
        app = FastAPI()

        @app.get("/gettoken")
        async def gettoken(request: Request):
            connect.calls.append(dict(request.query_params))
            return answer

        url, server, thread = serve(app)
        servers.append((server, thread))
        point_connection(monkeypatch, "oa_dingtalk", url, login="key")
        return DingTalkHook()

    connect.calls = []
    yield connect
    for server, thread in servers:
        server.should_exit = True
        thread.join(5)


def documented(name):
    return copy.deepcopy(DOCS[name]["response"])


def test_the_fixtures_are_dingtalks_own():
    assert set(DOCS) == {"gettoken", *REFUSALS}
    for doc in DOCS.values():
        assert doc["source"].startswith("ddtalk/dingTalkDoc@") and doc["endpoint"] == "GET /gettoken"


def test_the_hook_takes_the_token_of_the_documented_answer_and_keeps_it_its_documented_life(edge):
    hook = edge(documented("gettoken"))

    assert hook.get_token() == "fw8ef8we8f76e6f7s8df8s"
    assert hook.get_token() == "fw8ef8we8f76e6f7s8df8s"
    assert edge.calls == [{"appkey": "key", "appsecret": "s"}]
    # The example carries no expires_in; the page gives the life as 7200 s, less our 300 s lead.
    assert 6890 < hook._token_expires_at - time.monotonic() <= 6900


@pytest.mark.parametrize("name", REFUSALS)
def test_a_documented_refusal_of_gettoken_is_an_authentication_error_not_retried(edge, name):
    answer = documented(name)
    hook = edge(answer)

    with pytest.raises(AuthenticationError, match=answer["errmsg"]) as refused:
        hook.get_token()
    assert (refused.value.code, refused.value.endpoint) == (answer["errcode"], "GET /gettoken")
    assert len(edge.calls) == 1


def test_a_token_answer_without_its_token_fails_naming_the_field(edge):
    answer = documented("gettoken")
    del answer["access_token"]
    hook = edge(answer)

    with pytest.raises(ContractError, match="'access_token'") as failed:
        hook.get_token()
    assert failed.value.endpoint == "GET /gettoken"


@pytest.mark.parametrize("name", sorted(DOCS))
def test_the_sandbox_answers_gettoken_in_the_documented_shape(sandboxes, name):
    """The success example against the sandbox's token; both refusals against its answer to a wrong
    secret (it models neither plain HTTP nor the 2016 corpid parameters: the shape is what counts)."""
    secret = dingtalk.APP_SECRET if name == "gettoken" else "not-the-secret"
    answer = requests.get(
        sandboxes.url("dingtalk") + "/gettoken", params={"appkey": dingtalk.APP_KEY, "appsecret": secret}, timeout=10
    ).json()
    assert_same_shape(DOCS[name]["response"], answer, where=f"sandbox {DOCS[name]['endpoint']}")
    assert (answer["errcode"] == 0) is (name == "gettoken")
