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
    deletes, and a user (an admin)."""
    n = 10_000
    pq.write_table(pa.table({"id": pa.array(range(n), pa.int64()),
                             "v": [f"v{i}" for i in range(n)]}), tmp_path / "big.parquet")
    args = ["--data-dir", str(data_dir)]
    assert kodiak("import", tmp_path / "big.parquet", "big", *args).code == 0
    assert kodiak("sql", *args, "create table small (k int primary key, s varchar); "
                  "insert into small values (1, 'a'), (2, 'b'); "
                  "delete from big where id < 10").code == 0
    assert kodiak("user", "add", "ann", *args, "--password-stdin", input="pw1\n").code == 0
    # a users-file user holds no right until granted: made an admin locally (no user there)
    assert kodiak("sql", *args, "grant admin to ann").code == 0
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
    """The server reports what the embedded command does (its kodiak.info action)."""
    kodiak("sql", "--uri", uri, "create table if not exists info_t (x int); "
           "insert into info_t values (1), (2)")
    r = kodiak("info", "--uri", uri, "--json")
    assert r.code == 0, r.stderr
    doc = json.loads(r.stdout)
    t = {t["name"]: t for t in doc["tables"]}["info_t"]
    assert t == {"name": "info_t", "rows": 2, "columns": 1, "segments": 0,
                 "segment_bytes": 0, "deleted_rows": 0, "buffered_rows": 2}
    assert doc["uri"] == uri and doc["wal_bytes"] > 0 and doc["lsn"] > 0
    r = kodiak("info", "--uri", uri)
    assert "info_t" in r.stdout and "buffered" in r.stdout and "write-ahead log:" in r.stdout


def test_info_against_a_server_without_the_info_action(tmp_path):
    """Another Flight SQL server (or an older Kodiak): tables, columns and row counts."""
    import engine
    from kodiak_flight.server import KodiakFlightServer

    class Plain(KodiakFlightServer):
        actions = {name: a for name, a in KodiakFlightServer.actions.items()
                   if not name.startswith("kodiak.")}

    db = engine.Database.open(str(tmp_path / "plain"))
    srv = Plain(db, "grpc://127.0.0.1:0")
    try:
        uri = f"grpc://127.0.0.1:{srv.port}"
        kodiak("sql", "--uri", uri, "create table p (x int); insert into p values (1)")
        r = kodiak("info", "--uri", uri, "--json")
        assert r.code == 0, r.stderr
        assert json.loads(r.stdout)["tables"] == [
            {"name": "p", "rows": 1, "columns": 1, "segments": None, "segment_bytes": None,
             "deleted_rows": None, "buffered_rows": None}]
        r = kodiak("backup", tmp_path / "bk", "--uri", uri)
        assert r.code == 1 and r.err_lines == [
            f"error: the server at {uri} does not support kodiak.backup (it is not a Kodiak "
            "server, or an older one)"]
    finally:
        srv.shutdown()
        db.close()


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
    got = kodiak("sql", *args, "--format", "csv", "select (select count(*) from big) as b, "
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
    """A served data directory is locked: backup/check/restore say so in one line, naming
    the server and what to run instead; sql reaches the server; the server keeps serving."""
    with serve_proc(loaded) as (uri, _):
        for args, todo in ((["backup", tmp_path / "b2"], f"kodiak backup DEST --uri {uri}"),
                           (["check"], f"kodiak check --uri {uri}"),
                           (["restore", tmp_path / "b2", "--yes"], "stop the server first")):
            if args[0] == "restore":
                (tmp_path / "b2").mkdir(exist_ok=True)
                (tmp_path / "b2" / "MANIFEST").touch()
            r = kodiak(*args, "--data-dir", loaded)
            assert r.code == 1 and len(r.err_lines) == 1, r.stderr
            assert f"is in use: the server at {uri} serves it" in r.stderr and todo in r.stderr
        r = kodiak("sql", "--data-dir", loaded, "select 1")
        assert r.err_lines == [f"using the server at {uri} (it serves {loaded})",
                               "error: this server needs a password: pass --user or set "
                               "KODIAK_PASSWORD"]
        r = kodiak("sql", "--uri", uri, "--format", "csv", "select count(*) as n from small")
        assert r.code == 1 and "needs a password" in r.stderr  # users file: auth on
        r = kodiak("sql", "--uri", uri, "--user", "ann", "--format", "csv",
                   "select count(*) as n from small", env={"KODIAK_PASSWORD": "pw1"})
        assert r.stdout.splitlines() == ['"n"', "2"], r.stderr
        # a user added while the server runs can log in once it re-reads the file (<= 1 s)
        assert kodiak("user", "add", "bob", "--data-dir", loaded, "--password-stdin",
                      input="pw-bob\n").code == 0
        time.sleep(1.1)
        r = kodiak("sql", "--uri", uri, "--user", "bob", "--format", "csv", "select 1 as x",
                   env={"KODIAK_PASSWORD": "pw-bob"})
        assert r.stdout.splitlines() == ['"x"', "1"], r.stderr


def test_backup_of_a_running_server(loaded, tmp_path):
    """`kodiak backup DEST --uri`: the server writes the backup online (authentication
    required: the users file turns it on); restore and check it like any backup."""
    with serve_proc(loaded) as (uri, _):
        r = kodiak("backup", tmp_path / "bk", "--uri", uri)
        assert r.code == 1 and len(r.err_lines) == 1
        assert "needs a password" in r.stderr and "--user" in r.stderr
        assert not (tmp_path / "bk").exists()
        r = kodiak("backup", tmp_path / "bk", "--uri", uri, "--user", "ann",
                   env={"KODIAK_PASSWORD": "wrong"})
        assert r.code == 1 and len(r.err_lines) == 1 and not (tmp_path / "bk").exists()

        ann = {"KODIAK_PASSWORD": "pw1"}
        r = kodiak("backup", "bk", "--uri", uri, "--user", "ann", env=ann)  # relative DEST
        assert r.code == 0, r.stderr
        assert r.stdout.startswith("backed up 2 tables, 9992 rows ("), r.stdout
        assert f"to {tmp_path / 'bk'} on the server" in r.stdout
        r = kodiak("backup", tmp_path / "bk", "--uri", uri, "--user", "ann", env=ann)
        assert r.code == 1 and r.err_lines == [
            f"error: backup destination {tmp_path / 'bk'} exists and is not empty"]

        r = kodiak("info", "--uri", uri, "--user", "ann", "--json", env=ann)
        assert r.code == 0, r.stderr
        doc = json.loads(r.stdout)
        big = {t["name"]: t for t in doc["tables"]}["big"]
        assert big["segments"] == 1 and big["segment_bytes"] > 0
        assert big["deleted_rows"] == 10 and doc["wal_bytes"] > 0

        # the backup is an ordinary data directory, checked while the server still runs
        r = kodiak("check", "--data-dir", tmp_path / "bk")
        assert r.code == 0 and "2 tables, 9992 rows" in r.stdout, r.stderr
        r = kodiak("sql", "--uri", uri, "--user", "ann", "--format", "csv",
                   "select count(*) as n from small", env=ann)
        assert r.stdout.splitlines() == ['"n"', "2"]  # still serving

    fresh = tmp_path / "fresh"
    assert kodiak("restore", tmp_path / "bk", "--data-dir", fresh, "--yes").code == 0
    r = kodiak("sql", "--data-dir", fresh, "--format", "csv", "select (select count(*) from big) "
               "as b, (select count(*) from small) as s")
    assert r.stdout.splitlines() == ['"b","s"', "9990,2"]
    assert kodiak("user", "list", "--data-dir", fresh).stdout.split() == ["ann"]


def test_cli_backup_while_another_client_inserts(uri, tmp_path):
    """A writer keeps committing while `kodiak backup --uri` runs; the restored backup holds
    a consistent snapshot between the row counts before and after, and passes `check`."""
    import threading

    import adbc_driver_flightsql.dbapi as flight_sql

    assert kodiak("sql", "--uri", uri, "create table live (id bigint primary key, "
                  "batch bigint)").code == 0
    stop = threading.Event()
    errors: list[BaseException] = []
    committed = [0]

    def writer() -> None:
        try:
            with flight_sql.connect(uri) as conn, conn.cursor() as cur:
                start = 0
                while not stop.is_set() or committed[0] < 5:
                    b = committed[0]
                    n = 4_500 if b % 4 == 0 else 3  # bulk (a segment) or buffered
                    cur.adbc_ingest("live", pa.table({
                        "id": pa.array(range(start, start + n), pa.int64()),
                        "batch": pa.array([b] * n, pa.int64())}), mode="append")
                    start += n
                    committed[0] += 1
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def rows() -> int:
        r = kodiak("sql", "--uri", uri, "--format", "csv", "select count(*) as n from live")
        return int(r.stdout.splitlines()[1])

    t = threading.Thread(target=writer)
    t.start()
    try:
        while committed[0] < 2 and t.is_alive():
            time.sleep(0.01)
        before = rows()
        r = kodiak("backup", tmp_path / "bk", "--uri", uri)
        after = rows()
    finally:
        stop.set()
        t.join(timeout=60)
    assert not errors, errors
    assert r.code == 0, r.stderr
    assert committed[0] > 5
    fresh = tmp_path / "fresh"
    assert kodiak("restore", tmp_path / "bk", "--data-dir", fresh, "--yes").code == 0
    r = kodiak("check", "--data-dir", fresh)
    assert r.code == 0, r.stderr
    r = kodiak("sql", "--data-dir", fresh, "--format", "csv",
               "select count(*) as n, min(id) as lo, max(id) as hi, "
               "count(distinct batch) as b from live")
    n, lo, hi, b = map(int, r.stdout.splitlines()[1].split(","))
    assert before <= n <= after
    assert (lo, hi) == (0, n - 1)  # a prefix of the commits: nothing torn, nothing missing


def test_drop_after_import_survives_reopening(loaded):
    args = ["--data-dir", str(loaded)]
    assert kodiak("sql", *args, "drop table big").code == 0
    assert kodiak("sql", *args, "select 1").code == 0  # this open removes the segment
    r = kodiak("sql", *args, "select count(*) from small")
    assert r.code == 0, r.stderr


def test_online_check_while_another_client_writes(uri):
    """`kodiak check --uri`: the server checks its live database while a client keeps
    committing (small writes into the WAL and buffer, bulk ones into segments, checkpoints
    in between); no run reports a problem that is not there."""
    import threading

    import adbc_driver_flightsql.dbapi as flight_sql

    assert kodiak("sql", "--uri", uri, "create table hot (id bigint primary key, "
                  "v bigint)").code == 0
    stop = threading.Event()
    errors: list[BaseException] = []
    committed = [0]

    def writer() -> None:
        try:
            with flight_sql.connect(uri, autocommit=True) as conn, conn.cursor() as cur:
                start = 0
                while not stop.is_set() or committed[0] < 5:
                    n = 3_000 if committed[0] % 5 == 0 else 2
                    cur.adbc_ingest("hot", pa.table({
                        "id": pa.array(range(start, start + n), pa.int64()),
                        "v": pa.array([start] * n, pa.int64())}), mode="append")
                    if committed[0] % 7 == 3:
                        cur.execute(f"delete from hot where id = {start}")
                    start += n
                    committed[0] += 1
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    t = threading.Thread(target=writer)
    t.start()
    try:
        runs = []
        for _ in range(4):
            runs.append(kodiak("check", "--uri", uri))
    finally:
        stop.set()
        t.join(timeout=60)
    assert not errors, errors
    assert committed[0] > 5
    for r in runs:
        assert r.code == 0, r.stderr
        assert r.stdout.startswith(f"ok: {uri}: ") and "no problems found" in r.stdout


def test_online_check_finds_a_damaged_segment(loaded):
    """The live server's check reads the segment files: a flipped byte is reported, and
    with authentication on the check needs a logged-in user."""
    with serve_proc(loaded) as (uri, _):
        ann = {"KODIAK_PASSWORD": "pw1"}
        r = kodiak("check", "--uri", uri, "--user", "ann", env=ann)
        assert r.code == 0, r.stderr
        assert "2 tables" in r.stdout
        r = kodiak("check", "--uri", uri)
        assert r.code == 1 and "KODIAK_PASSWORD" in r.stderr
        seg = next((loaded / "segments").glob("*.arrow"))
        data = bytearray(seg.read_bytes())
        data[-100] ^= 0x01
        seg.write_bytes(bytes(data))
        r = kodiak("check", "--uri", uri, "--user", "ann", env=ann)
        assert r.code == 1
        assert any("fails its checksum" in line for line in r.err_lines), r.stderr
        assert r.err_lines[-1].startswith("error: 1 problem(s) found in grpc://")


def test_backup_root_confines_online_backups(loaded, tmp_path):
    """`kodiak serve --backup-root DIR`: online backups go under DIR only (symbolic links
    and `..` resolved first); anything else is refused with nothing written."""
    root = tmp_path / "backups"
    root.mkdir()
    (tmp_path / "elsewhere").mkdir()
    (root / "escape").symlink_to(tmp_path / "elsewhere")
    with serve_proc(loaded, "--backup-root", str(root)) as (uri, _):
        ann = {"KODIAK_PASSWORD": "pw1"}
        for dest in (tmp_path / "outside", root / ".." / "up", root / "escape" / "b"):
            r = kodiak("backup", dest, "--uri", uri, "--user", "ann", env=ann)
            assert r.code == 1 and "outside the server's backup root" in r.stderr, r.stderr
        assert not (tmp_path / "outside").exists() and not (tmp_path / "up").exists()
        assert not any((tmp_path / "elsewhere").iterdir())
        r = kodiak("backup", root / "b1", "--uri", uri, "--user", "ann", env=ann)
        assert r.code == 0, r.stderr
        assert kodiak("check", "--data-dir", root / "b1").code == 0
    r = kodiak("serve", "--port", "0", "--data-dir", loaded, "--backup-root", tmp_path / "no")
    assert r.code == 2 and "--backup-root" in r.stderr and "is not a directory" in r.stderr
