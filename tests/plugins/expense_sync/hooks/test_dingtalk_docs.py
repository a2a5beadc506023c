"""DingTalk's own gettoken and department/list answers (``tests/fixtures/vendor_docs/dingtalk/``, from
the vendor's 2016 documentation repository ddtalk/dingTalkDoc): DingTalkHook parses each one, served at
the network edge by a stand-in for oapi.dingtalk.com, and the DingTalk sandbox answers in the same shapes.

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

# the approval examples (approval_*) are test_oa_approvals_docs.py's
DOCS = {name: load("dingtalk", name) for name in names("dingtalk") if not name.startswith("approval_")}
REFUSALS = ["gettoken_bad_secret", "gettoken_require_https"]
TOKENS = ["gettoken", *REFUSALS]
ROOT = {"dept_id": 1, "name": "示例集团", "order": 0}


@pytest.fixture
def edge(monkeypatch):
    """``edge(answer)``: a DingTalkHook whose oapi host answers gettoken with ``answer``; the calls it
    received are in ``edge.calls``."""
    servers = []

    def connect(answer, departments=None):
        app = FastAPI()

        @app.get("/gettoken")
        async def gettoken(request: Request):
            connect.calls.append(dict(request.query_params))
            return answer

        @app.post("/topapi/v2/department/get")
        async def department_get(request: Request):
            return {"errcode": 0, "errmsg": "ok", "result": ROOT}

        @app.get("/department/list")
        async def department_list(request: Request):
            connect.calls.append(dict(request.query_params))
            return departments

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
    assert set(DOCS) == {*TOKENS, "department_list"}
    for name, doc in DOCS.items():
        assert doc["source"].startswith("ddtalk/dingTalkDoc@")
        assert doc["endpoint"] == ("GET /gettoken" if name in TOKENS else "GET /department/list")


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


@pytest.mark.parametrize("name", TOKENS)
def test_the_sandbox_answers_gettoken_in_the_documented_shape(sandboxes, name):
    """The success example against the sandbox's token; both refusals against its answer to a wrong
    secret (it models neither plain HTTP nor the 2016 corpid parameters: the shape is what counts)."""
    secret = dingtalk.APP_SECRET if name == "gettoken" else "not-the-secret"
    answer = requests.get(
        sandboxes.url("dingtalk") + "/gettoken", params={"appkey": dingtalk.APP_KEY, "appsecret": secret}, timeout=10
    ).json()
    assert_same_shape(DOCS[name]["response"], answer, where=f"sandbox {DOCS[name]['endpoint']}")
    assert (answer["errcode"] == 0) is (name == "gettoken")


def test_the_hook_reads_the_whole_documented_tree_in_one_call_in_listsubs_shape(edge):
    hook = edge(documented("gettoken"), documented("department_list"))

    departments = list(hook.departments())

    assert departments == [
        {"dept_id": 1, "name": "示例集团", "parent_id": None},
        {"dept_id": 2, "name": "钉钉事业部", "parent_id": 1, "create_dept_group": True, "auto_add_user": True},
        {"dept_id": 3, "name": "服务端开发组", "parent_id": 2, "create_dept_group": False, "auto_add_user": False},
    ]
    assert edge.calls[1:] == [{"access_token": "fw8ef8we8f76e6f7s8df8s", "id": "1", "fetch_child": "true"}]
    assert (hook.stats["calls"], hook.stats["department_tree"], hook.stats["department_walk"]) == (3, 1, 0)


def test_the_sandbox_answers_department_list_in_the_documented_shape(sandboxes):
    base = sandboxes.url("dingtalk")
    token = requests.get(
        base + "/gettoken", params={"appkey": dingtalk.APP_KEY, "appsecret": dingtalk.APP_SECRET}, timeout=10
    ).json()["access_token"]
    answer = requests.get(
        base + "/department/list", params={"access_token": token, "id": 1, "fetch_child": "true"}, timeout=10
    ).json()
    assert_same_shape(DOCS["department_list"]["response"], answer, where="sandbox GET /department/list")
    assert len(answer["department"]) == 11  # the reset company: 12 departments, the root not listed
