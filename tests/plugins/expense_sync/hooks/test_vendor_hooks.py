"""The vendor hook base, exercised through the OA and 合思 hooks against their sandboxes over HTTP:
auth and token refresh, paging to the last page, every throttle and error class, the client rate
limit, and secrets kept out of errors."""

import json

import pytest

from expense_sync.hooks.dingtalk import DingTalkHook
from expense_sync.hooks.ekuaibao import EkuaibaoHook
from expense_sync.hooks.errors import (
    AuthenticationError,
    ConfigurationError,
    OutcomeUnknownError,
    TokenInvalidError,
    TransientVendorError,
    VendorRequestError,
)
from expense_sync.hooks.wecom import WeComHook
from testkit import FAST


@pytest.fixture
def connect(sandboxes, monkeypatch):
    """Point a connection at its sandbox with extra settings (and optionally other credentials)."""

    def use(conn_id, password=None, **extra):
        value = json.loads(sandboxes.connection(conn_id, **{**FAST, **extra}))
        if password is not None:
            value["password"] = password
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(value))

    return use


def staff(n, start=0):
    return [
        {"name": f"员工{i}", "code": f"T{i:05d}", "cellphone": f"139{i:08d}", "userid": f"T{i:05d}"}
        for i in range(start, start + n)
    ]


def test_one_token_serves_many_calls_and_an_expired_token_is_refreshed_once(sandboxes):
    hook = DingTalkHook()
    assert len(list(hook.departments())) == 12
    assert hook.stats["token_fetches"] == 1
    sandboxes.control("dingtalk").expire_tokens()
    assert len(list(hook.members(2))) > 0
    assert (hook.stats["token_fetches"], hook.stats["token_refusals"]) == (2, 1)


def test_a_token_refused_on_every_try_is_fetched_anew_twice_then_the_refusal_is_raised(sandboxes):
    hook = DingTalkHook()
    sandboxes.control("dingtalk").faults({"kind": "token_expired", "every": 1, "paths": ["/topapi/*"]})
    with pytest.raises(TokenInvalidError):
        list(hook.departments())
    assert (hook.stats["token_fetches"], hook.stats["token_refusals"]) == (3, 3)


def test_cursor_paging_reads_every_member_to_the_last_page(sandboxes):
    sandboxes.control("dingtalk").reset(departments=2, employees=250)
    hook = DingTalkHook()
    members = list(hook.members(2))
    assert len({m["userid"] for m in members}) == 250
    assert sandboxes.control("dingtalk").stats()["calls"]["POST /topapi/v2/user/list"] == 3


def test_offset_paging_advances_by_what_the_vendor_returned(sandboxes):
    hook = EkuaibaoHook()
    root = hook.corporation()
    for i in range(3):
        hook.create_staffs([{**s, "defaultDepartment": root} for s in staff(77, start=77 * i)])
    codes = [s["code"] for page in hook.iter_staffs() for s in page]
    assert sorted(codes) == sorted(s["code"] for s in staff(231))
    assert sandboxes.control("ekuaibao").stats()["calls"]["GET /api/openapi/v1.1/staffs"] == 3


@pytest.mark.parametrize(
    ("vendor", "hook_class", "call"),
    [
        ("dingtalk", DingTalkHook, lambda h: list(h.departments())),
        ("wecom", WeComHook, lambda h: [m for d in h.departments() for m in h.members(d["id"])]),
        ("ekuaibao", EkuaibaoHook, lambda h: [s for page in h.iter_departments() for s in page]),
    ],
    ids=["dingtalk-90018", "wecom-45009", "ekuaibao-429"],
)
def test_throttling_is_retried_until_the_call_succeeds(sandboxes, vendor, hook_class, call):
    clean = call(hook_class())
    sandboxes.control(vendor).faults({"kind": "throttle", "every": 2})
    hook = hook_class()
    assert call(hook) == clean
    assert hook.stats["throttled"] >= 1 and hook.stats["retries"] == hook.stats["throttled"]


def test_retry_after_is_honoured(sandboxes):
    hook = EkuaibaoHook()
    hook.get_token()
    sandboxes.control("ekuaibao").faults({"kind": "throttle", "every": 1, "limit": 2})
    list(hook.iter_departments())
    assert hook.stats["throttled"] == 2
    assert hook.stats["slept_ms"] >= 2 * 1000  # the sandbox says Retry-After: 1


