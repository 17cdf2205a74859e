"""Kodiak's admin actions over Flight: ``kodiak.backup`` (online backup on the server's
machine) and ``kodiak.info`` (table sizes, segments, WAL size)."""

from __future__ import annotations

import json
import threading
import time

import pyarrow as pa
import pyarrow.flight as flight
import pytest

import engine
from kodiak_flight.admin import database_stats
from kodiak_flight.auth import Authenticator, hash_password
from kodiak_flight.proto import FlightSql_pb2 as pb

from .conftest import running
from .helpers import action, begin, count, end, put, query, update

Ingest = pb.CommandStatementIngest
Opts = Ingest.TableDefinitionOptions

PASSWORD = "backup-password"


def backup(client: flight.FlightClient, dest, options=None) -> dict:
    body = json.dumps({"dest": str(dest)}).encode()
    (raw,) = [r.body.to_pybytes()
              for r in client.do_action(flight.Action("kodiak.backup", body),
                                        options or flight.FlightCallOptions())]
    return json.loads(raw)


@pytest.fixture
def served(tmp_path):
    """A server of its own over a fresh database (the backup tests need a known state)."""
    db = engine.Database.open(str(tmp_path / "served"))
    with running(db) as srv:
        client = flight.connect(f"grpc://127.0.0.1:{srv.port}")
        yield srv, client
        client.close()
    db.close()


def test_list_actions_names_the_admin_actions(client):
    kinds = {a.type: a.description for a in client.list_actions()}
    assert "kodiak.backup" in kinds and "kodiak.info" in kinds
    assert "dest" in kinds["kodiak.backup"]
    assert "CreatePreparedStatement" in kinds  # the Flight SQL ones are still there


def _append(client: flight.FlightClient, table: str, data: pa.Table,
            txn: bytes | None = None) -> None:
    """Bulk-load ``data`` into ``table`` (inside the transaction ``txn``): a segment."""
    put(client, Ingest(table=table, transaction_id=txn, table_definition_options=Opts(
        if_not_exist=Opts.TABLE_NOT_EXIST_OPTION_FAIL,
        if_exists=Opts.TABLE_EXISTS_OPTION_APPEND)), data)


def test_backup_while_another_client_inserts(served, tmp_path):
    """The server keeps serving during the backup; the backup is one consistent snapshot:
    every transaction is in it entirely or not at all, and nothing after it."""
    srv, client = served
    update(client, "CREATE TABLE ev (id BIGINT PRIMARY KEY, v VARCHAR)")
    update(client, "CREATE TABLE tally (batch BIGINT PRIMARY KEY, n BIGINT)")
    stop = threading.Event()
    errors: list[BaseException] = []
    batches = [0]
    stop_at = [4]  # the writer commits at least this many, and two more after the backup

    def writer() -> None:
        w = flight.connect(f"grpc://127.0.0.1:{srv.port}")
        try:
            start = 0
            while not stop.is_set() or batches[0] < stop_at[0]:
                b = batches[0]
                txn = begin(w)
                if b % 3 == 0:  # a bulk load: more than bulk_rows, written as a segment
                    n = 5_000
                    _append(w, "ev", pa.table({
                        "id": pa.array(range(start, start + n), pa.int64()),
                        "v": [f"v{i}" for i in range(start, start + n)]}), txn)
                else:           # small writes: the write buffer
                    n = 7
                    update(w, "INSERT INTO ev VALUES " + ", ".join(
                        f"({i}, 'v{i}')" for i in range(start, start + n)), transaction_id=txn)
                if b % 5 == 4:  # and a delete now and then (deletion vectors, tombstones)
                    update(w, f"DELETE FROM ev WHERE id = {start - 1}", transaction_id=txn)
                    update(w, f"INSERT INTO ev VALUES ({start - 1}, 'again')",
                           transaction_id=txn)
                update(w, f"INSERT INTO tally VALUES ({b}, {n})", transaction_id=txn)
                end(w, txn, commit=True)
                start += n
                batches[0] += 1
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            w.close()

    t = threading.Thread(target=writer)
    t.start()
    try:
        while batches[0] < 3 and t.is_alive():
            time.sleep(0.01)
        before = count(client, "ev")
        result = backup(client, tmp_path / "bk")
        after = count(client, "ev")
        assert query(client, "SELECT 1 AS one").to_pydict() == {"one": [1]}  # still serving
        stop_at[0] = max(4, batches[0] + 2)
    finally:
        stop.set()
        t.join(timeout=60)
    assert not errors, errors
    assert result["dest"] == str(tmp_path / "bk") and result["tables"] == 2
    assert result["files"] >= 2 and result["total_bytes"] > 0 and result["lsn"] > 0
    assert batches[0] >= stop_at[0]  # the writer kept going during and after the backup

    assert engine.backup.verify(str(tmp_path / "bk")) == []
    engine.backup.restore(str(tmp_path / "bk"), str(tmp_path / "restored"))
    db = engine.Database.open(str(tmp_path / "restored"))
    try:
        snap = db.snapshot()
        ids = sorted(snap.scan("main.ev", ["id"]).read_all().column("id").to_pylist())
        tally = snap.scan("main.tally", ["n"]).read_all().column("n").to_pylist()
        assert before <= len(ids) <= after
        assert ids == list(range(len(ids)))  # a prefix of the inserts: no torn transaction
        assert sum(tally) == len(ids)        # both tables from the same snapshot
        assert result["rows"] == len(ids) + len(tally)
        assert db.check() == []
    finally:
        db.close()


