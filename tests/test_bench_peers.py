"""The benchmarks' bounds: the bare ingest server a harness's upload is measured against, and
the cores' ceiling the concurrency report gives."""

from __future__ import annotations

import os
import threading

import adbc_driver_flightsql.dbapi as flight_sql
import pyarrow as pa
import pyarrow.ipc as ipc
import pytest

from bench.concurrency import ceiling_note
from bench.flight_bench import IngestPeer


def _ingest(peer: IngestPeer, table: pa.Table) -> int:
    thread = threading.Thread(target=peer.serve, daemon=True)
    thread.start()
    try:
        with flight_sql.connect(f"grpc://127.0.0.1:{peer.port}", autocommit=True) as conn, \
                conn.cursor() as cur:
            return cur.adbc_ingest("t", table.to_reader(max_chunksize=1000), mode="create")
    finally:
        peer.shutdown()
        thread.join()


@pytest.mark.parametrize("store", [False, True])
def test_ingest_peer_answers_the_row_count_and_stores_the_upload(tmp_path, store):
    table = pa.table({"id": pa.array(range(5000), pa.int64()),
                      "name": pa.array([f"n{i}" for i in range(5000)])})
    peer = IngestPeer(str(tmp_path) if store else None)
    assert _ingest(peer, table) == 5000
    path = tmp_path / "upload.arrow"
    assert path.exists() == store
    if store:
        assert ipc.open_file(str(path)).read_all().equals(table)


def test_ceiling_note_is_the_cores_over_clients_and_peer_server_cpu():
    cores = os.cpu_count() or 1
    kodiak = {1: [(2.0, 6.0)], 16: [(3.0, 8.0), (3.5, 9.0), (3.2, 8.5)]}
    peer = {1: [(1.0, 5.0)], 16: [(1.2, 8.0), (1.5, 8.0), (1.3, 8.0)]}
    note = ceiling_note(kodiak, peer, 16, one=100.0)
    top = 1000 * cores / (8.5 + 1.3)  # the medians at 16 clients
    assert f"{top:,.0f} ops/s" in note and f"{top / 100:.2f}× Kodiak's 1 client" in note
    assert ceiling_note(kodiak, {1: [], 16: []}, 16, one=100.0) == ""
    assert ceiling_note(kodiak, peer, 16, one=0.0) == ""
