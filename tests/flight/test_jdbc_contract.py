"""The Flight SQL calls and fields Apache Arrow's JDBC driver depends on, checked in Python.

Each test is named after the JDBC method it serves, so CI without Java still covers what
tests/flight/jdbc/Probe.java checks through the real driver. What the driver reads (found in
its bytecode): an update count of -1 means "a result set follows" and runs the prepared
statement again; an empty dataset schema means "an update"; SqlInfo values are cast to the
Java class of the getter (a missing id is a NullPointerException, int32 where it reads int64
a ClassCastException); ResultSetMetaData comes from the ARROW:FLIGHT:SQL:* field metadata.
"""

from __future__ import annotations

import base64
from typing import Any

import pyarrow as pa
import pyarrow.flight as flight
import pytest

from kodiak_flight import sqlinfo
from kodiak_flight.auth import Authenticator, hash_password
from kodiak_flight.proto import FlightSql_pb2 as pb
from kodiak_flight.sql import functions as fn

from .conftest import running
from .helpers import count, descriptor, prepare, put, query, read, update

STRING, BOOL, INT64, INT32, STRING_LIST, INT_MAP = range(6)  # the union's type codes


def _prepared_update(client: flight.FlightClient, handle: bytes) -> int:
    raw = put(client, pb.CommandPreparedStatementUpdate(prepared_statement_handle=handle))
    return pb.DoPutUpdateResult.FromString(raw).record_count


def _prepared_query(client: flight.FlightClient, handle: bytes) -> pa.Table:
    d = descriptor(pb.CommandPreparedStatementQuery(prepared_statement_handle=handle))
    return read(client, client.get_flight_info(d))


# -- 1. DDL and transaction statements: update count 0, run once ---------------------------

def test_executeUpdate_create_table_reports_0_rows(client, name):
    assert update(client, f"CREATE TABLE {name} (a INT)") == 0
    assert update(client, f"INSERT INTO {name} VALUES (1), (2)") == 2
    assert update(client, f"DROP TABLE {name}") == 0


def test_prepareStatement_ddl_has_an_empty_dataset_schema(client, name):
    res = prepare(client, f"CREATE TABLE {name} (a INT)")
    assert res.is_update
    schema = pa.ipc.read_schema(pa.py_buffer(res.dataset_schema))
    assert len(schema) == 0  # the driver takes its update path only for an empty schema


def test_executeUpdate_prepared_ddl_runs_once(client, name):
    handle = prepare(client, f"CREATE TABLE {name} (a INT)").prepared_statement_handle
    assert _prepared_update(client, handle) == 0
    # What the driver did with an update count of -1: ask for the "result set". It must
    # answer the update that ran, not create the table a second time ("already exists").
    assert _prepared_query(client, handle).num_columns == 0
    assert count(client, name) == 0
    # asked on purpose (a second ExecuteUpdate), it does run again
    with pytest.raises(pa.ArrowException, match="already exists"):
        _prepared_update(client, handle)
    update(client, f"DROP TABLE {name}")


def test_executeUpdate_prepared_begin_commit_report_0(client, name):
    update(client, f"CREATE TABLE {name} (a INT)")
    for sql in ("BEGIN", f"INSERT INTO {name} VALUES (1)", "COMMIT"):
        handle = prepare(client, sql).prepared_statement_handle
        assert _prepared_update(client, handle) == (1 if sql.startswith("INSERT") else 0)
        _prepared_query(client, handle)  # the old double run: "a transaction is already open"
    assert count(client, name) == 1


def test_executeUpdate_then_bind_and_query_runs_again(client, name):
    update(client, f"CREATE TABLE {name} (a INT)")
    handle = prepare(client, f"INSERT INTO {name} VALUES (?)").prepared_statement_handle
    params = pa.table({"a": pa.array([1], pa.int32())})
    raw = put(client, pb.CommandPreparedStatementUpdate(prepared_statement_handle=handle), params)
    assert pb.DoPutUpdateResult.FromString(raw).record_count == 1
    # a new bind is a new execution request: the next GetFlightInfo runs it
    put(client, pb.CommandPreparedStatementQuery(prepared_statement_handle=handle), params)
    _prepared_query(client, handle)
    assert count(client, name) == 2


