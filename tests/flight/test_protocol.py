"""The Flight SQL protocol through a raw ``pyarrow.flight`` client."""

from __future__ import annotations

import random
import threading
import time
from types import SimpleNamespace

import pyarrow as pa
import pyarrow.flight as flight
import pytest
from google.protobuf import any_pb2

from kodiak_flight import metadata
from kodiak_flight.flightsql import pack
from kodiak_flight.proto import FlightCore_pb2 as core
from kodiak_flight.proto import FlightSql_pb2 as pb
from kodiak_flight.sql.errors import ExecutionError

from .conftest import running, session_factory
from .helpers import (
    action,
    begin,
    count,
    descriptor,
    end,
    prepare,
    put,
    query,
    read,
    update,
)

Ingest = pb.CommandStatementIngest
Opts = Ingest.TableDefinitionOptions


def _no_traceback(exc: BaseException) -> None:
    assert "Traceback" not in str(exc), str(exc)
    assert ".py\"" not in str(exc), str(exc)


# ---------------------------------------------------------------------------------------------
# statements


def test_statement_query(client):
    info = client.get_flight_info(descriptor(pb.CommandStatementQuery(query="SELECT 42 AS x")))
    assert info.schema.names == ["x"]
    assert read(client, info).to_pydict() == {"x": [42]}


def test_ticket_is_single_use(client):
    info = client.get_flight_info(descriptor(pb.CommandStatementQuery(query="SELECT 1 AS x")))
    client.do_get(info.endpoints[0].ticket).read_all()
    with pytest.raises(pa.ArrowKeyError, match="single use") as err:
        client.do_get(info.endpoints[0].ticket).read_all()
    _no_traceback(err.value)


def test_statement_update_and_get_schema(client, name):
    assert update(client, f"CREATE TABLE {name} (a BIGINT, b VARCHAR)") in (0, -1)
    assert update(client, f"INSERT INTO {name} VALUES (1, 'x'), (2, 'y')") == 2
    schema = client.get_schema(descriptor(pb.CommandStatementQuery(
        query=f"SELECT * FROM {name}"))).schema
    assert schema.names == ["a", "b"]
    # GetSchema never executes: an INSERT asked for its schema inserts nothing.
    client.get_schema(descriptor(pb.CommandStatementQuery(
        query=f"INSERT INTO {name} VALUES (3, 'z')")))
    assert count(client, name) == 2


def test_results_stream_in_batches(client, name):
    n = 200_000
    data = pa.table({"i": pa.array(range(n), pa.int64())})
    put(client, Ingest(table=name, table_definition_options=Opts(
        if_not_exist=Opts.TABLE_NOT_EXIST_OPTION_CREATE,
        if_exists=Opts.TABLE_EXISTS_OPTION_FAIL)), data)
    info = client.get_flight_info(descriptor(pb.CommandStatementQuery(
        query=f"SELECT * FROM {name}")))
    reader = client.do_get(info.endpoints[0].ticket)
    chunks = 0
    rows = 0
    for chunk in reader:
        chunks += 1
        rows += chunk.data.num_rows
    assert rows == n
    assert chunks > 1


# ---------------------------------------------------------------------------------------------
# prepared statements


def test_prepared_query_with_parameters(client, name):
    update(client, f"CREATE TABLE {name} (a BIGINT, b VARCHAR)")
    update(client, f"INSERT INTO {name} VALUES (1, 'one'), (2, 'two')")
    res = prepare(client, f"SELECT * FROM {name} WHERE a = ?")
    assert not res.is_update
    assert pa.ipc.read_schema(pa.py_buffer(res.dataset_schema)).names == ["a", "b"]
    assert len(pa.ipc.read_schema(pa.py_buffer(res.parameter_schema))) == 1
    handle = res.prepared_statement_handle
    raw = put(client, pb.CommandPreparedStatementQuery(prepared_statement_handle=handle),
              pa.table({"$1": pa.array([2], pa.int64())}))
    assert pb.DoPutPreparedStatementResult.FromString(raw).prepared_statement_handle == handle
    cmd = pb.CommandPreparedStatementQuery(prepared_statement_handle=handle)
    assert client.get_schema(descriptor(cmd)).schema.names == ["a", "b"]
    info = client.get_flight_info(descriptor(cmd))
    assert read(client, info).to_pydict() == {"a": [2], "b": ["two"]}
    action(client, "ClosePreparedStatement",
           pack(pb.ActionClosePreparedStatementRequest(prepared_statement_handle=handle)))
    # Handles carry their SQL: one the server no longer knows (closed, expired, restarted) is
    # prepared again; its parameters must then be bound again.
    put(client, cmd, pa.table({"$1": pa.array([1], pa.int64())}))
    assert read(client, client.get_flight_info(descriptor(cmd))).to_pydict() == \
        {"a": [1], "b": ["one"]}
    with pytest.raises(pa.ArrowKeyError, match="prepared statement"):
        client.get_flight_info(descriptor(pb.CommandPreparedStatementQuery(
            prepared_statement_handle=b"not a handle")))


