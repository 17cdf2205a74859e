"""The PEP 249 side: module globals, cursors, parameters, errors, transactions, pandas."""

from __future__ import annotations

import datetime
import decimal
import warnings

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import kodiak_flight
from kodiak_flight import embedded
from kodiak_flight.embedded.stream import RowStream


def test_module_globals():
    assert embedded.apilevel == "2.0"
    assert embedded.threadsafety == 1
    assert embedded.paramstyle == "qmark"
    for name in ("Warning", "Error", "InterfaceError", "DatabaseError", "DataError",
                 "OperationalError", "IntegrityError", "InternalError", "ProgrammingError",
                 "NotSupportedError"):
        cls = getattr(embedded, name)
        assert getattr(embedded.Connection, name) is cls
    assert issubclass(embedded.IntegrityError, embedded.DatabaseError)
    assert issubclass(embedded.DatabaseError, embedded.Error)
    assert embedded.Date(2024, 1, 2) == datetime.date(2024, 1, 2)
    assert embedded.Binary(b"x") == b"x"
    assert isinstance(embedded.TimestampFromTicks(0), datetime.datetime)


def test_description_and_type_objects(con):
    con.execute("CREATE TABLE t (i INTEGER, d DECIMAL(12, 2), s VARCHAR, b BLOB, "
                "ts TIMESTAMP, dt DATE, f DOUBLE)")
    cur = con.cursor().execute("SELECT * FROM t")
    desc = cur.description
    assert [d[0] for d in desc] == ["i", "d", "s", "b", "ts", "dt", "f"]
    assert all(len(d) == 7 for d in desc)
    codes = [d[1] for d in desc]
    assert codes[0] == embedded.NUMBER and codes[0] != embedded.STRING
    assert codes[1] == embedded.NUMBER and desc[1][4:6] == (12, 2)
    assert codes[2] == embedded.STRING and codes[3] == embedded.BINARY
    assert codes[4] == embedded.DATETIME and codes[5] == embedded.DATETIME
    assert embedded.NUMBER == codes[6]  # either side
    assert all(c != embedded.ROWID for c in codes)
    assert cur.rowcount == -1
    cur.execute("CREATE TABLE u (x BIGINT)")
    assert cur.description is None


def test_fetch_one_many_all_and_iteration(trips):
    cur = trips.cursor()
    cur.execute("SELECT id, city FROM trips ORDER BY id")
    assert cur.fetchone() == (1, "oslo")
    cur.arraysize = 2
    assert cur.fetchmany() == [(2, "rome"), (3, "oslo")]
    assert cur.fetchall() == [(4, None)]
    assert cur.fetchone() is None and cur.fetchmany(5) == [] and cur.fetchall() == []
    assert list(cur.execute("SELECT id FROM trips WHERE id < 3 ORDER BY id")) == [(1,), (2,)]
    cur.execute("SELECT id FROM trips ORDER BY id")
    cur.fetchone()
    assert cur.fetch_arrow_table().column("id").to_pylist() == [2, 3, 4]  # the rest


def test_fetch_without_a_result_set(con):
    cur = con.cursor()
    with pytest.raises(embedded.ProgrammingError, match="no result to fetch"):
        cur.fetchall()
    cur.execute("CREATE TABLE t (x BIGINT)")
    with pytest.raises(embedded.ProgrammingError, match="returned no rows"):
        cur.fetchone()


def test_fetchmany_streams_without_reading_everything():
    pulled = []
    schema = pa.schema([("x", pa.int64())])

    def batches():
        for i in range(1000):
            pulled.append(i)
            yield pa.record_batch([pa.array(range(i * 10, i * 10 + 10))], schema=schema)

    stream = RowStream(pa.RecordBatchReader.from_batches(schema, batches()))
    assert stream.fetchmany(15) == [(x,) for x in range(15)]
    assert len(pulled) == 2
    assert stream.fetchmany(1) == [(15,)]
    rest = stream.arrow()
    assert rest.column("x").to_pylist() == list(range(16, 10_000)) and len(pulled) == 1000


def test_fetchmany_over_a_large_result(con):
    con.execute("CREATE TABLE big AS SELECT range AS x FROM range(100000)")
    cur = con.cursor().execute("SELECT x FROM big ORDER BY x")
    assert cur.fetchmany(3) == [(0,), (1,), (2,)]
    assert len(cur.fetchall()) == 99_997


def test_rowcount_of_writes(trips):
    cur = trips.cursor()
    assert cur.execute("UPDATE trips SET km = 0 WHERE city = ?", ["oslo"]).rowcount == 2
    assert cur.execute("DELETE FROM trips WHERE id > 3").rowcount == 1
    cur.execute("INSERT INTO trips VALUES (9, 'x', 1) RETURNING id")
    assert cur.rowcount == 1 and cur.fetchall() == [(9,)]