# -- 2. GetSqlInfo: every id, in the union member the driver reads -----------------------------

def _sql_info(client: flight.FlightClient, ids: list[int]) -> dict[int, tuple[int, Any]]:
    info = client.get_flight_info(descriptor(pb.CommandGetSqlInfo(info=ids)))
    table = read(client, info)
    union = table.column("value").combine_chunks()
    return {i: (code, union[n].as_py()) for n, (i, code) in enumerate(zip(
        table.column("info_name").to_pylist(), union.type_codes.to_pylist(), strict=True))}


def _one(client: flight.FlightClient, info_id: int) -> tuple[int, Any]:
    return _sql_info(client, [info_id])[info_id]


def test_getDefaultTransactionIsolation_sqlinfo_562(client):
    # int64: the driver does Long.intValue() on it (ClassCastException on an int32)
    assert _one(client, 562) == (INT64, pb.SQL_TRANSACTION_READ_COMMITTED)


def test_supportsTransactionIsolationLevel_sqlinfo_564(client):
    code, mask = _one(client, 564)
    assert code == INT32
    assert mask == (1 << pb.SQL_TRANSACTION_READ_COMMITTED) | (1 << pb.SQL_TRANSACTION_SERIALIZABLE)


def test_supportsOuterJoins_sqlinfo_528(client):
    code, mask = _one(client, 528)
    assert code == INT32 and mask != 0


def test_supportsFullOuterJoins_sqlinfo_528(client):
    _, mask = _one(client, 528)  # the driver tests bit SQL_FULL_OUTER_JOINS
    assert mask & (1 << pb.SQL_FULL_OUTER_JOINS) and mask & (1 << pb.SQL_LIMITED_OUTER_JOINS)
    assert query(client, "SELECT * FROM (VALUES (1)) a(x) FULL JOIN (VALUES (2)) b(y) "
                         "ON x = y").num_rows == 2


def test_supportsUnion_sqlinfo_540(client):
    assert _one(client, 540) == (INT32, 0b11)


def test_supportsGroupBy_sqlinfo_522(client):
    assert _one(client, 522) == (INT32, 0b11)


def test_supportsSubqueriesInExists_sqlinfo_538(client):
    code, mask = _one(client, 538)
    assert code == INT32
    assert mask & (1 << pb.SQL_SUBQUERIES_IN_EXISTS)
    assert mask & (1 << pb.SQL_SUBQUERIES_IN_QUANTIFIEDS)  # x > ANY (...) works
    assert query(client, "SELECT 1 AS one WHERE 2 > ANY (SELECT 1)").num_rows == 1


@pytest.mark.parametrize("info_id", [543, 559, 557, 549])
def test_getMaxColumnNameLength_getMaxTableNameLength_getMaxStatementLength_getMaxConnections(
        client, info_id):
    assert _one(client, info_id) == (INT64, 0)  # 0: no limit


# The specification's value type of every SqlInfo id (FlightSql.proto's comments), with the
# two ids the JDBC driver reads differently (see kodiak_flight/sqlinfo.py).
SPEC_TYPES = {
    **dict.fromkeys([0, 1, 2, 6, 7, 504, 513, 514, 529, 530, 531], STRING),
    **dict.fromkeys([3, 4, 5, 9, 10, 11, 500, 501, 502, 506, 515, 516, 518, 519, 520, 521,
                     523, 524, 527, 532, 536, 537, 539, 556, 563, 565, 566, 572, 573, 574,
                     575, 576], BOOL),
    **dict.fromkeys([8, 100, 101, 503, 505, 507, 522, 525, 526, 528, 533, 534, 535, 538, 540,
                     564, 567, 568, 569, 570, 571], INT32),
    **dict.fromkeys([*range(541, 556), *range(557, 562), 562], INT64),
    **dict.fromkeys([508, 509, 510, 511, 512], STRING_LIST),
    517: INT_MAP,
}


def test_DatabaseMetaData_every_sqlinfo_id_answered_with_its_type(client):
    every = [v.number for v in pb.SqlInfo.DESCRIPTOR.values]
    assert sorted(every) == sorted(SPEC_TYPES)  # the proto holds every id of the spec
    answered = _sql_info(client, [])
    assert sorted(answered) == sorted(every)
    wrong = {i: code for i, (code, _) in answered.items() if code != SPEC_TYPES[i]}
    assert wrong == {}


