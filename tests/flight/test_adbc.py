"""The server through the ADBC Flight SQL driver (DB-API), Polars and pandas."""

from __future__ import annotations

import time
import warnings

import adbc_driver_flightsql.dbapi as flight_sql
import adbc_driver_manager
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from .conftest import running


def test_select_literal(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT 1 AS x, 'a' AS y")
        assert cur.fetchall() == [(1, "a")]
        assert [d[0] for d in cur.description] == ["x", "y"]


def test_ddl_dml_and_query(conn, name):
    with conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {name} (a BIGINT PRIMARY KEY, b VARCHAR)")
        cur.execute(f"INSERT INTO {name} VALUES (1, 'x'), (2, 'y')")
        assert cur.rowcount == 2  # rows affected, from FlightInfo.total_records
        cur.execute(f"SELECT * FROM {name} ORDER BY a")
        table = cur.fetch_arrow_table()
        assert table.to_pydict() == {"a": [1, 2], "b": ["x", "y"]}
        assert table.schema.field("a").type == pa.int64()


def test_parameters_and_executemany(conn, name):
    with conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {name} (a BIGINT, b VARCHAR)")
        cur.execute(f"INSERT INTO {name} VALUES (?, ?)", (1, "one"))
        cur.executemany(f"INSERT INTO {name} VALUES (?, ?)",
                        [(2, "two"), (3, "three"), (4, None)])
        cur.execute(f"SELECT * FROM {name} WHERE a = ?", (3,))
        assert cur.fetchall() == [(3, "three")]
        cur.execute(f"SELECT * FROM {name} WHERE a = ?", (4,))  # re-executed, new parameter
        assert cur.fetchall() == [(4, None)]
        cur.execute(f"SELECT count(*) AS n FROM {name}")
        assert cur.fetchall() == [(4,)]


def test_prepared_lookup_is_optimised_once(conn, name, monkeypatch):
    """ADBC binds each execution's value with DoPut and runs it with GetFlightInfo: the
    statement is parsed and bound once, and optimised only for its first value (the plan
    kept with its parameter in, ``plancache.planned``); rows written meanwhile are seen."""
    from kodiak_flight.sql import plancache

    optimised = []
    real = plancache.optimize
    monkeypatch.setattr(plancache, "optimize", lambda plan: optimised.append(1) or real(plan))
    with conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {name} (k BIGINT, v VARCHAR)")
        cur.execute(f"INSERT INTO {name} VALUES (1, 'one'), (2, 'two'), (3, 'three')")
        cur.execute(f"CREATE INDEX {name}_k ON {name} (k)")
        sql = f"SELECT v FROM {name} WHERE k = ?"
        cur.execute(sql, (1,))
        assert cur.fetchall() == [("one",)]
        first = len(optimised)
        for k, want in ((2, [("two",)]), (3, [("three",)]), (4, []), (1, [("one",)])):
            cur.execute(sql, (k,))
            assert cur.fetchall() == want
        assert len(optimised) == first
        cur.execute(f"INSERT INTO {name} VALUES (4, 'four')")
        cur.execute(sql, (4,))
        assert cur.fetchall() == [("four",)]
        with pytest.raises(adbc_driver_manager.Error, match="could not convert string 'x'"):
            cur.execute(sql, ("x",))  # a value the key cannot compare with: a clear error
            cur.fetchall()


def test_dml_runs_exactly_once(conn, name):
    """execute() = CreatePreparedStatement + GetFlightInfo + DoGet: the INSERT runs once."""
    with conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {name} (a BIGINT)")
        cur.execute(f"INSERT INTO {name} VALUES (1)")
        cur.fetchall()
        cur.execute(f"INSERT INTO {name} VALUES (?)", (2,))
        cur.executemany(f"INSERT INTO {name} VALUES (?)", [(3,), (4,)])
        cur.execute(f"SELECT count(*) AS n FROM {name}")
        assert cur.fetchall() == [(4,)]


def test_execute_schema(conn, name):
    with conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {name} (a BIGINT, b VARCHAR)")
        schema = cur.adbc_execute_schema(f"SELECT * FROM {name}")
        assert schema.names == ["a", "b"]
        assert schema.field("b").type == pa.string()


@pytest.mark.parametrize("mode", ["create", "append", "replace", "create_append"])
def test_ingest_modes(conn, name, mode):
    data = pa.table({"k": pa.array([1, 2, 3], pa.int64()), "v": ["a", "b", "c"]})
    with conn.cursor() as cur:
        if mode == "append":
            with pytest.raises(adbc_driver_manager.Error):
                cur.adbc_ingest(name, data, mode="append")  # table missing
            cur.adbc_ingest(name, data, mode="create")
        assert cur.adbc_ingest(name, data, mode=mode) == 3
        if mode == "create":
            with pytest.raises(adbc_driver_manager.Error, match="already exists"):
                cur.adbc_ingest(name, data, mode="create")
        if mode in ("replace", "create_append"):
            again = pa.table({"k": pa.array([9], pa.int64()), "v": ["z"]})
            cur.adbc_ingest(name, again, mode=mode)
        cur.execute(f"SELECT count(*) AS n FROM {name}")
        expected = {"create": 3, "append": 6, "replace": 1, "create_append": 4}[mode]
        assert cur.fetchall() == [(expected,)]


def test_ingest_streams_many_batches(conn, name):
    batches = [pa.record_batch({"i": pa.array(range(n * 1000, n * 1000 + 1000), pa.int64())})
               for n in range(20)]
    reader = pa.RecordBatchReader.from_batches(batches[0].schema, iter(batches))
    with conn.cursor() as cur:
        assert cur.adbc_ingest(name, reader, mode="create") == 20_000
        cur.execute(f"SELECT count(*) AS n FROM {name}")
        assert cur.fetchall() == [(20_000,)]


def test_get_objects_and_table_schema(conn, name):
    with conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {name} (a BIGINT PRIMARY KEY, b VARCHAR)")
    objects = conn.adbc_get_objects(depth="all").read_all().to_pylist()
    assert [c["catalog_name"] for c in objects] == ["kodiak"]
    schemas = {s["db_schema_name"]: s for s in objects[0]["catalog_db_schemas"]}
    tables = {t["table_name"]: t for t in schemas["main"]["db_schema_tables"]}
    assert [c["column_name"] for c in tables[name]["table_columns"]] == ["a", "b"]
    schema = conn.adbc_get_table_schema(name)
    assert schema.names == ["a", "b"]
    assert schema.field("a").type == pa.int64()
    assert conn.adbc_get_table_types() == ["TABLE", "VIEW", "SYSTEM TABLE"]
    filtered = conn.adbc_get_objects(depth="tables", table_name_filter=name).read_all()
    names = [t["table_name"] for c in filtered.to_pylist() for s in c["catalog_db_schemas"]
             for t in s["db_schema_tables"]]
    assert names == [name]


def test_get_info(conn):
    info = conn.adbc_get_info()
    assert info["vendor_name"] == "Kodiak"
    assert info["vendor_arrow_version"] == pa.__version__


def test_current_schema_session_option(conn):
    assert conn.adbc_current_catalog == "kodiak"
    assert conn.adbc_current_db_schema == "main"
    conn.adbc_current_db_schema = "main"
    with pytest.raises(adbc_driver_manager.Error):
        conn.adbc_current_db_schema = "no_such_schema"


def test_bad_sql_is_a_clear_error(conn):
    with conn.cursor() as cur:
        with pytest.raises(adbc_driver_manager.ProgrammingError) as info:
            cur.execute("SELEC 1")
        message = str(info.value)
        assert "syntax error" in message
        assert "Traceback" not in message
        cur.execute("SELECT 2 AS x")  # the connection still works
        assert cur.fetchall() == [(2,)]


def test_unknown_table_is_not_found(conn):
    with conn.cursor() as cur:
        with pytest.raises(adbc_driver_manager.Error) as info:
            cur.execute("SELECT * FROM no_such_table_here")
        assert "no_such_table_here" in str(info.value)
        assert "Traceback" not in str(info.value)


def test_autocommit_off_commit_and_rollback(uri, name):
    with flight_sql.connect(uri) as setup, setup.cursor() as cur:  # autocommit off (default)
        cur.execute(f"CREATE TABLE {name} (a BIGINT)")
        setup.commit()
    with flight_sql.connect(uri) as c1, flight_sql.connect(uri, autocommit=True) as c2:
        with c1.cursor() as cur1, c2.cursor() as cur2:
            cur1.execute(f"INSERT INTO {name} VALUES (1)")
            cur2.execute(f"SELECT count(*) AS n FROM {name}")
            assert cur2.fetchall() == [(0,)]  # not committed yet
            c1.commit()
            cur2.execute(f"SELECT count(*) AS n FROM {name}")
            assert cur2.fetchall() == [(1,)]
            cur1.execute(f"INSERT INTO {name} VALUES (2)")
            c1.rollback()
            cur1.execute(f"SELECT count(*) AS n FROM {name}")
            assert cur1.fetchall() == [(1,)]
            c1.commit()


def test_ingest_with_autocommit_off(uri, name):
    """ADBC 1.13 sends no transaction id with bulk ingest: it commits on its own."""
    data = pa.table({"x": pa.array([1, 2], pa.int64())})
    with flight_sql.connect(uri) as c, c.cursor() as cur:
        cur.adbc_ingest(name, data, mode="create")
        c.rollback()
        cur.execute(f"SELECT count(*) AS n FROM {name}")
        assert cur.fetchall() == [(2,)]
        c.commit()


def test_no_autocommit_warning(uri):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with flight_sql.connect(uri) as c:  # transactions are advertised: no warning
            c.rollback()


def test_polars_read_database(conn, name):
    with conn.cursor() as cur:
        cur.adbc_ingest(name, pa.table({"a": pa.array([3, 1, 2], pa.int64()),
                                        "b": ["c", "a", "b"]}), mode="create")
    df = pl.read_database(f"SELECT * FROM {name} ORDER BY a", connection=conn)
    assert df["a"].to_list() == [1, 2, 3]
    assert df["b"].to_list() == ["a", "b", "c"]


def test_pandas_read_sql(conn, name):
    with conn.cursor() as cur:
        cur.adbc_ingest(name, pa.table({"a": pa.array([1, 2], pa.int64())}), mode="create")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas may warn about non-SQLAlchemy connections
        df = pd.read_sql(f"SELECT * FROM {name} ORDER BY a", conn)
    assert df["a"].tolist() == [1, 2]
    frame = pd.DataFrame({"p": [1.5, 2.5], "q": ["x", "y"]})
    frame.to_sql(f"{name}_pd", conn, index=False)
    back = pd.read_sql(f"SELECT * FROM {name}_pd ORDER BY p", conn)
    assert back["q"].tolist() == ["x", "y"]


def test_prepared_handle_reused_after_commit(uri, name):
    """ADBC keeps a statement's prepared handle across commit(): it must run in the new
    transaction, not fail or run in the ended one."""
    with flight_sql.connect(uri) as c, c.cursor() as cur:
        cur.execute(f"CREATE TABLE {name} (a BIGINT)")
        cur.execute(f"INSERT INTO {name} VALUES (?)", (1,))
        c.commit()
        cur.execute(f"INSERT INTO {name} VALUES (?)", (2,))  # same text: handle reused
        c.rollback()
        cur.execute(f"INSERT INTO {name} VALUES (?)", (3,))
        c.commit()
        cur.execute(f"SELECT a FROM {name} ORDER BY a")
        assert cur.fetchall() == [(1,), (3,)]
        c.commit()


def test_ingest_temporary_table(uri, name):
    """A temporary table is the connection's own, shadows a permanent one of the same name
    and appends like any table."""
    data = pa.table({"x": pa.array([1, 2, 3], pa.int64())})
    with flight_sql.connect(uri, autocommit=True) as c1, c1.cursor() as cur:
        cur.execute(f"CREATE TABLE {name} (x BIGINT)")
        cur.execute(f"INSERT INTO {name} VALUES (100)")
        assert cur.adbc_ingest(name, data, mode="create", temporary=True) == 3
        assert cur.adbc_ingest(name, data, mode="append", temporary=True) == 3
        cur.execute(f"SELECT sum(x) AS s FROM {name}")
        assert cur.fetchall() == [(12,)]
        cur.execute(f"SELECT sum(x) AS s FROM temp.{name}")
        assert cur.fetchall() == [(12,)]
        cur.execute(f"SELECT sum(x) AS s FROM main.{name}")
        assert cur.fetchall() == [(100,)]
        with flight_sql.connect(uri) as c2, c2.cursor() as cur2:
            cur2.execute(f"SELECT sum(x) AS s FROM {name}")  # the permanent table
            assert cur2.fetchall() == [(100,)]
            with pytest.raises(adbc_driver_manager.Error, match="does not exist"):
                cur2.execute(f"SELECT * FROM temp.{name}")
        with pytest.raises(adbc_driver_manager.Error, match="schema"):
            cur.adbc_ingest(name, data, mode="append", temporary=True, db_schema_name="main")


def test_temporary_tables_end_with_their_session(db, name):
    data = pa.table({"x": pa.array([1, 2], pa.int64())})
    with running(db, session_idle_timeout=0.3) as srv:
        with flight_sql.connect(f"grpc://127.0.0.1:{srv.port}") as c, c.cursor() as cur:
            cur.adbc_ingest(name, data, mode="create", temporary=True)
            cur.execute(f"CREATE TEMP TABLE {name}_sql AS SELECT 1 AS y")
            c.commit()
            temps = [t for t in db.snapshot().tables() if t.endswith((f"_{name}", f"_{name}_sql"))]
            assert len(temps) == 2 and all(t.startswith("kodiak_temp.") for t in temps)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(t in db.snapshot().tables() for t in temps):
            time.sleep(0.05)
        assert not any(t in db.snapshot().tables() for t in temps)


def test_returning_runs_once_and_answers_rows(conn, name):
    """INSERT/UPDATE/DELETE ... RETURNING through execute(): a result set (not an update
    count), the write done exactly once, parameters bound."""
    with conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {name} (a BIGINT PRIMARY KEY, b VARCHAR DEFAULT 'd')")
        cur.execute(f"INSERT INTO {name} (a) VALUES (?) RETURNING a, b", (1,))
        assert cur.fetchall() == [(1, "d")]
        cur.execute(f"INSERT INTO {name} VALUES (2, 'x'), (3, 'y') RETURNING a * 10 AS t")
        assert sorted(cur.fetchall()) == [(20,), (30,)]
        assert [d[0] for d in cur.description] == ["t"]
        cur.execute(f"UPDATE {name} SET b = upper(b) WHERE a >= ? RETURNING *", (2,))
        assert sorted(cur.fetchall()) == [(2, "X"), (3, "Y")]
        cur.execute(f"DELETE FROM {name} WHERE a = 3 RETURNING b")
        assert cur.fetchall() == [("Y",)]
        schema = cur.adbc_execute_schema(f"INSERT INTO {name} VALUES (7, 'q') RETURNING b")
        assert schema.names == ["b"]  # from the prepared statement: nothing inserted
        cur.execute(f"SELECT * FROM {name} ORDER BY a")
        assert cur.fetchall() == [(1, "d"), (2, "X")]  # each write ran once
