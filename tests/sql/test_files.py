"""File table functions (read_parquet/read_csv/read_json, FROM 'file') and COPY FROM/TO."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from kodiak_flight.sql.errors import BindError


def rows(session, sql):
    return session.execute(sql).reader.read_all().to_pylist()


@pytest.fixture
def files(tmp_path):
    pq.write_table(pa.table({"id": [1, 2, 3], "name": ["a", "b", "c"]}), tmp_path / "p.parquet")
    pcsv.write_csv(pa.table({"id": [1, 2, 3], "v": [10, 20, 30]}), tmp_path / "c.csv")
    (tmp_path / "s.csv").write_text("id;v\n1;5\n2;6\n")
    (tmp_path / "j.json").write_text('{"id": 1, "x": 1.5}\n{"id": 3, "x": 2.5}\n')
    return tmp_path


def test_read_parquet_aggregate(session, files):
    p = files / "p.parquet"
    assert rows(session, f"SELECT count(*) AS n, sum(id) AS s FROM read_parquet('{p}')") == \
        [{"n": 3, "s": 6}]


def test_bare_file_join_where(session, files):
    sql = (f"SELECT p.name, c.v, j.x FROM '{files / 'p.parquet'}' p "
           f"JOIN read_csv('{files / 'c.csv'}') c ON p.id = c.id "
           f"LEFT JOIN read_json('{files / 'j.json'}') j ON j.id = p.id "
           "WHERE c.v > 10 ORDER BY p.name")
    assert rows(session, sql) == [{"name": "b", "v": 20, "x": None},
                                  {"name": "c", "v": 30, "x": 2.5}]


def test_csv_delimiter_and_header(session, files):
    s = files / "s.csv"
    assert rows(session, f"SELECT id, v FROM read_csv('{s}', delim=';') ORDER BY id") == \
        [{"id": 1, "v": 5}, {"id": 2, "v": 6}]
    got = rows(session, f"SELECT * FROM read_csv('{s}', delim=';', header=false)")
    assert len(got) == 3 and got[0] == {"f0": "id", "f1": "v"}


def test_relative_path_and_join_with_table(session, files, monkeypatch):
    monkeypatch.chdir(files)
    session.execute("CREATE TABLE t (id INTEGER, w VARCHAR)")
    session.execute("INSERT INTO t VALUES (2, 'two'), (3, 'three')")
    assert rows(session, "SELECT t.w, f.name FROM t JOIN 'p.parquet' f ON f.id = t.id "
                         "ORDER BY t.id") == [{"w": "two", "name": "b"},
                                              {"w": "three", "name": "c"}]


@pytest.mark.parametrize("fmt", ["parquet", "csv", "json"])
def test_copy_round_trip(session, tmp_path, fmt):
    session.execute("CREATE TABLE t (id INTEGER, name VARCHAR, x DOUBLE)")
    session.execute("INSERT INTO t VALUES (1, 'a', 1.5), (2, 'b', NULL), (3, NULL, 3.0)")
    out = tmp_path / f"out.{fmt}"
    assert session.execute(f"COPY t TO '{out}' (FORMAT {fmt})").rowcount == 3
    session.execute("CREATE TABLE u (id BIGINT, name VARCHAR, x DOUBLE)")
    assert session.execute(f"COPY u FROM '{out}' (FORMAT {fmt})").rowcount == 3
    assert rows(session, "SELECT * FROM u ORDER BY id") == \
        rows(session, "SELECT * FROM t ORDER BY id")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")) == []


def test_copy_query_to_csv(session, tmp_path):
    session.execute("CREATE TABLE t (id INTEGER)")
    session.execute("INSERT INTO t VALUES (1), (2), (3)")
    out = tmp_path / "q.csv"
    n = session.execute(f"COPY (SELECT id * 2 AS k FROM t WHERE id > 1 ORDER BY k) TO '{out}' "
                        "(FORMAT csv, HEADER false)").rowcount
    assert n == 2
    assert out.read_text().split() == ["4", "6"]


def test_copy_from_in_transaction_rolls_back(session, files):
    session.execute("CREATE TABLE c (id INTEGER, v INTEGER)")
    session.execute("BEGIN")
    assert session.execute(f"COPY c FROM '{files / 'c.csv'}' (HEADER)").rowcount == 3
    assert rows(session, "SELECT count(*) AS n FROM c") == [{"n": 3}]
    session.execute("ROLLBACK")
    assert rows(session, "SELECT count(*) AS n FROM c") == [{"n": 0}]


def test_missing_file_names_path(session, tmp_path):
    missing = tmp_path / "nope.parquet"
    with pytest.raises(BindError, match="nope.parquet"):
        session.execute(f"SELECT * FROM read_parquet('{missing}')")
    session.execute("CREATE TABLE t (id INTEGER)")
    with pytest.raises(BindError, match="missing.csv"):
        session.execute(f"COPY t FROM '{tmp_path / 'missing.csv'}'")


def test_unknown_format(session, tmp_path):
    session.execute("CREATE TABLE t (id INTEGER)")
    with pytest.raises(BindError, match="unknown file format 'xml'"):
        session.execute(f"COPY t TO '{tmp_path / 'o.csv'}' (FORMAT xml)")
    with pytest.raises(BindError, match="cannot tell the format"):
        session.execute(f"COPY t TO '{tmp_path / 'o.xyz'}'")
    assert not (tmp_path / "o.csv").exists()


def test_column_count_mismatch(session, files):
    session.execute("CREATE TABLE t (id INTEGER)")
    with pytest.raises(BindError, match="has 2 columns"):
        session.execute(f"COPY t FROM '{files / 'c.csv'}'")