def test_getSQLKeywords_sqlinfo_508(client):
    code, words = _one(client, 508)
    assert code == STRING_LIST
    assert {"SELECT", "FROM", "WHERE", "JOIN"} <= set(words)


def test_getNumericFunctions_getStringFunctions_getTimeDateFunctions_getSystemFunctions(client):
    lists = {i: _one(client, i)[1] for i in (509, 510, 511, 512)}
    assert "abs" in lists[509] and "upper" in lists[510] and "date_trunc" in lists[512]
    assert "coalesce" in lists[511]
    registered = {n for f in fn.functions(fn.SCALAR) for n in (f.name, *f.aliases)}
    listed = {n for names in lists.values() for n in names}
    assert registered <= listed  # every scalar function is in one list
    unknown = [n for n in listed if fn.lookup(n) is None and n not in sqlinfo.function_lists()[
        "system"]]
    assert unknown == []


_CONVERT_SQL = {
    pb.SQL_CONVERT_BIGINT: "BIGINT", pb.SQL_CONVERT_INTEGER: "INTEGER",
    pb.SQL_CONVERT_SMALLINT: "SMALLINT", pb.SQL_CONVERT_TINYINT: "TINYINT",
    pb.SQL_CONVERT_DECIMAL: "DECIMAL(10,2)", pb.SQL_CONVERT_NUMERIC: "NUMERIC(10,2)",
    pb.SQL_CONVERT_FLOAT: "DOUBLE", pb.SQL_CONVERT_REAL: "REAL", pb.SQL_CONVERT_BIT: "BOOLEAN",
    pb.SQL_CONVERT_VARCHAR: "VARCHAR", pb.SQL_CONVERT_CHAR: "VARCHAR",
    pb.SQL_CONVERT_LONGVARCHAR: "VARCHAR", pb.SQL_CONVERT_DATE: "DATE",
    pb.SQL_CONVERT_TIME: "TIME", pb.SQL_CONVERT_TIMESTAMP: "TIMESTAMP",
    pb.SQL_CONVERT_VARBINARY: "BLOB", pb.SQL_CONVERT_BINARY: "BLOB",
    pb.SQL_CONVERT_LONGVARBINARY: "BLOB",
}
_TEXT_FOR = {"BOOLEAN": "'true'", "DATE": "'2024-01-02'", "TIME": "'12:34:56'",
             "TIMESTAMP": "'2024-01-02 03:04:05'"}
_VALUE_OF = {"DATE": "DATE '2024-01-02'", "TIME": "TIMESTAMP '2024-01-02 12:34:56'",
             "TIMESTAMP": "TIMESTAMP '2024-01-02 03:04:05'", "BOOLEAN": "TRUE",
             "BLOB": "'\\x01'::BLOB"}


def test_supportsConvert_sqlinfo_517_claims_hold(client):
    code, pairs = _one(client, 517)
    assert code == INT_MAP and pairs
    for source, targets in pairs:
        src = _CONVERT_SQL[source]
        columns = []
        for target in targets:
            dst = _CONVERT_SQL[target]
            if src == "VARCHAR":
                value = _TEXT_FOR.get(dst, "'1'")
            else:
                value = f"CAST({_VALUE_OF.get(src, '1')} AS {src})"
            columns.append(f"CAST({value} AS {dst})")
        row = query(client, "SELECT " + ", ".join(columns)).to_pylist()[0]
        assert None not in row.values(), (src, row)


# -- 3. result set metadata --------------------------------------------------------------------

def _field_md(schema: pa.Schema, name: str) -> dict[str, str]:
    md = schema.field(name).metadata or {}
    return {k.decode().removeprefix("ARROW:FLIGHT:SQL:"): v.decode() for k, v in md.items()}


@pytest.fixture
def money(client, name):
    update(client, f"CREATE TABLE {name} (id INT, amount DECIMAL(12,2), note VARCHAR)")
    update(client, f"INSERT INTO {name} VALUES (1, 12.50, 'a'), (2, 3.25, NULL)")
    yield name
    update(client, f"DROP TABLE {name}")