PARAMS = [
    (1, "BIGINT"), (2.5, "DOUBLE"), ("o'hara; drop table t", "VARCHAR"), (True, "BOOLEAN"),
    (None, "BIGINT"), (decimal.Decimal("12.34"), "DECIMAL(10, 2)"),
    (datetime.date(2024, 2, 29), "DATE"), (datetime.datetime(2024, 1, 2, 3, 4, 5), "TIMESTAMP"),
    (b"\x00\xff", "BLOB"), (datetime.time(1, 2, 3), "TIME"),
]


@pytest.mark.parametrize(("value", "sql_type"), PARAMS)
def test_parameters_round_trip_through_a_table(con, value, sql_type):
    con.execute(f"CREATE TABLE t (v {sql_type})")
    con.execute("INSERT INTO t VALUES (?)", [value])
    assert con.execute("SELECT v FROM t WHERE v IS NOT DISTINCT FROM ?",
                       (value,)).fetchall() == [(value,)]


def test_numbered_placeholders_and_qmark_bind_alike(trips):
    q = "SELECT count(*) FROM trips WHERE city = {} AND km > {}"
    assert trips.execute(q.format("?", "?"), ["oslo", 8]).fetchall() == [(1,)]
    assert trips.execute(q.format("$1", "$2"), ["oslo", 8]).fetchall() == [(1,)]


def test_parameter_errors(trips):
    with pytest.raises(embedded.ProgrammingError, match="has 2 parameters .* but 1 value"):
        trips.execute("SELECT * FROM trips WHERE id = ? AND km = ?", [1])
    with pytest.raises(embedded.ProgrammingError, match="has 0 parameters .* but 1 value"):
        trips.execute("SELECT 1", [1])
    with pytest.raises(embedded.ProgrammingError, match="positional"):
        trips.execute("SELECT ?", {"a": 1})
    with pytest.raises(embedded.ProgrammingError, match="list or tuple"):
        trips.execute("SELECT ?", "ab")
    with pytest.raises(embedded.InterfaceError, match="parameter 1: cannot bind .* object"):
        trips.execute("SELECT ?", [object()])
    with pytest.raises(embedded.ProgrammingError, match="holds several"):
        trips.execute("SELECT ?; SELECT ?", [1])


def test_executemany_binds_one_batch(trips):
    cur = trips.cursor()
    rows = [(10 + i, f"c{i % 3}", float(i)) for i in range(500)]
    cur.executemany("INSERT INTO trips VALUES (?, ?, ?)", rows)
    assert cur.rowcount == 500
    assert trips.execute("SELECT count(*), sum(km) FROM trips WHERE id >= 10").fetchall() == \
        [(500, float(sum(range(500))))]
    cur.executemany("UPDATE trips SET km = -1 WHERE id = ?", [(10,), (11,), (99999,)])
    assert cur.rowcount == 2
    cur.executemany("DELETE FROM trips WHERE id = ?", [])
    assert cur.rowcount == 0
    table = pa.table({"id": [1000, 1001], "city": ["a", "b"], "km": [1.0, None]})
    assert cur.executemany("INSERT INTO trips VALUES (?, ?, ?)", table).rowcount == 2


def test_executemany_refuses_queries_and_ragged_rows(trips):
    cur = trips.cursor()
    with pytest.raises(embedded.ProgrammingError, match="one row of parameters"):
        cur.executemany("SELECT * FROM trips WHERE id = ?", [(1,), (2,)])
    with pytest.raises(embedded.ProgrammingError, match="return no rows"):
        cur.executemany("SELECT * FROM trips WHERE id = ?", [(1,)])
    with pytest.raises(embedded.ProgrammingError, match="row 2 has 1 values"):
        cur.executemany("INSERT INTO trips VALUES (?, ?, ?)", [(1, "a", 1.0), (2,)])
    with pytest.raises(embedded.InterfaceError, match="parameter 1: cannot bind values of"):
        cur.executemany("INSERT INTO trips (id) VALUES (?)", [(1,), ("x",)])


ERRORS = [
    ("selec 1", embedded.ProgrammingError, "syntax error at line 1, column 7"),
    ("SELECT * FROM nope", embedded.ProgrammingError, "table 'nope' does not exist"),
    ("SELECT nope FROM trips", embedded.ProgrammingError, "nope"),
    ("INSERT INTO trips VALUES (1, 'x', 1)", embedded.IntegrityError, "duplicate primary key 1"),
    ("SELECT CAST(city AS INTEGER) FROM trips", embedded.DataError, "could not convert"),
    ("CREATE TABLE trips (x BIGINT)", embedded.ProgrammingError, "trips"),
    ("COMMIT", embedded.ProgrammingError, "no transaction is open"),
    ("CREATE SEQUENCE x", embedded.NotSupportedError, "CREATE SEQUENCE"),
]


@pytest.mark.parametrize(("sql", "cls", "text"), ERRORS)
def test_errors_are_pep_249_classes_with_kodiaks_message(trips, sql, cls, text):
    with pytest.raises(cls, match=text) as err:
        cur = trips.cursor().execute(sql)
        cur.fetchall()  # a query's runtime errors surface as its rows stream
    assert err.value.original is not None
    assert "Traceback" not in str(err.value)
    assert trips.execute("SELECT count(*) FROM trips").fetchall() == [(4,)]  # still usable


