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
