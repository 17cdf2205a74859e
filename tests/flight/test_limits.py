"""Savepoints, the query timeout, and bad input the server must refuse cleanly."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import adbc_driver_flightsql.dbapi as flight_sql
import pyarrow as pa
import pyarrow.flight as flight
import pytest

from kodiak_flight.flightsql import pack
from kodiak_flight.proto import FlightSql_pb2 as pb

from .conftest import running, session_factory
from .helpers import action, begin, count, descriptor, end, prepare, put, query, unpack, update

Ingest = pb.CommandStatementIngest
Opts = Ingest.TableDefinitionOptions
EndSp = pb.ActionEndSavepointRequest


def _no_traceback(exc: BaseException) -> None:
    assert "Traceback" not in str(exc), str(exc)


def savepoint(client: flight.FlightClient, txn: bytes, name: str = "sp") -> bytes:
    (raw,) = action(client, "BeginSavepoint",
                    pack(pb.ActionBeginSavepointRequest(transaction_id=txn, name=name)))
    return unpack(raw, pb.ActionBeginSavepointResult).savepoint_id


def end_savepoint(client: flight.FlightClient, sp: bytes, rollback: bool) -> None:
    action(client, "EndSavepoint", pack(EndSp(
        savepoint_id=sp,
        action=EndSp.END_SAVEPOINT_ROLLBACK if rollback else EndSp.END_SAVEPOINT_RELEASE)))


def values(client: flight.FlightClient, table: str, txn: bytes | None = None) -> list[int]:
    kw = {"transaction_id": txn} if txn else {}
    return sorted(query(client, f"SELECT a FROM {table}", **kw).column(0).to_pylist())


# ---------------------------------------------------------------------------------------------
# savepoints


def test_sql_info_reports_savepoints(client):
    info = client.get_flight_info(descriptor(pb.CommandGetSqlInfo(
        info=[pb.FLIGHT_SQL_SERVER_TRANSACTION, pb.SQL_SAVEPOINTS_SUPPORTED])))
    table = client.do_get(info.endpoints[0].ticket).read_all()
    got = dict(zip(table.column(0).to_pylist(), table.column(1).to_pylist(), strict=True))
    assert got == {pb.FLIGHT_SQL_SERVER_TRANSACTION: pb.SQL_SUPPORTED_TRANSACTION_SAVEPOINT,
                   pb.SQL_SAVEPOINTS_SUPPORTED: True}


def test_savepoint_rollback_and_release(client, uri, name):
    update(client, f"CREATE TABLE {name} (a BIGINT)")
    other = flight.connect(uri)
    txn = begin(client)
    update(client, f"INSERT INTO {name} VALUES (1)", transaction_id=txn)
    sp1 = savepoint(client, txn, "one")
    update(client, f"INSERT INTO {name} VALUES (2)", transaction_id=txn)
    sp2 = savepoint(client, txn, "one")  # names may repeat: the id identifies a savepoint
    update(client, f"INSERT INTO {name} VALUES (3)", transaction_id=txn)
    assert values(client, name, txn) == [1, 2, 3]

    end_savepoint(client, sp2, rollback=True)
    assert values(client, name, txn) == [1, 2]
    update(client, f"INSERT INTO {name} VALUES (4)", transaction_id=txn)
    end_savepoint(client, sp2, rollback=True)  # a savepoint survives a rollback to it
    assert values(client, name, txn) == [1, 2]

    end_savepoint(client, sp1, rollback=True)  # rolls back past sp2: sp2 is gone
    assert values(client, name, txn) == [1]
    with pytest.raises(pa.ArrowKeyError, match="savepoint") as err:
        end_savepoint(client, sp2, rollback=False)
    _no_traceback(err.value)

    update(client, f"INSERT INTO {name} VALUES (5)", transaction_id=txn)
    end_savepoint(client, sp1, rollback=False)  # release keeps the work
    with pytest.raises(pa.ArrowKeyError, match="savepoint"):
        end_savepoint(client, sp1, rollback=True)
    assert count(other, name) == 0  # nothing visible before commit
    end(client, txn, commit=True)
    assert values(other, name) == [1, 5]
    other.close()


def test_savepoint_before_first_write_and_after_end(client, name):
    update(client, f"CREATE TABLE {name} (a BIGINT)")
    txn = begin(client)
    sp = savepoint(client, txn)  # the transaction had not written yet
    update(client, f"INSERT INTO {name} VALUES (1)", transaction_id=txn)
    end_savepoint(client, sp, rollback=True)
    update(client, f"INSERT INTO {name} VALUES (2)", transaction_id=txn)
    end(client, txn, commit=True)
    assert values(client, name) == [2]
    with pytest.raises(pa.ArrowKeyError, match="savepoint"):  # died with its transaction
        end_savepoint(client, sp, rollback=False)


def test_savepoint_bad_requests(client):
    with pytest.raises(pa.ArrowInvalid, match="transaction_id"):
        action(client, "BeginSavepoint", pack(pb.ActionBeginSavepointRequest(name="x")))
    with pytest.raises(pa.ArrowKeyError, match="transaction"):
        savepoint(client, b"no such transaction")
    txn = begin(client)
    sp = savepoint(client, txn)
    with pytest.raises(pa.ArrowInvalid, match="RELEASE or ROLLBACK"):
        action(client, "EndSavepoint", pack(EndSp(savepoint_id=sp)))
    with pytest.raises(pa.ArrowKeyError, match="savepoint"):
        end_savepoint(client, b"nope", rollback=True)
    end(client, txn, commit=False)


# ---------------------------------------------------------------------------------------------
# query timeout


class _SlowSession:
    """The real SQL session, except that ``SELECT slow`` streams 100 batches, 50 ms apart."""

    def __init__(self, db: Any, **kw: Any) -> None:
        self._real = session_factory()(db, **kw)

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._real, attr)

    def __setattr__(self, attr: str, value: Any) -> None:
        if attr == "_real":
            object.__setattr__(self, attr, value)
        else:
            setattr(self._real, attr, value)

    def execute(self, sql: str, params: Any = None, **kw: Any) -> Any:
        if sql != "SELECT slow":
            return self._real.execute(sql, params, **kw)
        schema = pa.schema([("i", pa.int64())])

        def batches():
            for i in range(100):
                time.sleep(0.05)
                yield pa.record_batch([pa.array([i], pa.int64())], schema=schema)

        return SimpleNamespace(reader=pa.RecordBatchReader.from_batches(schema, batches()),
                               rowcount=-1, schema=schema)


def test_query_timeout_stops_a_long_stream(db):
    with running(db, session_factory=_SlowSession, query_timeout=0.5) as server:
        client = flight.connect(f"grpc://127.0.0.1:{server.port}")
        info = client.get_flight_info(descriptor(pb.CommandStatementQuery(query="SELECT slow")))
        reader = client.do_get(info.endpoints[0].ticket)
        got = 0
        t0 = time.monotonic()
        with pytest.raises((flight.FlightTimedOutError, flight.FlightCancelledError),
                           match="time limit"):
            for _ in reader:
                got += 1
        assert 0 < got < 100
        assert time.monotonic() - t0 < 3
        # The server keeps serving, and fast queries are unaffected.
        assert query(client, "SELECT 1 AS x").column(0).to_pylist() == [1]
        client.close()


@pytest.fixture(scope="module")
def big(db) -> str:
    """A 2M-row table: grouping it by a million keys takes about a second."""
    import numpy as np
    n = 2_000_000
    db.create_table("big", pa.schema([("k", pa.int64()), ("v", pa.float64())]))
    db.insert("big", pa.table({"k": np.arange(n) % 1_000_003, "v": np.ones(n)}))
    return "big"


def test_query_timeout_stops_an_aggregation_midway(db, big, caplog):
    """The work of an aggregation happens before its first row: the deadline is checked by
    the scans feeding it, not only between result batches. A stopped Acero plan sometimes
    does not drain (about one run in five here, before and after issue 17's seventh pass):
    the query then answers once the process has been idle for ``watch.IDLE_WINDOW``,
    leaving the plan to close in the background (logged), which the bound allows for."""
    from kodiak_flight.sql.executor import watch
    sql = f"SELECT k, sum(v) AS s FROM {big} GROUP BY k"
    with running(db) as server:
        client = flight.connect(f"grpc://127.0.0.1:{server.port}")
        t0 = time.monotonic()
        assert query(client, sql).num_rows == 1_000_003
        full = time.monotonic() - t0
        client.close()
    with running(db, query_timeout=0.05) as server:
        client = flight.connect(f"grpc://127.0.0.1:{server.port}")
        t0 = time.monotonic()
        with pytest.raises(flight.FlightTimedOutError, match="time limit"):
            query(client, sql)
        left = any("left to close in the background" in r.getMessage() for r in caplog.records)
        stuck = watch.IDLE_WINDOW + 2 * watch.SLICE if left else 0.0
        assert time.monotonic() - t0 < max(0.5, full / 2) + stuck, \
            (time.monotonic() - t0, full, left)
        # The server goes on serving within the 50 ms limit once the stopped plan's threads
        # have wound down (Acero finishes the batches it had queued; on a busy machine a
        # SELECT 1 right after can take longer than 50 ms meanwhile).
        assert serves_within_limit(client, seconds=3)
        client.close()


def serves_within_limit(client: flight.FlightClient, seconds: float) -> bool:
    """Whether ``SELECT 1`` succeeds under the server's query timeout within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            return query(client, "SELECT 1 AS x").column(0).to_pylist() == [1]
        except flight.FlightTimedOutError:
            time.sleep(0.1)
    return False


def test_cancel_while_streaming(db, big):
    """CancelFlightInfo reaches a query whose DoGet is already streaming."""
    from kodiak_flight.proto import FlightCore_pb2 as core
    with running(db) as server:
        client = flight.connect(f"grpc://127.0.0.1:{server.port}")
        info = client.get_flight_info(descriptor(pb.CommandStatementQuery(
            query=f"SELECT k, v * 2 AS w FROM {big}")))
        reader = client.do_get(info.endpoints[0].ticket)
        first = reader.read_chunk()
        assert first.data.num_rows > 0
        raw = client.do_action(flight.Action("CancelFlightInfo", core.CancelFlightInfoRequest(
            info=info.serialize()).SerializeToString()))
        assert core.CancelFlightInfoResult.FromString(next(iter(raw)).body.to_pybytes()
                                                      ).status == core.CANCEL_STATUS_CANCELLED
        got = first.data.num_rows
        with pytest.raises(flight.FlightCancelledError, match="cancelled"):
            for chunk in reader:
                got += chunk.data.num_rows
        assert got < 2_000_000
        assert not server._streaming
        client.close()


def test_query_timeout_must_be_positive(db):
    with pytest.raises(ValueError, match="query_timeout"):
        running(db, query_timeout=0).__enter__()


# ---------------------------------------------------------------------------------------------
# bad input


def test_megabytes_of_sql(client, name):
    update(client, f"CREATE TABLE {name} (a BIGINT)")
    update(client, f"INSERT INTO {name} VALUES (1), (2)")
    big = "x" * (4 << 20)
    got = query(client, f"SELECT length('{big}') AS n")
    assert got.column(0).to_pylist() == [4 << 20]
    # Several megabytes of bad SQL: a clear error, and the server keeps serving.
    with pytest.raises(pa.ArrowInvalid) as err:
        query(client, f"SELECT a FROM {name} WHERE " + "a = 1 AND " * 300_000 + "nonsense(")
    _no_traceback(err.value)
    assert values(client, name) == [1, 2]


@pytest.mark.parametrize("depth", [5000, 100_000])  # refused before parsing
def test_deeply_nested_sql_is_refused(client, name, depth):
    update(client, f"CREATE TABLE {name} (a BIGINT)")
    update(client, f"INSERT INTO {name} VALUES (1)")
    nested = "(" * depth + "1" + ")" * depth
    for send in (
        lambda: query(client, f"SELECT {nested} AS x"),
        lambda: update(client, f"INSERT INTO {name} VALUES ({nested})"),
        lambda: prepare(client, f"SELECT {nested} AS x"),
        lambda: client.get_schema(descriptor(pb.CommandStatementQuery(
            query=f"SELECT {nested} AS x"))),
    ):
        with pytest.raises(pa.ArrowInvalid, match="nested too deeply") as err:
            send()
        _no_traceback(err.value)
    assert values(client, name) == [1]  # no data change, still serving


def test_moderate_nesting_still_works(client):
    nested = "(" * 30 + "1" + ")" * 30
    assert query(client, f"SELECT {nested} AS x").column(0).to_pylist() == [1]
    # Deeper than the SQL layer's parser manages (it recurses about 20 Python frames per
    # level) but under the server's pre-parse limit: still a clean INVALID_ARGUMENT.
    nested = "(" * 300 + "1" + ")" * 300
    with pytest.raises(pa.ArrowInvalid, match="nested too deeply") as err:
        query(client, f"SELECT {nested} AS x")
    _no_traceback(err.value)
    # Parentheses inside string literals do not count.
    text = "(" * 2000
    assert query(client, f"SELECT '{text}' AS x").column(0).to_pylist() == [text]


def test_wrong_parameters_on_prepared_statements(client, conn, name):
    update(client, f"CREATE TABLE {name} (id BIGINT, s VARCHAR)")
    update(client, f"INSERT INTO {name} VALUES (1, 'a')")
    res = prepare(client, f"SELECT * FROM {name} WHERE id = ?")
    handle = res.prepared_statement_handle
    cmd = pb.CommandPreparedStatementQuery(prepared_statement_handle=handle)
    with pytest.raises(pa.ArrowInvalid, match="takes 1 parameter, but 2 were bound") as err:
        put(client, cmd, pa.table({"a": [1], "b": [2]}))  # too many
    _no_traceback(err.value)
    put(client, cmd, pa.table({"a": pa.array(["x"])}))  # wrong type: fails when run
    with pytest.raises(pa.ArrowInvalid) as err:
        client.do_get(client.get_flight_info(descriptor(cmd)).endpoints[0].ticket).read_all()
    _no_traceback(err.value)
    put(client, cmd, pa.table({"a": [1]}))
    got = client.do_get(client.get_flight_info(descriptor(cmd)).endpoints[0].ticket).read_all()
    assert got.num_rows == 1

    ins = prepare(client, f"INSERT INTO {name} VALUES (?, ?)").prepared_statement_handle
    upd = pb.CommandPreparedStatementUpdate(prepared_statement_handle=ins)
    for params in (
        pa.table({"a": [2]}),  # too few
        pa.table({"a": [2], "b": ["b"], "c": [3]}),  # too many
    ):
        with pytest.raises(pa.ArrowInvalid, match="parameter") as err:
            put(client, upd, params)
        _no_traceback(err.value)
    assert values_of(client, name) == [1]

    with conn.cursor() as cur:  # through ADBC
        with pytest.raises(flight_sql.Error, match="parameter"):
            cur.execute(f"SELECT * FROM {name} WHERE id = ?", (1, 2))
        with pytest.raises(flight_sql.Error, match="parameter"):
            cur.execute(f"INSERT INTO {name} VALUES (?, ?)", (1,))
        cur.execute(f"SELECT count(*) FROM {name}")
        assert cur.fetchall() == [(1,)]


def test_wrong_parameter_type_on_prepared_insert(client, name):
    update(client, f"CREATE TABLE {name} (id BIGINT, s VARCHAR)")
    ins = prepare(client, f"INSERT INTO {name} VALUES (?, ?)").prepared_statement_handle
    upd = pb.CommandPreparedStatementUpdate(prepared_statement_handle=ins)
    with pytest.raises(pa.ArrowInvalid) as err:
        put(client, upd, pa.table({"a": ["not a number"], "b": ["b"]}))
    _no_traceback(err.value)
    assert count(client, name) == 0


def values_of(client: flight.FlightClient, table: str) -> list[int]:
    return sorted(query(client, f"SELECT id FROM {table}").column(0).to_pylist())


def test_ingest_with_mismatched_schema(client, conn, name):
    update(client, f"CREATE TABLE {name} (a BIGINT NOT NULL, b VARCHAR)")
    update(client, f"INSERT INTO {name} VALUES (1, 'x')")
    append = Ingest(table=name, table_definition_options=Opts(
        if_not_exist=Opts.TABLE_NOT_EXIST_OPTION_FAIL,
        if_exists=Opts.TABLE_EXISTS_OPTION_APPEND))
    for data in (
        pa.table({"b": ["y"]}),  # missing NOT NULL column
        pa.table({"a": pa.array([2], pa.int64()), "b": ["y"], "c": [1.5]}),  # extra column
        pa.table({"a": pa.array(["two"]), "b": ["y"]}),  # wrong type
        pa.table({"zz": pa.array([2], pa.int64()), "b": ["y"]}),  # wrong name
        pa.table({"a": pa.array([None], pa.int64()), "b": ["y"]}),  # NULL in NOT NULL
    ):
        with pytest.raises((pa.ArrowInvalid, pa.ArrowKeyError)) as err:
            put(client, append, data)
        _no_traceback(err.value)
    assert count(client, name) == 1
    with conn.cursor() as cur, pytest.raises(flight_sql.Error):
        cur.adbc_ingest(name, pa.table({"a": pa.array(["two"]), "b": ["y"]}), mode="append")
    assert count(client, name) == 1
    # A missing nullable column is filled with NULL (as a column list in INSERT would).
    put(client, append, pa.table({"a": pa.array([2], pa.int64())}))
    got = query(client, f"SELECT a, b FROM {name} ORDER BY a").to_pylist()
    assert got == [{"a": 1, "b": "x"}, {"a": 2, "b": None}]