def test_prepared_handle_survives_a_restart(db, name):
    with running(db) as srv:
        c = flight.connect(f"grpc://127.0.0.1:{srv.port}")
        update(c, f"CREATE TABLE {name} (a BIGINT)")
        handle = prepare(c, f"INSERT INTO {name} VALUES (?)").prepared_statement_handle
        c.close()
    with running(db) as srv:
        c = flight.connect(f"grpc://127.0.0.1:{srv.port}")
        raw = put(c, pb.CommandPreparedStatementUpdate(prepared_statement_handle=handle),
                  pa.table({"$1": pa.array([1, 2], pa.int64())}))
        assert pb.DoPutUpdateResult.FromString(raw).record_count == 2
        assert count(c, name) == 2
        c.close()


def test_prepared_update_executemany(client, name):
    update(client, f"CREATE TABLE {name} (a BIGINT, b VARCHAR)")
    res = prepare(client, f"INSERT INTO {name} VALUES (?, ?)")
    assert res.is_update
    assert res.dataset_schema == b"" or len(pa.ipc.read_schema(
        pa.py_buffer(res.dataset_schema))) == 0
    params = pa.table({"$1": pa.array([1, 2, 3], pa.int64()), "$2": ["a", "b", None]})
    raw = put(client, pb.CommandPreparedStatementUpdate(
        prepared_statement_handle=res.prepared_statement_handle), params)
    assert pb.DoPutUpdateResult.FromString(raw).record_count == 3
    assert count(client, name) == 3


class Counting:
    """A session factory whose sessions count statement executions."""

    def __init__(self) -> None:
        self.runs: list[str] = []
        self.factory = session_factory()

    def __call__(self, db, *, catalog, schema):
        return _CountingSession(self, self.factory(db, catalog=catalog, schema=schema))


class _CountingSession:
    def __init__(self, counter: Counting, inner) -> None:
        object.__setattr__(self, "_counter", counter)
        object.__setattr__(self, "_inner", inner)

    def __getattr__(self, attr):
        return getattr(self._inner, attr)

    def __setattr__(self, attr, value):
        setattr(self._inner, attr, value)

    def execute(self, sql, params=None, **kw):
        self._counter.runs.append(sql)
        return self._inner.execute(sql, params, **kw)

    def prepare(self, sql):
        return _CountingPrepared(self._counter, sql, self._inner.prepare(sql))


class _CountingPrepared:
    def __init__(self, counter: Counting, sql: str, inner) -> None:
        self._counter, self._sql, self._inner = counter, sql, inner

    def __getattr__(self, attr):
        return getattr(self._inner, attr)

    def execute(self, params=None, **kw):
        self._counter.runs.append(self._sql)
        return self._inner.execute(params, **kw)


def test_side_effects_run_exactly_once(db, name):
    """CreatePreparedStatement, GetSchema, GetFlightInfo, DoGet: one execution per request."""
    counter = Counting()
    with running(db, session_factory=counter) as srv:
        c = flight.connect(f"grpc://127.0.0.1:{srv.port}")
        update(c, f"CREATE TABLE {name} (a BIGINT)")
        insert = f"INSERT INTO {name} VALUES (1)"
        res = prepare(c, insert)
        cmd = descriptor(pb.CommandPreparedStatementQuery(
            prepared_statement_handle=res.prepared_statement_handle))
        c.get_schema(cmd)
        assert counter.runs.count(insert) == 0
        info = c.get_flight_info(cmd)
        assert counter.runs.count(insert) == 1
        c.do_get(info.endpoints[0].ticket).read_all()
        assert counter.runs.count(insert) == 1
        # The statement path: GetSchema runs nothing, GetFlightInfo + DoGet run it once.
        c.get_schema(descriptor(pb.CommandStatementQuery(query=insert)))
        assert counter.runs.count(insert) == 1
        read(c, c.get_flight_info(descriptor(pb.CommandStatementQuery(query=insert))))
        assert counter.runs.count(insert) == 2
        assert count(c, name) == 2
        c.close()


