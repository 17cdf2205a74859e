"""``kodiak sql``: embedded and against a server, every output format, stdin, --output."""

from __future__ import annotations

import io
import json

import pyarrow.csv as pacsv
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest

from .conftest import kodiak, kodiak_proc

SETUP = ("create table trips (id bigint primary key, city varchar, km double); "
         "insert into trips values (1, 'oslo', 12.5), (2, 'rome', 3.0), (3, NULL, 7.25)")


@pytest.fixture
def target(request, data_dir, uri):
    """The same tests run embedded (--data-dir) and against a server (--uri)."""
    if request.param == "embedded":
        args = ["--data-dir", str(data_dir)]
    else:
        args = ["--uri", uri]
        kodiak("sql", *args, "drop table if exists trips")
    r = kodiak("sql", *args, SETUP)
    assert r.code == 0, r.stderr
    yield args
    if request.param == "server":
        kodiak("sql", *args, "drop table trips")


both = pytest.mark.parametrize("target", ["embedded", "server"], indirect=True)


@both
def test_table_output(target):
    r = kodiak("sql", *target, "select id, city, km from trips order by id")
    assert r.code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert any("id" in line and "city" in line and "km" in line for line in lines[:3])
    assert any("oslo" in line and "12.5" in line for line in lines)
    assert any("NULL" in line for line in lines)
    assert lines[-1] == "(3 rows)"


@both
def test_csv_json_ndjson(target):
    q = "select id, city from trips order by id"
    r = kodiak("sql", *target, "--format", "csv", q)
    assert r.stdout.splitlines() == ['"id","city"', '1,"oslo"', '2,"rome"', "3,"]
    r = kodiak("sql", *target, "--format", "json", q)
    assert json.loads(r.stdout) == [{"id": 1, "city": "oslo"}, {"id": 2, "city": "rome"},
                                   {"id": 3, "city": None}]
    r = kodiak("sql", *target, "--format", "ndjson", q)
    assert [json.loads(x) for x in r.stdout.splitlines()][1] == {"id": 2, "city": "rome"}


@both
def test_arrow_and_parquet_to_stdout(target):
    q = "select id, km from trips order by id"
    r = kodiak("sql", *target, "--format", "arrow", q)
    assert ipc.open_stream(r.stdout_bytes).read_all().to_pydict() == {
        "id": [1, 2, 3], "km": [12.5, 3.0, 7.25]}
    r = kodiak("sql", *target, "--format", "parquet", q)
    assert pq.read_table(io.BytesIO(r.stdout_bytes)).column("km").to_pylist() == \
        [12.5, 3.0, 7.25]


@both
def test_output_file_format_from_extension(target, tmp_path):
    for name, read in [("r.parquet", pq.read_table),
                       ("r.arrow", lambda p: ipc.open_file(str(p)).read_all()),
                       ("r.csv", pacsv.read_csv)]:
        r = kodiak("sql", *target, "-o", tmp_path / name, "select count(*) as n from trips")
        assert r.code == 0, r.stderr
        assert read(tmp_path / name).column("n").to_pylist() == [3]


@both
def test_dml_rowcount_on_stderr_and_last_result_written(target):
    r = kodiak("sql", *target, "--format", "csv",
               "update trips set km = km * 2 where id < 3; select sum(km) as s from trips")
    assert r.code == 0, r.stderr
    assert r.stdout.splitlines() == ['"s"', "38.25"]
    assert "2 rows affected" in r.stderr


def test_sql_from_stdin(data_dir):
    kodiak("sql", "--data-dir", data_dir, SETUP)
    r = kodiak("sql", "--data-dir", data_dir, "--format", "csv",
               input="-- a comment; with a semicolon\nselect count(*) as n\nfrom trips;\n")
    assert r.stdout.splitlines() == ['"n"', "3"], r.stderr


def test_max_rows(data_dir):
    r = kodiak("sql", "--data-dir", data_dir, "--max-rows", "2",
               "select * from (values (1), (2), (3), (4)) v(x)")
    assert "(4 rows, 2 shown" in r.stdout


@both
def test_sql_error_is_one_line(target):
    r = kodiak("sql", *target, "select nope from trips")
    assert r.code == 1
    assert len(r.err_lines) == 1 and r.err_lines[0].startswith("error: ")
    assert "nope" in r.stderr and "Traceback" not in r.stderr
    assert "Detail: Python exception" not in r.stderr  # the Flight error is cleaned up


def test_sql_subprocess_embedded_and_server(tmp_path, uri):
    """The real entry point as a subprocess, both ways."""
    p = kodiak_proc("sql", "--data-dir", tmp_path / "d", "--format", "csv",
                    "create table t (x int); insert into t values (41); select x + 1 as y from t")
    assert (p.returncode, p.stdout.splitlines()) == (0, ['"y"', "42"]), p.stderr
    p = kodiak_proc("sql", "--uri", uri, "--format", "json", "select 'hi' as greeting")
    assert json.loads(p.stdout) == [{"greeting": "hi"}], p.stderr


def test_binary_format_refused_on_a_terminal_only(data_dir):
    # stdout is not a terminal here, so arrow goes to stdout
    r = kodiak("sql", "--data-dir", data_dir, "--format", "arrow", "select 1 as x")
    assert r.code == 0
    r = kodiak("sql", "--data-dir", data_dir, "--format", "xml", "select 1 as x")
    assert r.code == 2 and "unknown format 'xml'" in r.stderr
