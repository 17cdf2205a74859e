"""The ingest read-ahead keeps order, hands on errors and stops when its consumer does."""

from __future__ import annotations

import threading
import time

import pytest

from kodiak_flight.prefetch import prefetch


def test_items_in_order_and_bounded():
    produced = []

    def source():
        for i in range(100):
            produced.append(i)
            yield i

    it = prefetch(source(), depth=3)
    assert next(it) == 0
    time.sleep(0.05)
    # one taken, at most `depth` queued and one in the producer's hand
    assert len(produced) <= 1 + 3 + 1
    assert [0, *it] == list(range(100))


def test_source_error_is_raised_where_its_item_was():
    def source():
        yield 1
        yield 2
        raise ValueError("bad batch")

    it = prefetch(source())
    assert next(it) == 1 and next(it) == 2
    with pytest.raises(ValueError, match="bad batch"):
        next(it)


def test_closing_early_stops_and_joins_the_reader():
    def source():
        yield from range(10**9)

    it = prefetch(source(), depth=2)
    assert next(it) == 0
    it.close()
    names = [t.name for t in threading.enumerate()]
    assert "kodiak-prefetch" not in names
