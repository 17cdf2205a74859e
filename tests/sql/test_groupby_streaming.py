"""A group-by over a multi-segment table leaves no segment pages mapped behind it.

Segments are memory-mapped. A scan used to read them through each segment's cached mapping,
so every page it touched stayed mapped — resident, counted in the process's RSS — for as
long as the segment lived: a group-by over SF10 lineitem held 4 GiB of column pages while
its plan needed 260 MiB (``python -m bench groupby_sf10``). Large segments are now scanned
through a mapping of the scan's own, unmapped when the scan is done
(``engine.snapshot._scan_view``).

Measured with ``RssFile`` (resident file-backed pages of this process), Linux only.
"""

from __future__ import annotations

import gc
import sys

import numpy as np
import pyarrow as pa
import pytest

import engine
import engine.snapshot as snapshot
from kodiak_flight.sql import Session

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="reads RssFile from /proc/self/status")

ROWS = 1 << 21  # two segments of 1M rows (default segment_rows)
SEGMENT_MIB = 24  # k, v and the hidden row id: 8 bytes each per row
SQL = "select k, sum(v) as s, count(*) as n from t group by k"


def _rss_file_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("RssFile:"):
                return int(line.split()[1]) / 1024
    pytest.skip("no RssFile in /proc/self/status")


def _pinned_by_group_by(session: Session) -> float:
    """RssFile growth left behind by one group-by over all of ``t``, result checked."""
    gc.collect()
    before = _rss_file_mib()
    reader = session.execute(SQL).reader
    out = reader.read_all()
    assert out.num_rows == 1000
    assert pa.compute.sum(out.column("n")).as_py() == ROWS
    assert pa.compute.sum(out.column("s")).as_py() == ROWS * (ROWS - 1) // 2
    del reader, out
    gc.collect()
    return _rss_file_mib() - before


def test_group_by_scan_unmaps_segments(tmp_path, monkeypatch):
    db = engine.Database.open(str(tmp_path / "db"))
    session = Session(db)
    try:
        i = np.arange(ROWS, dtype=np.int64)
        with db.begin() as tx:
            tx.create_table("t", pa.schema([("k", pa.int64()), ("v", pa.int64())]))
            tx.insert("t", pa.table({"k": i % 1000, "v": i}))
        segments = db.snapshot().data("t").parts
        assert len(segments) == 2 and all(p.segment.size > (16 << 20) for p in segments)

        # segments above the threshold: read through the scan's own mappings
        monkeypatch.setattr(snapshot, "SCAN_OWN_MAP_BYTES", 1 << 20)
        pinned = _pinned_by_group_by(session)
        assert pinned < SEGMENT_MIB / 3, f"the group-by left {pinned:.0f} MiB of segments mapped"

        # the measurement sees pinning when there is some: through the cached mappings the
        # same query leaves the k and v columns of both segments (32 MiB) resident
        monkeypatch.setattr(snapshot, "SCAN_OWN_MAP_BYTES", 1 << 62)
        assert _pinned_by_group_by(session) > SEGMENT_MIB
    finally:
        session.close()
        db.close()
