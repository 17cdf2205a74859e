"""``kodiak backup``, ``restore``, ``check`` and ``info``."""

from __future__ import annotations

import json
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from .conftest import kodiak, kodiak_proc, serve_proc


@pytest.fixture
def loaded(tmp_path, data_dir):
    """A database with a bulk-loaded table (segments), small writes (WAL, write buffer),
    deletes, and a user."""
    n = 10_000
    pq.write_table(pa.table({"id": pa.array(range(n), pa.int64()),
                             "v": [f"v{i}" for i in range(n)]}), tmp_path / "big.parquet")
    args = ["--data-dir", str(data_dir)]
    assert kodiak("import", tmp_path / "big.parquet", "big", *args).code == 0
    assert kodiak("sql", *args, "create table small (k int primary key, s varchar); "
                  "insert into small values (1, 'a'), (2, 'b'); "
                  "delete from big where id < 10").code == 0
    assert kodiak("user", "add", "ann", *args, "--password-stdin", input="pw1\n").code == 0
    return data_dir


def test_info(loaded):
    r = kodiak("info", "--data-dir", loaded, "--json")
    assert r.code == 0, r.stderr
    doc = json.loads(r.stdout)
    tables = {t["name"]: t for t in doc["tables"]}
    assert tables["big"]["rows"] == 9_990 and tables["big"]["segments"] == 1
    assert tables["big"]["segment_bytes"] > 0 and tables["big"]["deleted_rows"] == 10
    assert tables["small"] == {"name": "small", "rows": 2, "columns": 2, "segments": 0,
                               "segment_bytes": 0, "deleted_rows": 0, "buffered_rows": 2}
    assert doc["wal_bytes"] > 0 and doc["total_bytes"] > doc["wal_bytes"]
    r = kodiak("info", "--data-dir", loaded)
    assert "big" in r.stdout and "9990" in r.stdout and "write-ahead log:" in r.stdout


def test_info_against_a_server(uri):
    kodiak("sql", "--uri", uri, "create table if not exists info_t (x int); "
           "insert into info_t values (1), (2)")
    r = kodiak("info", "--uri", uri, "--json")
    t = {t["name"]: t for t in json.loads(r.stdout)["tables"]}["info_t"]
    assert (t["rows"], t["columns"], t["segments"]) == (2, 1, None)


def test_info_on_missing_directory(tmp_path):
    r = kodiak("info", "--data-dir", tmp_path / "nothing")
    assert r.code == 1 and r.err_lines == [f"error: no database at {tmp_path / 'nothing'} "
                                           "(directory does not exist)"]
    assert not (tmp_path / "nothing").exists()  # not created as a side effect


def test_backup_check_restore(loaded, tmp_path):
    args = ["--data-dir", str(loaded)]
    bk = tmp_path / "bk"
    r = kodiak("backup", bk, *args)
    assert r.code == 0, r.stderr
    assert r.stdout.startswith("backed up 2 tables, 9992 rows")
    assert (bk / "users.json").exists()
    r = kodiak("check", "--data-dir", bk)
    assert r.code == 0 and r.stdout.startswith("ok: ") and "9992 rows" in r.stdout

    kodiak("sql", *args, "delete from big; insert into small values (3, 'c')")
    r = kodiak("restore", bk, *args)  # stdin is not a terminal: needs --yes
    assert r.code == 2 and "--yes" in r.stderr
    r = kodiak("restore", bk, *args, "--yes")
    assert r.code == 0, r.stderr
    got = kodiak("sql", *args, "-f", "csv", "select (select count(*) from big) as b, "
                 "(select count(*) from small) as s")
    assert got.stdout.splitlines() == ['"b","s"', "9990,2"]
    assert kodiak("user", "list", *args).stdout.split() == ["ann"]


