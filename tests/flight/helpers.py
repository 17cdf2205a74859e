"""Small raw-Flight helpers for the protocol tests."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.flight as flight
from google.protobuf import any_pb2

from kodiak_flight.flightsql import pack
from kodiak_flight.proto import FlightSql_pb2 as pb


def descriptor(cmd: Any) -> flight.FlightDescriptor:
    return flight.FlightDescriptor.for_command(pack(cmd))


def query(client: flight.FlightClient, sql: str, **kw: Any) -> pa.Table:
    """GetFlightInfo(CommandStatementQuery) then DoGet of every endpoint."""
    info = client.get_flight_info(descriptor(pb.CommandStatementQuery(query=sql, **kw)))
    return read(client, info)


def read(client: flight.FlightClient, info: flight.FlightInfo) -> pa.Table:
    tables = [client.do_get(e.ticket).read_all() for e in info.endpoints]
    return pa.concat_tables(tables) if len(tables) > 1 else tables[0]


def put(client: flight.FlightClient, cmd: Any, data: pa.Table | None = None) -> bytes:
    """DoPut ``data`` (possibly nothing) under ``cmd``; the PutResult app_metadata."""
    schema = data.schema if data is not None else pa.schema([])
    writer, reader = client.do_put(descriptor(cmd), schema)
    if data is not None:
        writer.write_table(data)
    writer.done_writing()
    buf = reader.read()
    writer.close()
    return buf.to_pybytes() if buf is not None else b""


def update(client: flight.FlightClient, sql: str, **kw: Any) -> int:
    raw = put(client, pb.CommandStatementUpdate(query=sql, **kw))
    return pb.DoPutUpdateResult.FromString(raw).record_count


def action(client: flight.FlightClient, kind: str, body: bytes = b"") -> list[bytes]:
    return [r.body.to_pybytes() for r in client.do_action(flight.Action(kind, body))]


def unpack(data: bytes, cls: type) -> Any:
    wrapper = any_pb2.Any.FromString(data)
    msg = cls()
    assert wrapper.Unpack(msg), wrapper.type_url
    return msg


def prepare(client: flight.FlightClient, sql: str, transaction_id: bytes | None = None
            ) -> pb.ActionCreatePreparedStatementResult:
    req = pb.ActionCreatePreparedStatementRequest(query=sql)
    if transaction_id is not None:
        req.transaction_id = transaction_id
    (raw,) = action(client, "CreatePreparedStatement", pack(req))
    return unpack(raw, pb.ActionCreatePreparedStatementResult)


def begin(client: flight.FlightClient) -> bytes:
    (raw,) = action(client, "BeginTransaction", pack(pb.ActionBeginTransactionRequest()))
    return unpack(raw, pb.ActionBeginTransactionResult).transaction_id


def end(client: flight.FlightClient, txn: bytes, commit: bool) -> None:
    act = pb.ActionEndTransactionRequest
    action(client, "EndTransaction", pack(act(
        transaction_id=txn,
        action=act.END_TRANSACTION_COMMIT if commit else act.END_TRANSACTION_ROLLBACK)))


def count(client: flight.FlightClient, table: str) -> int:
    return query(client, f"SELECT count(*) AS n FROM {table}").column(0)[0].as_py()
