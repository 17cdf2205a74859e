"""The scale benchmark's per-query I/O note: system time, major faults, disk reads."""

from __future__ import annotations

import sys

from bench.tpch_scale import io_counters, io_note


def test_io_note_gives_per_run_figures():
    note = io_note((1.0, 10, 0), (1.5, 14, 8 << 20), repeats=2)
    assert note == "250 ms system, 2 major faults, 4 MiB from disk"
    assert io_note((0.0, 0, None), (0.1, 0, None), repeats=1) == "100 ms system, 0 major faults"


def test_io_counters_count_up():
    before = io_counters()
    sum(i * i for i in range(100_000))
    after = io_counters()
    assert after[0] >= before[0] and after[1] >= before[1]
    if sys.platform.startswith("linux") and before[2] is not None:
        assert after[2] >= before[2]