def test_pandas_read_sql(trips):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # pandas: "other DBAPI2 objects..."
        df = pd.read_sql("SELECT city, sum(km) AS km FROM trips WHERE km > ? GROUP BY city "
                         "ORDER BY city", trips, params=[1])
    assert df.to_dict("list") == {"city": ["oslo", "rome"], "km": [20.0, 3.0]}


def test_pandas_read_sql_in_chunks_and_its_errors(trips):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        chunks = list(pd.read_sql("SELECT id FROM trips ORDER BY id", trips, chunksize=3))
        assert [c["id"].tolist() for c in chunks] == [[1, 2, 3], [4]]
        with pytest.raises(embedded.ProgrammingError, match="'nope' does not exist"):
            pd.read_sql("SELECT * FROM nope", trips)


def test_polars_read_database(trips):
    df = pl.read_database("SELECT id, km FROM trips ORDER BY id", trips)
    assert df["id"].to_list() == [1, 2, 3, 4] and df["km"].to_list()[:2] == [12.5, 3.0]


def test_autocommit_by_default(tmp_path):
    a = kodiak_flight.connect(tmp_path / "d")
    b = kodiak_flight.connect(tmp_path / "d")
    a.execute("CREATE TABLE t (x BIGINT)")
    a.execute("INSERT INTO t VALUES (1)")
    assert b.execute("SELECT count(*) FROM t").fetchone() == (1,)
    a.commit()  # nothing open: nothing to do
    a.rollback()
    a.close()
    b.close()


def test_explicit_transactions(trips):
    trips.begin()
    assert trips.in_transaction
    trips.execute("DELETE FROM trips")
    trips.rollback()
    assert trips.execute("SELECT count(*) FROM trips").fetchone() == (4,)
    trips.execute("BEGIN")  # SQL and methods share one transaction
    trips.execute("DELETE FROM trips WHERE id = 1")
    trips.commit()
    assert not trips.in_transaction
    assert trips.execute("SELECT count(*) FROM trips").fetchone() == (3,)
    trips.begin()
    with pytest.raises(embedded.ProgrammingError, match="already open"):
        trips.begin()
    trips.rollback()


def test_dbapi_mode_opens_a_transaction_for_dml(tmp_path):
    con = kodiak_flight.connect(tmp_path / "d", autocommit=False)
    other = kodiak_flight.connect(tmp_path / "d")
    con.execute("CREATE TABLE t (x BIGINT)")  # DDL outside a transaction: committed
    assert not con.in_transaction
    assert con.execute("SELECT count(*) FROM t").fetchone() == (0,)
    assert not con.in_transaction  # queries open none
    con.cursor().execute("INSERT INTO t VALUES (1)")
    assert con.in_transaction
    assert other.execute("SELECT count(*) FROM t").fetchone() == (0,)  # not committed
    con.commit()
    assert other.execute("SELECT count(*) FROM t").fetchone() == (1,)
    con.execute("INSERT INTO t VALUES (2)")
    con.rollback()
    con.execute("INSERT INTO t VALUES (3)")
    con.close()  # uncommitted work is rolled back
    assert other.execute("SELECT x FROM t ORDER BY x").fetchall() == [(1,)]
    other.close()


def test_switching_autocommit_on_commits(con):
    con.execute("CREATE TABLE t (x BIGINT)")
    con.autocommit = False
    con.execute("INSERT INTO t VALUES (1)")
    assert con.in_transaction
    con.autocommit = True
    assert not con.in_transaction
    assert con.execute("SELECT count(*) FROM t").fetchone() == (1,)


def test_with_block_commits_or_rolls_back(tmp_path):
    with kodiak_flight.connect(tmp_path / "d", autocommit=False) as con:
        con.execute("CREATE TABLE t (x BIGINT)")
        con.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(ZeroDivisionError), \
            kodiak_flight.connect(tmp_path / "d", autocommit=False) as con:
        con.execute("INSERT INTO t VALUES (2)")
        1 / 0  # noqa: B018
    with kodiak_flight.connect(tmp_path / "d") as con:
        assert con.execute("SELECT x FROM t").fetchall() == [(1,)]
    assert con.closed


def test_a_second_writer_waits_then_fails_clearly(tmp_path):
    a = kodiak_flight.connect(tmp_path / "d")
    b = kodiak_flight.connect(tmp_path / "d")
    a.execute("CREATE TABLE t (x BIGINT)")
    a.begin()
    a.execute("INSERT INTO t VALUES (1)")
    b._session.db.lock_timeout = 0.1  # noqa: SLF001 - do not wait 30 s in a test
    with pytest.raises(embedded.OperationalError, match="retry"):
        b.execute("INSERT INTO t VALUES (2)")
    a.commit()
    b.execute("INSERT INTO t VALUES (2)")
    assert a.execute("SELECT count(*) FROM t").fetchone() == (2,)
    a.close()
    b.close()