def test_backup_refuses_a_non_empty_destination(served, tmp_path):
    _, client = served
    dest = tmp_path / "full"
    dest.mkdir()
    (dest / "keep.txt").write_text("mine")
    with pytest.raises(pa.ArrowInvalid, match="exists and is not empty") as err:
        backup(client, dest)
    assert "AlreadyExists" in str(err.value)
    assert [p.name for p in dest.iterdir()] == ["keep.txt"]  # untouched
    (tmp_path / "afile").write_text("x")
    with pytest.raises(pa.ArrowInvalid, match="is not a directory"):
        backup(client, tmp_path / "afile")


def test_backup_into_an_empty_directory(served, tmp_path):
    _, client = served
    update(client, "CREATE TABLE e1 (x INT)")
    update(client, "INSERT INTO e1 VALUES (1), (2)")
    (tmp_path / "empty").mkdir()
    result = backup(client, tmp_path / "empty")
    assert (result["tables"], result["rows"]) == (1, 2)
    assert engine.backup.verify(str(tmp_path / "empty")) == []


@pytest.mark.parametrize("body,match", [
    (b"", "must be JSON"),
    (b"not json", "must be JSON"),
    (b'{"dest": 5}', "must be JSON"),
    (b'{"dest": "/tmp/x", "mode": "fast"}', "unknown field"),
    (b'{"dest": "relative/dir"}', "must be an absolute path"),
])
def test_backup_refuses_bad_requests(served, body, match):
    _, client = served
    with pytest.raises(pa.ArrowInvalid, match=match):
        action(client, "kodiak.backup", body)


def test_backup_refuses_the_data_directory_itself(served):
    srv, client = served
    with pytest.raises(pa.ArrowInvalid, match="inside the data directory"):
        backup(client, f"{srv.db.root}/backups/b1")


def test_backup_reports_an_unwritable_destination(served, tmp_path):
    _, client = served
    (tmp_path / "ro").write_text("a file, not a directory")
    with pytest.raises(pa.ArrowInvalid, match="cannot write the backup"):
        backup(client, tmp_path / "ro" / "sub")
    assert (tmp_path / "ro").read_text() == "a file, not a directory"


def test_admin_actions_need_an_authenticated_user(tmp_path):
    db = engine.Database.open(str(tmp_path / "served"))
    auth = Authenticator("kodiak", hash_password(PASSWORD, n=2**10))
    try:
        with running(db, auth=auth) as srv:
            client = flight.connect(f"grpc://127.0.0.1:{srv.port}")
            for kind, body in (("kodiak.backup", json.dumps({"dest": str(tmp_path / "b")})),
                               ("kodiak.info", "")):
                with pytest.raises(flight.FlightUnauthenticatedError):
                    action(client, kind, body.encode())
            assert not (tmp_path / "b").exists()
            bad = flight.FlightCallOptions(headers=[(b"authorization", b"Bearer k1.x.y")])
            with pytest.raises(flight.FlightUnauthenticatedError):
                backup(client, tmp_path / "b", bad)
            options = flight.FlightCallOptions(
                headers=[client.authenticate_basic_token("kodiak", PASSWORD)])
            assert backup(client, tmp_path / "b", options)["tables"] == 0
            assert engine.backup.verify(str(tmp_path / "b")) == []
            client.close()
    finally:
        db.close()


def test_info_reports_sizes_segments_and_wal(served):
    srv, client = served
    update(client, "CREATE TABLE sized (id BIGINT PRIMARY KEY, s VARCHAR)")
    _append(client, "sized", pa.table({"id": pa.array(range(6000), pa.int64()),
                                       "s": [f"row {i}" for i in range(6000)]}))
    update(client, "INSERT INTO sized VALUES (6000, 'small')")
    update(client, "DELETE FROM sized WHERE id < 10")
    (raw,) = action(client, "kodiak.info")
    doc = json.loads(raw)
    t = {t["name"]: t for t in doc["tables"]}["sized"]
    assert t["rows"] == 5_991 and t["columns"] == 2
    assert t["segments"] >= 1 and t["segment_bytes"] > 0
    assert t["deleted_rows"] == 10 and t["buffered_rows"] == 1
    assert doc["wal_bytes"] > 0 and doc["wal_files"] >= 1 and doc["lsn"] > 0
    assert doc["total_bytes"] >= doc["wal_bytes"] + t["segment_bytes"]
    tables, summary = database_stats(srv.db)  # what the embedded `kodiak info` shows
    assert doc == json.loads(json.dumps({**summary, "tables": tables}))