def test_restore_keeps_users_when_backup_has_none(loaded, tmp_path):
    args = ["--data-dir", str(loaded)]
    bk = tmp_path / "bk"
    kodiak("backup", bk, *args)
    (bk / "users.json").unlink()
    kodiak("user", "add", "bob", *args, "--password-stdin", input="pw\n")
    assert kodiak("restore", bk, *args, "--yes").code == 0
    assert kodiak("user", "list", *args).stdout.split() == ["ann", "bob"]


def test_restore_refuses_a_bad_backup(loaded, tmp_path):
    args = ["--data-dir", str(loaded)]
    bk = tmp_path / "bk"
    kodiak("backup", bk, *args)
    seg = next((bk / "segments").glob("*.arrow"))
    data = bytearray(seg.read_bytes())
    data[len(data) // 2] ^= 0xFF
    seg.write_bytes(bytes(data))
    r = kodiak("check", "--data-dir", bk)
    assert r.code == 1 and r.err_lines[-1].startswith("error: ")
    assert "checksum" in r.stderr
    r = kodiak("restore", bk, *args, "--yes")
    assert r.code == 1 and "nothing replaced" in r.stderr and len(r.err_lines) == 1
    assert kodiak("check", *args).code == 0  # the target is untouched
    assert kodiak("restore", tmp_path / "nope", *args, "--yes").code == 1
    assert "not a Kodiak backup" in kodiak("restore", tmp_path, *args, "--yes").stderr


def test_check_finds_a_damaged_segment(loaded):
    seg = next((loaded / "segments").glob("*.arrow"))
    data = bytearray(seg.read_bytes())
    data[-100] ^= 0x01
    seg.write_bytes(bytes(data))
    p = kodiak_proc("check", "--data-dir", loaded)
    assert p.returncode == 1
    assert p.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "Traceback" not in p.stderr


def test_backup_backup_target_must_be_empty(loaded, tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    r = kodiak("backup", tmp_path / "full", "--data-dir", loaded)
    assert r.code == 1 and "not empty" in r.stderr and len(r.err_lines) == 1


def test_live_server_holds_the_directory(loaded, tmp_path):
    """A served data directory is locked: backup/check/restore say so in one line and point
    at the docs; the server keeps serving."""
    with serve_proc(loaded) as (uri, _):
        for args in (["backup", tmp_path / "b2"], ["check"]):
            r = kodiak(*args, "--data-dir", loaded)
            assert r.code == 1 and len(r.err_lines) == 1, r.stderr
            assert "in use by another process" in r.stderr and "operations.md" in r.stderr
        r = kodiak("sql", "--data-dir", loaded, "select 1")
        assert "is a server serving it? use --uri" in r.stderr
        r = kodiak("sql", "--uri", uri, "-f", "csv", "select count(*) as n from small")
        assert r.code == 1 and "authentication required" in r.stderr  # users file: auth on
        r = kodiak("sql", "--uri", uri, "--user", "ann", "-f", "csv",
                   "select count(*) as n from small", env={"KODIAK_PASSWORD": "pw1"})
        assert r.stdout.splitlines() == ['"n"', "2"], r.stderr
        # a user added while the server runs can log in once it re-reads the file (<= 1 s)
        assert kodiak("user", "add", "bob", "--data-dir", loaded, "--password-stdin",
                      input="pw-bob\n").code == 0
        time.sleep(1.1)
        r = kodiak("sql", "--uri", uri, "--user", "bob", "-f", "csv", "select 1 as x",
                   env={"KODIAK_PASSWORD": "pw-bob"})
        assert r.stdout.splitlines() == ['"x"', "1"], r.stderr


def test_drop_after_import_survives_reopening(loaded):
    args = ["--data-dir", str(loaded)]
    assert kodiak("sql", *args, "drop table big").code == 0
    assert kodiak("sql", *args, "select 1").code == 0  # this open removes the segment
    r = kodiak("sql", *args, "select count(*) from small")
    assert r.code == 0, r.stderr
