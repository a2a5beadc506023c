"""The token buckets and the sender-address rules, on their own (a fake clock; no HTTP)."""

from __future__ import annotations

import pytest

from expense_sync.webhooks.errors import Rejected
from expense_sync.webhooks.peers import client_address, networks, within
from expense_sync.webhooks.ratelimit import TokenBuckets


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_its_burst_then_refills_at_its_rate():
    clock = Clock()
    buckets = TokenBuckets(rate=2.0, burst=3, clock=clock)

    assert [buckets.wait("a") for _ in range(4)] == [0.0, 0.0, 0.0, 0.5]
    clock.now += 0.5  # one token back
    assert buckets.wait("a") == 0.0
    assert buckets.wait("a") == pytest.approx(0.5)
    clock.now += 100  # never more than the burst
    assert [buckets.wait("a") for _ in range(4)][-1] > 0


def test_a_refusal_is_429_with_whole_seconds_to_wait():
    buckets = TokenBuckets(rate=0.4, burst=1, clock=Clock())
    buckets.take("a")

    with pytest.raises(Rejected) as refused:
        buckets.take("a")

    assert (refused.value.status, refused.value.retry_after) == (429, 3)  # 2.5 s, rounded up


def test_addresses_have_their_own_buckets_and_the_table_is_bounded():
    buckets = TokenBuckets(rate=1.0, burst=1, max_sources=2, clock=Clock())

    assert [buckets.wait(s) for s in ("a", "b")] == [0.0, 0.0]
    assert buckets.wait("a") > 0  # a is now the most recent, b the idlest
    assert buckets.wait("c") == 0.0  # b is forgotten
    assert buckets.wait("b") == 0.0  # a fresh (full) bucket again
    assert buckets.wait("a") == 0.0  # ...and a was forgotten in its turn


@pytest.mark.parametrize(
    "peer, forwarded, sender",
    [
        ("192.0.2.1", "203.0.113.7", "192.0.2.1"),  # not from a trusted proxy: header ignored
        ("10.0.0.2", None, "10.0.0.2"),
        ("10.0.0.2", "203.0.113.7", "203.0.113.7"),
        ("10.0.0.2", "198.51.100.9, 203.0.113.7", "203.0.113.7"),  # the left one is the client's say
        ("10.0.0.2", "203.0.113.7, 10.0.0.1", "203.0.113.7"),  # two trusted hops
        ("10.0.0.2", "junk, 203.0.113.7", "203.0.113.7"),
        ("10.0.0.2", "203.0.113.7, junk", "10.0.0.2"),  # a malformed hop ends the walk
        ("10.0.0.2", "::ffff:203.0.113.7", "203.0.113.7"),
    ],
)
def test_the_sender_is_the_first_untrusted_address_from_the_right(peer, forwarded, sender):
    assert client_address(peer, forwarded, networks(["10.0.0.0/8"], "trusted")) == sender


def test_allow_lists_match_by_network_and_version():
    allowed = networks(["10.0.0.0/8", " 2001:db8::/32 ", "", "192.0.2.5"], "allowed")

    assert [within(a, allowed) for a in ("10.1.2.3", "2001:db8::1", "192.0.2.5", "192.0.2.6", "nonsense")] == [
        True,
        True,
        True,
        False,
        False,
    ]
    with pytest.raises(ValueError, match="allowed item 2 is not"):
        networks(["10.0.0.0/8", "10.0.0.0/33"], "allowed")