@pytest.mark.parametrize("sql", ["SELECT id, amount, note FROM {t}",
                                 "SELECT id, amount, note FROM {t} ORDER BY id LIMIT 5"])
def test_ResultSetMetaData_getPrecision_getScale_from_FlightInfo_and_DoGet(client, money, sql):
    info = client.get_flight_info(descriptor(pb.CommandStatementQuery(query=sql.format(t=money))))
    amount = _field_md(info.schema, "amount")
    assert (amount["PRECISION"], amount["SCALE"], amount["TYPE_NAME"]) == \
        ("12", "2", "DECIMAL(12,2)")
    assert _field_md(info.schema, "id")["PRECISION"] == "10"
    assert _field_md(info.schema, "note")["IS_CASE_SENSITIVE"] == "1"
    assert _field_md(info.schema, "note")["IS_NULLABLE"] == "1"
    reader = client.do_get(info.endpoints[0].ticket)
    table = reader.read_all()
    assert reader.schema.equals(info.schema, check_metadata=True)
    assert table.schema.equals(info.schema, check_metadata=True)
    assert table.num_rows == 2


def test_PreparedStatement_getMetaData_dataset_schema_and_GetSchema(client, money):
    sql = f"SELECT amount FROM {money}"
    res = prepare(client, sql)
    schema = pa.ipc.read_schema(pa.py_buffer(res.dataset_schema))
    assert _field_md(schema, "amount")["PRECISION"] == "12"
    got = client.get_schema(descriptor(pb.CommandStatementQuery(query=sql))).schema
    assert _field_md(got, "amount")["SCALE"] == "2"
    table = _prepared_query(client, res.prepared_statement_handle)
    assert table.schema.equals(schema, check_metadata=True)


# -- 4. 5. 6. type info, Handshake, views -----------------------------------------------------

def test_getTypeInfo_xdbc_one_row_per_type(client):
    table = read(client, client.get_flight_info(descriptor(pb.CommandGetXdbcTypeInfo())))
    names = table.column("type_name").to_pylist()
    assert len(names) == len(set(names)) and "DECIMAL" in names


def test_connect_with_basic_auth_handshake_replies(db):
    """A client that sends one HandshakeRequest and waits for the reply (as some npm clients
    do) gets a reply message, not only the end of the stream. Driven through grpcio: the
    server may end the stream before the request arrives, and pyarrow's own client then
    waits forever in its handshake's Finish with the reply unread (a client-side fault that
    hung this test with a pyarrow ClientAuthHandler)."""
    import grpc

    auth = Authenticator("kodiak", hash_password("s3cret", n=2**10))
    with running(db, auth=auth) as server, \
            grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        handshake = channel.stream_stream("/arrow.flight.protocol.FlightService/Handshake")
        basic = base64.b64encode(b"kodiak:s3cret").decode()
        request = b"\x12\x05hello"  # HandshakeRequest(payload=b"hello")
        replies = list(handshake(iter([request]), timeout=30,
                                 metadata=[("authorization", "Basic " + basic)]))
        assert len(replies) == 1  # a reply message came, not only the end of stream


def test_getTables_lists_views(client, name):
    update(client, f"CREATE TABLE {name} (a INT)")
    update(client, f"CREATE VIEW {name}_v AS SELECT a FROM {name}")
    d = descriptor(pb.CommandGetTables(table_name_filter_pattern=f"{name}%", include_schema=True))
    rows = read(client, client.get_flight_info(d)).to_pylist()
    kinds = {r["table_name"]: r["table_type"] for r in rows}
    assert kinds == {name: "TABLE", f"{name}_v": "VIEW"}
    view = next(r for r in rows if r["table_type"] == "VIEW")
    columns = pa.ipc.read_schema(pa.py_buffer(view["table_schema"]))
    assert columns.names == ["a"]
    assert _field_md(columns, "a")["TABLE_NAME"] == f"{name}_v"
    assert _field_md(columns, "a")["SCHEMA_NAME"] == "main"  # the key the JDBC driver reads
    update(client, f"DROP VIEW {name}_v")
    update(client, f"DROP TABLE {name}")