# ---------------------------------------------------------------------------------------------
# bulk ingest


@pytest.mark.parametrize(("if_not_exist", "if_exists", "exists", "outcome"), [
    (Opts.TABLE_NOT_EXIST_OPTION_CREATE, Opts.TABLE_EXISTS_OPTION_FAIL, False, 2),
    (Opts.TABLE_NOT_EXIST_OPTION_CREATE, Opts.TABLE_EXISTS_OPTION_FAIL, True, "exists"),
    (Opts.TABLE_NOT_EXIST_OPTION_CREATE, Opts.TABLE_EXISTS_OPTION_APPEND, False, 2),
    (Opts.TABLE_NOT_EXIST_OPTION_CREATE, Opts.TABLE_EXISTS_OPTION_APPEND, True, 3),
    (Opts.TABLE_NOT_EXIST_OPTION_CREATE, Opts.TABLE_EXISTS_OPTION_REPLACE, False, 2),
    (Opts.TABLE_NOT_EXIST_OPTION_CREATE, Opts.TABLE_EXISTS_OPTION_REPLACE, True, 2),
    (Opts.TABLE_NOT_EXIST_OPTION_FAIL, Opts.TABLE_EXISTS_OPTION_FAIL, False, "missing"),
    (Opts.TABLE_NOT_EXIST_OPTION_FAIL, Opts.TABLE_EXISTS_OPTION_FAIL, True, "exists"),
    (Opts.TABLE_NOT_EXIST_OPTION_FAIL, Opts.TABLE_EXISTS_OPTION_APPEND, False, "missing"),
    (Opts.TABLE_NOT_EXIST_OPTION_FAIL, Opts.TABLE_EXISTS_OPTION_APPEND, True, 3),
    (Opts.TABLE_NOT_EXIST_OPTION_FAIL, Opts.TABLE_EXISTS_OPTION_REPLACE, False, "missing"),
    (Opts.TABLE_NOT_EXIST_OPTION_FAIL, Opts.TABLE_EXISTS_OPTION_REPLACE, True, 2),
])
def test_ingest_options(client, name, if_not_exist, if_exists, exists, outcome):
    if exists:
        put(client, Ingest(table=name, table_definition_options=Opts(
            if_not_exist=Opts.TABLE_NOT_EXIST_OPTION_CREATE,
            if_exists=Opts.TABLE_EXISTS_OPTION_FAIL)), pa.table({"v": pa.array([0], pa.int64())}))
    data = pa.table({"v": pa.array([1, 2], pa.int64())})
    cmd = Ingest(table=name, schema="main", catalog="kodiak", table_definition_options=Opts(
        if_not_exist=if_not_exist, if_exists=if_exists))
    if outcome == "exists":
        with pytest.raises(pa.ArrowInvalid, match="already exists"):
            put(client, cmd, data)
    elif outcome == "missing":
        with pytest.raises(pa.ArrowKeyError, match="does not exist"):
            put(client, cmd, data)
    else:
        raw = put(client, cmd, data)
        assert pb.DoPutUpdateResult.FromString(raw).record_count == 2
        assert count(client, name) == outcome


@pytest.mark.parametrize(("cmd", "error"), [
    (Ingest(table="x"), pa.ArrowInvalid),  # options unspecified
    (Ingest(table="x", temporary=True, schema="main", table_definition_options=Opts(
        if_not_exist=1, if_exists=1)), pa.ArrowInvalid),  # temporary tables have no schema
    (Ingest(table="x", catalog="other", table_definition_options=Opts(
        if_not_exist=1, if_exists=1)), pa.ArrowKeyError),
    (Ingest(table="x", schema="no_such_schema", table_definition_options=Opts(
        if_not_exist=1, if_exists=1)), pa.ArrowKeyError),
])
def test_ingest_rejects(client, cmd, error):
    with pytest.raises(error) as err:
        put(client, cmd, pa.table({"v": [1]}))
    _no_traceback(err.value)


