"""A stopped plan whose close never returns (Acero has been seen waiting forever to drain a
failed plan) must not hang the query: ``close_stopped`` waits a bounded time."""

from __future__ import annotations

import threading
import time

from kodiak_flight.sql.executor.acero import close_stopped


class StuckPlan:
    """Stands for a plan reader whose ``close`` blocks until ``release`` is set."""

    def __init__(self, release: threading.Event) -> None:
        self.release = release
        self.closed = False

    def close(self) -> None:
        self.release.wait(30)
        self.closed = True


def test_a_close_that_never_returns_is_left_behind():
    release = threading.Event()
    r = StuckPlan(release)
    t0 = time.monotonic()
    close_stopped(r, wait=0.2)
    assert time.monotonic() - t0 < 2
    assert any(t.name == "kodiak-plan-close" for t in threading.enumerate())
    assert not r.closed
    release.set()  # the closer thread then ends
    deadline = time.monotonic() + 5
    while any(t.name == "kodiak-plan-close" for t in threading.enumerate()):
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_a_close_that_returns_is_waited_for():
    release = threading.Event()
    release.set()
    r = StuckPlan(release)
    close_stopped(r, wait=5)
    assert r.closed
    assert not any(t.name == "kodiak-plan-close" for t in threading.enumerate())
