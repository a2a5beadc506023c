"""DingTalk's gettoken as the vendor documents it ("有效期内重复获取会返回相同结果并自动续期，过期后获取会
返回新的access_token"), served by the sandbox, and the hook coping with a token expired early."""

from expense_sync.hooks.dingtalk import DingTalkHook


def test_gettoken_returns_the_same_token_until_it_expires(sandboxes):
    control = sandboxes.control("dingtalk")
    first, second = DingTalkHook(), DingTalkHook()  # two tasks, two token caches
    assert first.get_token() == second.get_token()
    assert control.stats()["tokens_issued"] == 1

    control.expire_tokens()  # expired early: the next gettoken answers a new one, and the hook uses it
    assert len(list(first.members(2))) > 0
    assert first.get_token() != second.get_token()
    assert (first.stats["token_fetches"], first.stats["token_refusals"]) == (2, 1)
    assert control.stats()["tokens_issued"] == 2


def test_topapi_refuses_a_bad_token_as_dingtalk_does_and_the_hook_fetches_a_new_one(sandboxes):
    """oapi.dingtalk.com answers a bad token on topapi with errcode 88 and sub_code "40014" (a probe of
    the live API, docs/vendors/dingtalk.md Contradiction 1): the hook takes it for a stale token."""
    import requests

    answer = requests.post(
        sandboxes.url("dingtalk") + "/topapi/v2/user/get", params={"access_token": "test"}, json={}, timeout=10
    ).json()
    assert (answer["errcode"], answer["sub_code"], answer["sub_msg"]) == (88, "40014", "不合法的access_token")

    hook = DingTalkHook()
    hook.get_token()
    hook._token = "revoked-elsewhere"  # the vendor no longer knows the cached token
    assert len(list(hook.members(2))) > 0
    assert (hook.stats["token_fetches"], hook.stats["token_refusals"]) == (2, 1)