# ---------------------------------------------------------------------------------------------
# transactions


def test_transaction_commit_and_rollback(client, uri, name):
    update(client, f"CREATE TABLE {name} (a BIGINT)")
    other = flight.connect(uri)
    txn = begin(client)
    update(client, f"INSERT INTO {name} VALUES (1)", transaction_id=txn)
    assert count(other, name) == 0
    assert query(client, f"SELECT count(*) AS n FROM {name}",
                 transaction_id=txn).column(0)[0].as_py() == 1
    end(client, txn, commit=True)
    assert count(other, name) == 1
    txn = begin(client)
    res = prepare(client, f"INSERT INTO {name} VALUES (?)", transaction_id=txn)
    put(client, pb.CommandPreparedStatementUpdate(
        prepared_statement_handle=res.prepared_statement_handle),
        pa.table({"$1": pa.array([2, 3], pa.int64())}))
    end(client, txn, commit=False)
    assert count(other, name) == 1
    with pytest.raises(pa.ArrowKeyError, match="transaction"):
        end(client, txn, commit=True)
    other.close()


def test_read_only_transactions_do_not_block_writers(client, uri, name):
    update(client, f"CREATE TABLE {name} (a BIGINT)")
    txns = [begin(client) for _ in range(3)]
    for txn in txns:  # reads inside open transactions
        query(client, f"SELECT count(*) AS n FROM {name}", transaction_id=txn)
    assert update(client, f"INSERT INTO {name} VALUES (1)") == 1  # not blocked
    for txn in txns:
        end(client, txn, commit=True)


def test_ingest_inside_a_transaction(client, name):
    cmd = Ingest(table=name, table_definition_options=Opts(
        if_not_exist=Opts.TABLE_NOT_EXIST_OPTION_CREATE,
        if_exists=Opts.TABLE_EXISTS_OPTION_FAIL))
    txn = begin(client)
    cmd.transaction_id = txn
    put(client, cmd, pa.table({"v": pa.array([1, 2], pa.int64())}))
    end(client, txn, commit=False)
    tables = read(client, client.get_flight_info(descriptor(pb.CommandGetTables(
        table_name_filter_pattern=name))))
    assert tables.num_rows == 0
    txn = begin(client)
    cmd.transaction_id = txn
    put(client, cmd, pa.table({"v": pa.array([1, 2], pa.int64())}))
    end(client, txn, commit=True)
    assert count(client, name) == 2


def test_unknown_transaction(client):
    with pytest.raises(pa.ArrowKeyError, match="transaction") as err:
        update(client, "SELECT 1", transaction_id=b"nope")
    _no_traceback(err.value)
    act = pb.ActionEndTransactionRequest
    with pytest.raises(pa.ArrowInvalid, match="COMMIT or ROLLBACK"):
        action(client, "EndTransaction", pack(act(transaction_id=begin(client))))


# ---------------------------------------------------------------------------------------------
# metadata


def _metadata(client, cmd):
    d = descriptor(cmd)
    info = client.get_flight_info(d)
    schema = client.get_schema(d).schema
    table = read(client, info)
    assert info.schema.equals(schema)
    assert table.schema.equals(schema), (table.schema, schema)
    return table


def test_sql_info(client):
    table = _metadata(client, pb.CommandGetSqlInfo())
    assert table.schema.equals(metadata.SQL_INFO_SCHEMA)
    values = dict(zip(table.column("info_name").to_pylist(), table.column("value").to_pylist(),
                      strict=True))
    assert values[pb.FLIGHT_SQL_SERVER_NAME] == "Kodiak"
    assert values[pb.FLIGHT_SQL_SERVER_ARROW_VERSION] == pa.__version__
    assert values[pb.FLIGHT_SQL_SERVER_READ_ONLY] is False
    assert values[pb.FLIGHT_SQL_SERVER_TRANSACTION] == pb.SQL_SUPPORTED_TRANSACTION_SAVEPOINT
    table = _metadata(client, pb.CommandGetSqlInfo(info=[8, 9999]))
    assert table.column("info_name").to_pylist() == [8]
    assert table.column("value").type[3].type == pa.int32()
    assert table.column("value").type.type_codes == [0, 1, 2, 3, 4, 5]


