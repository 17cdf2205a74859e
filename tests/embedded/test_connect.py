"""kodiak_flight.connect: opening, sharing and closing databases."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import kodiak_flight
from kodiak_flight import embedded

REPO = Path(__file__).resolve().parents[2]


def test_memory_is_a_temporary_directory_removed_at_close():
    con = kodiak_flight.connect(":memory:")
    con.execute("CREATE TABLE t (a BIGINT)")
    handle_dir = con.path
    assert os.path.isdir(handle_dir) and con.database == ":memory:"
    con.close()
    assert not os.path.exists(handle_dir)
    con.close()  # twice is harmless


def test_each_memory_connection_is_its_own_database():
    with kodiak_flight.connect() as a, kodiak_flight.connect() as b:
        a.execute("CREATE TABLE t (x BIGINT)")
        with pytest.raises(embedded.ProgrammingError, match="'t' does not exist"):
            b.execute("SELECT * FROM t")


def test_a_path_persists_across_connections(tmp_path):
    path = tmp_path / "data"
    with kodiak_flight.connect(path) as con:
        con.execute("CREATE TABLE t (x BIGINT)")
        con.execute("INSERT INTO t VALUES (1), (2)")
    with kodiak_flight.connect(str(path)) as con:
        assert con.sql("SELECT sum(x) FROM t").fetchall() == [(3,)]


def test_two_connections_to_one_path_share_the_open_database(tmp_path):
    a = kodiak_flight.connect(tmp_path / "data")
    b = kodiak_flight.connect(tmp_path / "other" / ".." / "data")  # the same directory
    a.execute("CREATE TABLE t (x BIGINT)")
    b.execute("INSERT INTO t VALUES (7)")
    assert a.execute("SELECT x FROM t").fetchall() == [(7,)]
    a.close()
    assert b.execute("SELECT count(*) FROM t").fetchone() == (1,)  # still open for b
    b.close()
    with kodiak_flight.connect(tmp_path / "data") as c:  # the lock was released
        assert c.execute("SELECT x FROM t").fetchall() == [(7,)]


def test_a_directory_another_process_holds_is_refused_clearly(tmp_path):
    path = tmp_path / "data"
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, engine
            db = engine.Database.open({str(path)!r})
            print("open", flush=True)
            sys.stdin.read()
        """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(embedded.OperationalError) as err:
            kodiak_flight.connect(path)
        msg = str(err.value)
        assert "in use by another process" in msg and "kodiak serve" in msg
        assert str(path) in msg
    finally:
        holder.communicate("", timeout=30)


def test_a_file_where_the_directory_should_be(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(embedded.OperationalError, match="cannot open a database at"):
        kodiak_flight.connect(tmp_path / "f")


def test_closed_connection_and_cursor_refuse_work(con):
    cur = con.cursor()
    rel = con.sql("SELECT 1 AS a")
    cur.close()
    with pytest.raises(embedded.ProgrammingError, match="cursor is closed"):
        cur.execute("SELECT 1")
    cur2 = con.cursor()
    con.close()
    for call in (lambda: con.execute("SELECT 1"), lambda: con.sql("SELECT 1"),
                 con.cursor, lambda: cur2.execute("SELECT 1"), rel.arrow, con.commit):
        with pytest.raises(embedded.ProgrammingError, match="connection is closed"):
            call()
    assert con.closed and cur2.closed


def test_close_rolls_back_and_drops_temporary_tables(tmp_path):
    with kodiak_flight.connect(tmp_path / "d") as con:
        con.execute("CREATE TABLE t (x BIGINT)")
    con = kodiak_flight.connect(tmp_path / "d")
    con.execute("CREATE TEMP TABLE scratch (y BIGINT)")
    con.begin()
    con.execute("INSERT INTO t VALUES (1)")
    con.close()
    with kodiak_flight.connect(tmp_path / "d") as con:
        assert con.sql("SELECT count(*) FROM t").fetchall() == [(0,)]
        with pytest.raises(embedded.ProgrammingError, match="scratch"):
            con.execute("SELECT * FROM scratch")


def test_importing_the_package_does_not_import_the_embedded_stack():
    code = ("import sys, kodiak_flight; "
            "heavy = [m for m in ('pandas', 'polars', 'kodiak_flight.embedded', "
            "'kodiak_flight.sql') if m in sys.modules]; "
            "print(heavy); c = kodiak_flight.connect; "
            "print('polars' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(REPO)}, check=True).stdout
    # (pandas comes with the SQL layer: pyarrow.dataset imports it when it is installed)
    assert out.split("\n")[:2] == ["[]", "False"]


def test_unknown_attribute_of_the_package():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        kodiak_flight.nope  # noqa: B018