@pytest.mark.parametrize("kind", ["html_throttle", "5xx", "timeout"])
def test_gateway_pages_server_errors_and_timeouts_are_retried_for_reads(sandboxes, kind):
    clean = list(DingTalkHook().departments())
    sandboxes.control("dingtalk").faults({"kind": kind, "every": 3, "delay": 2.5})
    hook = DingTalkHook()
    assert list(hook.departments()) == clean
    assert hook.stats["retries"] >= 1


def test_exhausted_retries_raise_a_typed_error_that_keeps_the_status(sandboxes, connect):
    connect("oa_dingtalk", max_attempts=3)
    sandboxes.control("dingtalk").faults({"kind": "5xx", "every": 1})
    hook = DingTalkHook()
    with pytest.raises(TransientVendorError) as caught:
        list(hook.departments())
    assert (caught.value.vendor, caught.value.status, caught.value.code) == ("dingtalk", 502, None)
    assert hook.stats["calls"] == 3


def test_a_business_error_is_not_retried_and_keeps_the_vendor_code(sandboxes):
    hook = DingTalkHook()
    with pytest.raises(VendorRequestError) as caught:
        hook.list_sub_departments(99999)
    assert (caught.value.code, caught.value.status) == (60003, 200)
    assert hook.stats["retries"] == 0


def test_a_write_that_times_out_after_the_vendor_acted_is_an_unknown_outcome(sandboxes):
    hook = EkuaibaoHook()
    root = hook.corporation()
    sandboxes.control("ekuaibao").faults(
        {"kind": "slow_commit", "every": 1, "delay": 2.5, "paths": ["/api/openapi/v1.1/staffs/batch/create"]}
    )
    with pytest.raises(OutcomeUnknownError):
        hook.create_staffs([{**s, "defaultDepartment": root} for s in staff(3)])
    created = {s["code"] for s in sandboxes.control("ekuaibao").state()["staffs"]}
    assert created == {"T00000", "T00001", "T00002"}  # it did happen: only a lookup can tell
    assert {s["code"] for s in hook.find_staffs("CODE", ["T00000", "T00001", "T00002"])} == created


@pytest.mark.parametrize(
    ("conn_id", "hook_class"),
    [("oa_dingtalk", DingTalkHook), ("oa_wecom", WeComHook), ("expense_ekuaibao", EkuaibaoHook)],
)
def test_refused_credentials_raise_an_authentication_error(connect, conn_id, hook_class):
    connect(conn_id, password="wrong-secret")
    with pytest.raises(AuthenticationError) as caught:
        hook_class().get_token()
    assert "wrong-secret" not in str(caught.value)


def test_unknown_connection_extras_fail_loudly(connect):
    connect("oa_dingtalk", page_size=100)
    with pytest.raises(ConfigurationError, match="page_size: Extra inputs are not permitted"):
        DingTalkHook().get_token()


def test_the_client_rate_limit_keeps_the_vendor_from_throttling_us(sandboxes, connect):
    control = sandboxes.control("dingtalk")
    control.rate_limit(2)  # a burst of 2, then 2 per second: 10 unpaced calls exceed it unless they take 4 s
    unlimited = DingTalkHook()  # the tests' connections allow 2000 QPS
    for _ in range(10):
        unlimited.list_sub_departments(1)
    assert unlimited.stats["throttled"] > 0  # the sandbox enforces its limit

    control.reset(seed=1, departments=12, employees=60, qps=20)
    connect("oa_dingtalk", rate_limit_qps=20)
    paced = DingTalkHook()
    for _ in range(30):
        paced.list_sub_departments(1)
    assert paced.stats["throttled"] == 0
    assert control.stats()["calls"].get("throttled", 0) == 0


def test_tokens_and_secrets_never_reach_an_error_message(sandboxes, connect):
    connect("oa_dingtalk", max_attempts=2)
    hook = DingTalkHook()
    token = hook.get_token()
    sandboxes.control("dingtalk").faults({"kind": "5xx", "every": 1})
    with pytest.raises(TransientVendorError) as caught:
        hook.list_sub_departments(1)
    text = str(caught.value) + repr(caught.value.__dict__)
    assert token not in text and hook.connection.password not in text
    assert "/topapi/v2/department/listsub" in text  # the endpoint path is named, without its query


def test_tokens_are_registered_with_the_log_masker(sandboxes):
    from airflow.sdk.log import _secrets_masker

    token = EkuaibaoHook().get_token()
    assert token not in _secrets_masker().redact(f"GET /api/openapi/v1/departments?accessToken={token}")