def test_catalogs_schemas_tables(client, name):
    update(client, f"CREATE TABLE {name} (a BIGINT PRIMARY KEY, b VARCHAR)")
    assert _metadata(client, pb.CommandGetCatalogs()).to_pylist() == [{"catalog_name": "kodiak"}]
    schemas = _metadata(client, pb.CommandGetDbSchemas(db_schema_filter_pattern="ma%"))
    assert schemas.to_pylist() == [{"catalog_name": "kodiak", "db_schema_name": "main"}]
    assert _metadata(client, pb.CommandGetDbSchemas(catalog="other")).num_rows == 0
    tables = _metadata(client, pb.CommandGetTables(table_name_filter_pattern=name,
                                                   include_schema=True))
    assert tables.schema.equals(metadata.TABLES_SCHEMA_WITH_SCHEMA)
    row = tables.to_pylist()[0]
    assert (row["catalog_name"], row["db_schema_name"], row["table_name"], row["table_type"]) \
        == ("kodiak", "main", name, "TABLE")
    schema = pa.ipc.read_schema(pa.py_buffer(row["table_schema"]))
    assert schema.names == ["a", "b"]
    assert schema.field("a").metadata[b"ARROW:FLIGHT:SQL:TYPE_NAME"] == b"BIGINT"
    plain = _metadata(client, pb.CommandGetTables(table_name_filter_pattern=name))
    assert plain.schema.equals(metadata.TABLES_SCHEMA)
    assert _metadata(client, pb.CommandGetTables(table_name_filter_pattern=name,
                                                 table_types=["VIEW"])).num_rows == 0
    assert _metadata(client, pb.CommandGetTables(
        table_name_filter_pattern=name.replace(name[-1], "_"))).num_rows >= 1
    assert _metadata(client, pb.CommandGetTableTypes()).to_pylist() == [
        {"table_type": t} for t in ("TABLE", "VIEW", "SYSTEM TABLE")]


def test_primary_and_foreign_keys(client, name):
    update(client, f"CREATE TABLE {name} (a BIGINT PRIMARY KEY, b VARCHAR)")
    keys = _metadata(client, pb.CommandGetPrimaryKeys(table=name))
    assert [(r["column_name"], r["key_sequence"]) for r in keys.to_pylist()] == [("a", 1)]
    assert keys.schema.equals(metadata.PRIMARY_KEYS_SCHEMA)
    for cmd in (pb.CommandGetExportedKeys(table=name), pb.CommandGetImportedKeys(table=name),
                pb.CommandGetCrossReference(pk_table=name, fk_table=name)):
        table = _metadata(client, cmd)
        assert table.num_rows == 0
        assert table.schema.equals(metadata.FOREIGN_KEYS_SCHEMA)


def test_xdbc_type_info(client):
    table = _metadata(client, pb.CommandGetXdbcTypeInfo())
    assert "BIGINT" in table.column("type_name").to_pylist()
    only = _metadata(client, pb.CommandGetXdbcTypeInfo(data_type=pb.XDBC_BIGINT))
    assert only.column("type_name").to_pylist() == ["BIGINT"]


# ---------------------------------------------------------------------------------------------
# sessions, cancellation


def test_session_options(client):
    req = core.SetSessionOptionsRequest()
    req.session_options["schema"].string_value = "main"
    req.session_options["catalog"].string_value = "kodiak"
    req.session_options["bogus"].string_value = "x"
    (raw,) = action(client, "SetSessionOptions", req.SerializeToString())
    res = core.SetSessionOptionsResult.FromString(raw)
    assert dict(res.errors) .keys() == {"bogus"}
    assert res.errors["bogus"].value == core.SetSessionOptionsResult.INVALID_NAME
    req = core.SetSessionOptionsRequest()
    req.session_options["schema"].string_value = "no_such_schema"
    (raw,) = action(client, "SetSessionOptions", req.SerializeToString())
    res = core.SetSessionOptionsResult.FromString(raw)
    assert res.errors["schema"].value == core.SetSessionOptionsResult.INVALID_VALUE
    (raw,) = action(client, "GetSessionOptions", core.GetSessionOptionsRequest()
                    .SerializeToString())
    opts = core.GetSessionOptionsResult.FromString(raw).session_options
    assert (opts["catalog"].string_value, opts["schema"].string_value) == ("kodiak", "main")
    (raw,) = action(client, "CloseSession", core.CloseSessionRequest().SerializeToString())
    assert core.CloseSessionResult.FromString(raw).status == core.CloseSessionResult.CLOSED
    assert query(client, "SELECT 1 AS x").num_rows == 1  # a new session starts


