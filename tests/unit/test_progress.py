"""Progress lines: none for a short loop, one per interval with rate and time left."""

import logging

from expense_sync.progress import Progress, tracked


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_one_line_per_interval_with_rate_and_time_left(caplog):
    clock = Clock()
    progress = Progress("landing employee", total=1000, every=10, clock=clock, extra=lambda: "api calls 7")
    with caplog.at_level(logging.INFO, logger="expense_sync.progress"):
        for _ in range(100):
            clock.now += 0.05  # 100 rows in 5 s: no line yet
            progress.tick()
        assert caplog.messages == []
        for _ in range(100):
            clock.now += 0.05
            progress.tick()
    assert caplog.messages == ["landing employee: 200 of 1,000 so far, 20/s, about 40 s left, api calls 7"]


def test_tracked_passes_every_item_through():
    assert list(tracked(range(5), "x", every=0.0)) == [0, 1, 2, 3, 4]
