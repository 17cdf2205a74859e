"""con.sql(): relations as Arrow, pandas, Polars and rows, compared with DuckDB's answers."""

from __future__ import annotations

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from kodiak_flight import embedded

SETUP = [
    "CREATE TABLE trips (id BIGINT PRIMARY KEY, city VARCHAR, km DOUBLE)",
    "INSERT INTO trips VALUES (1, 'oslo', 12.5), (2, 'rome', 3.0), (3, 'oslo', 7.5), "
    "(4, NULL, NULL)",
]
QUERIES = [
    "SELECT city, sum(km) AS km, count(*) AS n FROM trips GROUP BY city ORDER BY city",
    "SELECT id, km * 2 AS km2 FROM trips WHERE km IS NOT NULL ORDER BY id DESC",
    "SELECT 1 AS one, 'a' AS s",
    "SELECT * FROM trips WHERE id > 10",
]


@pytest.fixture
def oracle():
    d = duckdb.connect()
    for s in SETUP:
        d.execute(s)
    yield d
    d.close()


@pytest.mark.parametrize("sql", QUERIES)
def test_relation_forms_agree_with_duckdb(trips, oracle, sql):
    rel = trips.sql(sql)
    want = oracle.sql(sql)
    assert rel.fetchall() == want.fetchall()
    assert rel.columns == want.columns
    assert rel.arrow().schema.types == rel.types  # bound without running: the same schema
    assert rel.arrow().to_pylist() == want.to_arrow_table().to_pylist()
    # (DuckDB gives strings the object dtype; pyarrow pandas' own string dtype)
    pd.testing.assert_frame_equal(rel.df(), want.df(), check_dtype=False)
    assert rel.pl().equals(want.pl())


def test_parameters_in_sql(trips):
    assert trips.sql("SELECT id FROM trips WHERE city = ? ORDER BY id", ["oslo"]).fetchall() \
        == [(1,), (3,)]


def test_statements_without_rows_give_none(con):
    assert con.sql("CREATE TABLE t (x BIGINT)") is None
    assert con.sql("INSERT INTO t VALUES (1), (2)") is None
    assert con.sql("SELECT count(*) FROM t").fetchall() == [(2,)]


def test_a_relation_runs_when_read(trips):
    rel = trips.sql("SELECT count(*) AS n FROM trips")
    trips.execute("DELETE FROM trips WHERE id = 1")
    assert rel.fetchall() == [(3,)]  # lazy, as DuckDB's
    trips.execute("DELETE FROM trips WHERE id = 2")
    assert rel.fetchall() == [(2,)]  # each read runs it again
    with_params = trips.sql("SELECT count(*) FROM trips WHERE id > ?", [0])  # runs now
    trips.execute("DELETE FROM trips WHERE id = 3")
    assert with_params.fetchall() == [(2,)]
    assert with_params.fetchall() == [(1,)]


def test_returning_rows_are_kept_not_written_twice(trips):
    rel = trips.sql("INSERT INTO trips VALUES (10, 'x', 1) RETURNING id, city")
    assert rel.fetchall() == [(10, "x")]
    assert rel.arrow().to_pylist() == [{"id": 10, "city": "x"}]
    assert trips.sql("SELECT count(*) FROM trips WHERE id = 10").fetchall() == [(1,)]


def test_fetchone_and_fetchmany_read_one_stream(trips):
    rel = trips.sql("SELECT id FROM trips ORDER BY id")
    assert rel.fetchone() == (1,)
    assert rel.fetchmany(2) == [(2,), (3,)]
    assert rel.fetchmany(5) == [(4,)]
    assert rel.fetchone() is None
    assert rel.fetchall() == [(1,), (2,), (3,), (4,)]  # whole forms run it whole


def test_metadata_stream_show_and_table(trips, capsys):
    rel = trips.table("trips")
    assert rel.columns == ["id", "city", "km"]
    assert rel.types == [pa.int64(), pa.string(), pa.float64()]
    assert rel.description[0][:2] == ("id", pa.int64())
    assert "id int64" in repr(rel)
    reader = rel.fetch_record_batch()
    assert isinstance(reader, pa.RecordBatchReader) and reader.read_all().num_rows == 4
    assert rel.to_arrow_reader().read_all().equals(rel.to_arrow_table())
    assert pa.table(rel).num_rows == 4 and pl.DataFrame(rel).height == 4  # Arrow C stream
    rel.show()
    out = capsys.readouterr().out
    assert "oslo" in out and "rome" in out
    with pytest.raises(embedded.ProgrammingError, match="does not exist"):
        trips.table("nope")


def test_query_errors_surface_at_sql(trips):
    with pytest.raises(embedded.ProgrammingError, match="'nope' does not exist"):
        trips.sql("SELECT * FROM nope")


def test_connection_fetch_methods_like_duckdb(trips):
    assert trips.execute("SELECT id FROM trips WHERE id < ? ORDER BY id", [3]).fetchall() \
        == [(1,), (2,)]
    trips.execute("SELECT city FROM trips WHERE id = 2")
    assert trips.description[0][0] == "city"
    assert trips.fetchone() == ("rome",)
    assert trips.execute("SELECT id FROM trips ORDER BY id").fetchmany(2) == [(1,), (2,)]
    assert trips.execute("SELECT id FROM trips").df()["id"].sum() == 10
    assert trips.execute("SELECT id FROM trips").pl()["id"].sum() == 10
    assert trips.execute("SELECT id FROM trips").arrow().num_rows == 4
    trips.executemany("INSERT INTO trips VALUES (?, ?, ?)", [(5, "a", 1.0), (6, "b", 2.0)])
    assert trips.rowcount == 2