def test_sessions_are_per_connection_and_cookie(server, uri):
    a, b = flight.connect(uri), flight.connect(uri)
    before = len(server._sessions)
    query(a, "SELECT 1 AS x")
    query(b, "SELECT 1 AS x")
    query(a, "SELECT 1 AS x")
    assert len(server._sessions) == before + 2
    sid = next(iter(server._sessions))
    opts = flight.FlightCallOptions(headers=[(b"cookie", f"arrow_flight_session_id={sid}"
                                              .encode())])
    c = flight.connect(uri)
    c.do_action(flight.Action("GetSessionOptions", b""), options=opts)
    assert len(server._sessions) == before + 2  # the cookie found the existing session
    for x in (a, b, c):
        x.close()


class _CookieJar(flight.ClientMiddlewareFactory):
    """Keeps the session cookie the server sets and sends it back, as cookie-aware clients do."""

    def __init__(self, send: bool = True) -> None:
        self.cookie: str | None = None
        self.send = send

    def start_call(self, info):
        jar = self

        class Call(flight.ClientMiddleware):
            def sending_headers(self):
                return {"cookie": jar.cookie} if jar.send and jar.cookie else {}

            def received_headers(self, headers):
                for k, values in headers.items():
                    if k.lower() == "set-cookie" and values:
                        jar.cookie = values[0].split(";")[0]

        return Call()


def test_session_cookie_outlives_the_connection(uri):
    """The cookie reaches a client with its first query (most other calls without a cookie
    run without a middleware instance) and finds the same session from a new connection."""
    jar = _CookieJar(send=False)
    a = flight.connect(uri, middleware=[jar])
    update(a, "CREATE SCHEMA IF NOT EXISTS cookie_schema")
    req = core.SetSessionOptionsRequest()
    req.session_options["schema"].string_value = "cookie_schema"
    action(a, "SetSessionOptions", req.SerializeToString())
    assert jar.cookie is None  # (DoPut and DoAction send headers before finding the session)
    query(a, "SELECT 1 AS x")
    assert jar.cookie and jar.cookie.startswith("arrow_flight_session_id=")
    b_jar = _CookieJar()
    b_jar.cookie = jar.cookie
    b = flight.connect(uri, middleware=[b_jar])
    (raw,) = action(b, "GetSessionOptions", core.GetSessionOptionsRequest().SerializeToString())
    opts = core.GetSessionOptionsResult.FromString(raw).session_options
    assert opts["schema"].string_value == "cookie_schema"
    assert b_jar.cookie == jar.cookie  # the same session, not a new one
    for x in (a, b):
        x.close()


def test_get_schema_hands_out_the_cookie_too(uri):
    jar = _CookieJar(send=False)
    c = flight.connect(uri, middleware=[jar])
    c.get_schema(descriptor(pb.CommandStatementQuery(query="SELECT 1 AS x")))
    assert jar.cookie and jar.cookie.startswith("arrow_flight_session_id=")
    c.close()


def test_anonymous_calls_without_a_cookie_get_no_middleware():
    # the unary calls hand the cookie out with context.add_header (server.client), so no
    # call without a cookie pays a middleware's two Python callbacks
    from kodiak_flight.server.middleware import CallMiddlewareFactory

    factory = CallMiddlewareFactory(None)
    for method in (flight.FlightMethod.GET_FLIGHT_INFO, flight.FlightMethod.GET_SCHEMA,
                   flight.FlightMethod.DO_GET, flight.FlightMethod.DO_PUT):
        assert factory.start_call(flight.CallInfo(method=method), {}) is None
    with_cookie = factory.start_call(flight.CallInfo(method=flight.FlightMethod.DO_GET),
                                     {"cookie": ["arrow_flight_session_id=abc"]})
    assert with_cookie is not None and with_cookie.cookie_sid == "abc"


def test_cancel_flight_info(client, name):
    update(client, f"CREATE TABLE {name} (a BIGINT)")
    info = client.get_flight_info(descriptor(pb.CommandStatementQuery(
        query=f"SELECT * FROM {name}")))
    (raw,) = action(client, "CancelFlightInfo",
                    core.CancelFlightInfoRequest(info=info.serialize()).SerializeToString())
    assert core.CancelFlightInfoResult.FromString(raw).status == core.CANCEL_STATUS_CANCELLED
    with pytest.raises(flight.FlightCancelledError):
        client.do_get(info.endpoints[0].ticket).read_all()
    with pytest.raises(pa.ArrowKeyError):
        action(client, "CancelFlightInfo",
               core.CancelFlightInfoRequest(info=info.serialize()).SerializeToString())


# ---------------------------------------------------------------------------------------------
# bad input


def _bad_any(type_url: str, value: bytes = b"") -> bytes:
    return any_pb2.Any(type_url=type_url, value=value).SerializeToString()


@pytest.mark.parametrize(("payload", "error"), [
    (b"", pa.ArrowInvalid),
    (b"\xff\xfe\xfd garbage", pa.ArrowInvalid),
    (_bad_any("type.googleapis.com/foo.Bar"), pa.ArrowInvalid),
    (_bad_any("type.googleapis.com/arrow.flight.protocol.sql.CommandFrobnicate"),
     pa.ArrowNotImplementedError),
    (_bad_any("type.googleapis.com/arrow.flight.protocol.sql.CommandStatementQuery",
              b"\xff\xff\xff"), pa.ArrowInvalid),
    (pack(pb.CommandStatementUpdate(query="SELECT 1")), pa.ArrowInvalid),  # wrong RPC
    (pack(pb.CommandStatementSubstraitPlan()), pa.ArrowNotImplementedError),
    (pack(pb.CommandStatementQuery(query="SELEC 1")), pa.ArrowInvalid),
    (pack(pb.CommandStatementQuery(query="SELECT * FROM no_such_table")), pa.ArrowException),
])
def test_bad_descriptors(client, payload, error):
    d = flight.FlightDescriptor.for_command(payload)
    with pytest.raises(error) as err:
        client.get_flight_info(d)
    _no_traceback(err.value)
    assert query(client, "SELECT 1 AS x").num_rows == 1


def _junk_calls(client, junk: bytes):
    def put_junk():
        writer, reader = client.do_put(flight.FlightDescriptor.for_command(junk), pa.schema([]))
        writer.done_writing()
        reader.read()
        writer.close()

    return [
        lambda: client.get_flight_info(flight.FlightDescriptor.for_command(junk)),
        lambda: client.get_schema(flight.FlightDescriptor.for_command(junk)),
        lambda: client.do_get(flight.Ticket(junk)).read_all(),
        put_junk,
        lambda: list(client.do_action(flight.Action("CreatePreparedStatement", junk))),
        lambda: list(client.do_action(flight.Action("EndTransaction", junk))),
    ]


def test_bad_input_everywhere_keeps_serving(client):
    rng = random.Random(1234)
    for _ in range(30):
        junk = rng.randbytes(rng.randrange(0, 64))
        for call in _junk_calls(client, junk):
            with pytest.raises((pa.ArrowException, flight.FlightError)) as err:
                call()
            _no_traceback(err.value)
        try:  # raw protobuf bodies: junk may happen to decode; it must never crash
            list(client.do_action(flight.Action("SetSessionOptions", junk)))
            list(client.do_action(flight.Action("CancelFlightInfo", junk)))
        except (pa.ArrowException, flight.FlightError) as exc:
            _no_traceback(exc)
    with pytest.raises(pa.ArrowInvalid):
        client.get_flight_info(flight.FlightDescriptor.for_path("some", "path"))
    with pytest.raises(pa.ArrowNotImplementedError):
        list(client.do_action(flight.Action("NoSuchAction", b"")))
    assert query(client, "SELECT 1 AS x").num_rows == 1


def test_grpc_status_codes(uri):
    grpc = pytest.importorskip("grpc")
    channel = grpc.insecure_channel(uri.removeprefix("grpc://"))
    get_info = channel.unary_unary("/arrow.flight.protocol.FlightService/GetFlightInfo",
                                   request_serializer=lambda x: x,
                                   response_deserializer=lambda x: x)

    def code(cmd_bytes: bytes):
        # FlightDescriptor{type=CMD(2), cmd=...}
        body = b"\x08\x02" + b"\x12" + _varint(len(cmd_bytes)) + cmd_bytes
        with pytest.raises(grpc.RpcError) as err:
            get_info(body)
        assert "Traceback" not in err.value.details()
        return err.value.code()

    assert code(pack(pb.CommandStatementQuery(query="SELEC 1"))) == \
        grpc.StatusCode.INVALID_ARGUMENT
    assert code(pack(pb.CommandPreparedStatementQuery(prepared_statement_handle=b"x"))) == \
        grpc.StatusCode.NOT_FOUND
    assert code(pack(pb.CommandStatementSubstraitPlan())) == grpc.StatusCode.UNIMPLEMENTED
    channel.close()


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


# ---------------------------------------------------------------------------------------------
# expiry and concurrency


def test_idle_transactions_expire(db, name):
    with running(db, transaction_idle_timeout=0.2, session_idle_timeout=0.2,
                 result_ttl=0.2) as srv:
        c = flight.connect(f"grpc://127.0.0.1:{srv.port}")
        update(c, f"CREATE TABLE {name} (a BIGINT)")
        reader_txn = begin(c)  # never writes
        writer_txn = begin(c)
        update(c, f"INSERT INTO {name} VALUES (1)", transaction_id=writer_txn)  # writer lock
        info = c.get_flight_info(descriptor(pb.CommandStatementQuery(query="SELECT 1 AS x")))
        time.sleep(1.0)
        # The writer was rolled back and its lock released: others can write.
        assert update(c, f"INSERT INTO {name} VALUES (2)") == 1
        with pytest.raises(pa.ArrowKeyError, match="rolled back"):
            update(c, f"INSERT INTO {name} VALUES (3)", transaction_id=writer_txn)
        with pytest.raises(pa.ArrowKeyError, match="rolled back"):
            end(c, writer_txn, commit=True)
        # A transaction that never wrote carries on transparently.
        update(c, f"INSERT INTO {name} VALUES (4)", transaction_id=reader_txn)
        end(c, reader_txn, commit=True)
        assert count(c, name) == 2
        with pytest.raises(pa.ArrowKeyError):  # unclaimed results expire too
            c.do_get(info.endpoints[0].ticket).read_all()
        c.close()


def test_concurrent_clients(uri, name):
    setup = flight.connect(uri)
    update(setup, f"CREATE TABLE {name} (a BIGINT)")
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            c = flight.connect(uri)
            for j in range(5):
                update(c, f"INSERT INTO {name} VALUES ({i * 100 + j})")
                assert query(c, f"SELECT count(*) AS n FROM {name}").num_rows == 1
            c.close()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert count(setup, name) == 30
    setup.close()


class _Failing:
    """Sessions whose queries fail after the first batch (errors raised mid-stream)."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def __call__(self, db, *, catalog, schema):
        inner = session_factory()(db, catalog=catalog, schema=schema)
        error = self.error

        class S:
            def __getattr__(self, attr):
                return getattr(inner, attr)

            def execute(self, sql, params=None, **kw):
                schema = pa.schema([("x", pa.int64())])

                def batches():
                    yield pa.record_batch([pa.array([1], pa.int64())], schema=schema)
                    raise error

                return SimpleNamespace(schema=schema, rowcount=-1,
                                       reader=pa.RecordBatchReader.from_batches(schema,
                                                                                batches()))

        return S()


@pytest.mark.parametrize(("error", "expected", "text"), [
    (ExecutionError("division by zero"), pa.ArrowInvalid, "division by zero"),
    (RuntimeError("boom"), flight.FlightInternalError, "internal error [ref "),
])
def test_errors_in_the_middle_of_a_stream(db, error, expected, text):
    with running(db, session_factory=_Failing(error)) as srv:
        c = flight.connect(f"grpc://127.0.0.1:{srv.port}")
        info = c.get_flight_info(descriptor(pb.CommandStatementQuery(query="SELECT 1")))
        reader = c.do_get(info.endpoints[0].ticket)
        with pytest.raises(expected) as err:
            reader.read_all()
        assert text in str(err.value)
        _no_traceback(err.value)
        c.close()
