"""Flight SQL commands by RPC: which handler answers which command message.

Each RPC that takes a command (GetFlightInfo, GetSchema, DoGet, DoPut) has a table from the
command's protobuf class to its handler; a command missing from an RPC's table is refused with
a hint at the RPC it belongs to (:func:`wrong_rpc`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.flight as flight

from .. import flightsql as fsql
from .. import metadata
from ..barecommands import read_bare
from ..flightsql import pb
from ..status import InvalidArgument, Unimplemented
from .ingest import ingest
from .params import check_param_count, params
from .results import (
    IPC_OPTIONS,
    answered,
    register_execution,
    result_schema,
    statement_info,
    stream,
)
from .sessions import ClientSession
from .statements import (
    CALL,
    check_finished,
    drain_rowcount,
    new_interrupt,
    prepare,
    prepared_statement,
    released_on_error,
    run_prepared,
    run_sql,
    target,
    transaction_id,
)

if TYPE_CHECKING:
    from .rpc import KodiakFlightServer


def command(descriptor: flight.FlightDescriptor, rpc: str) -> Any:
    """The Flight SQL command a descriptor carries: packed in Any, or bare when its bytes can
    be only one of the commands ``rpc`` takes (``barecommands``)."""
    if descriptor.descriptor_type != flight.DescriptorType.CMD:
        raise InvalidArgument("Kodiak serves Flight SQL: the descriptor must be a command "
                              "(path descriptors are not supported)", "ProtocolError")
    data = bytes(descriptor.command)
    try:
        return fsql.unpack(data, what="command")
    except InvalidArgument:
        found = read_bare(data, rpc)
        if found is None:
            raise
        return found


def wrong_rpc(cmd: Any, rpc: str) -> Exception:
    """The error for a command sent with an RPC that does not take it."""
    name = type(cmd).__name__
    if isinstance(cmd, pb.CommandStatementSubstraitPlan):
        return Unimplemented("Substrait plans are not supported; send SQL", "Unsupported")
    hint = ""
    if isinstance(cmd, pb.CommandStatementUpdate | pb.CommandPreparedStatementUpdate
                  | pb.CommandStatementIngest):
        hint = " (send it with DoPut)"
    elif isinstance(cmd, pb.TicketStatementQuery):
        hint = " (it is a ticket: send it with DoGet)"
    return InvalidArgument(f"{name} cannot be used with {rpc}{hint}", "ProtocolError")


# -- GetFlightInfo: run a statement, or describe a metadata result -----------------------------

def _statement_query_info(server: KodiakFlightServer, client: ClientSession,
                          descriptor: flight.FlightDescriptor,
                          cmd: pb.CommandStatementQuery) -> flight.FlightInfo:
    interrupt = new_interrupt(server, client)
    with released_on_error(interrupt):
        result = run_sql(server, client, cmd.query, transaction_id(cmd), update=False,
                         interrupt=interrupt)
        return statement_info(descriptor, register_execution(server, result, interrupt))


def _prepared_query_info(server: KodiakFlightServer, client: ClientSession,
                         descriptor: flight.FlightDescriptor,
                         cmd: pb.CommandPreparedStatementQuery) -> flight.FlightInfo:
    interrupt = new_interrupt(server, client)
    with released_on_error(interrupt):
        ps = prepared_statement(server, cmd.prepared_statement_handle, client)
        with ps.lock:
            done, ps.just_updated = ps.just_updated, None
        if done is not None:  # DoPut has just run it: the same outcome, not a second run
            interrupt.release()
            return statement_info(descriptor, answered(server, done))
        result = run_prepared(server, ps, ps.params, interrupt=interrupt)
        return statement_info(descriptor, register_execution(server, result, interrupt))


def _metadata_info(server: KodiakFlightServer, client: ClientSession,
                   descriptor: flight.FlightDescriptor, cmd: Any) -> flight.FlightInfo:
    ticket = flight.Ticket(fsql.pack(cmd))
    return flight.FlightInfo(metadata.result_schema(cmd), descriptor,
                             [flight.FlightEndpoint(ticket, [])], -1, -1)


FlightInfoHandler = Callable[["KodiakFlightServer", ClientSession, flight.FlightDescriptor, Any],
                             flight.FlightInfo]

FLIGHT_INFO: dict[type, FlightInfoHandler] = {
    pb.CommandStatementQuery: _statement_query_info,
    pb.CommandPreparedStatementQuery: _prepared_query_info,
    **dict.fromkeys(fsql.METADATA_COMMANDS, _metadata_info),
}


# -- GetSchema: prepare only, never run ------------------------------------------------------

def _statement_query_schema(server: KodiakFlightServer, client: ClientSession,
                            cmd: pb.CommandStatementQuery) -> flight.SchemaResult:
    sql, lock, _ = target(server, client, transaction_id(cmd))
    with lock:
        prepared = prepare(server, sql, cmd.query)
    return flight.SchemaResult(result_schema(prepared.dataset_schema))


def _prepared_query_schema(server: KodiakFlightServer, client: ClientSession,
                           cmd: pb.CommandPreparedStatementQuery) -> flight.SchemaResult:
    ps = prepared_statement(server, cmd.prepared_statement_handle, client)
    return flight.SchemaResult(result_schema(ps.prepared.dataset_schema))


def _metadata_schema(server: KodiakFlightServer, client: ClientSession,
                     cmd: Any) -> flight.SchemaResult:
    return flight.SchemaResult(metadata.result_schema(cmd))


SchemaHandler = Callable[["KodiakFlightServer", ClientSession, Any], flight.SchemaResult]

SCHEMA: dict[type, SchemaHandler] = {
    pb.CommandStatementQuery: _statement_query_schema,
    pb.CommandPreparedStatementQuery: _prepared_query_schema,
    **dict.fromkeys(fsql.METADATA_COMMANDS, _metadata_schema),
}


# -- DoGet: stream a statement's outcome, or a metadata table --------------------------------

def _statement_stream(server: KodiakFlightServer, context: flight.ServerCallContext,
                      cmd: pb.TicketStatementQuery) -> flight.FlightDataStream:
    return stream(server, server.state.take_execution(cmd.statement_handle))


def _metadata_stream(server: KodiakFlightServer, context: flight.ServerCallContext,
                     cmd: Any) -> flight.FlightDataStream:
    client = server.client(context)  # also keeps the caller's session alive
    table = METADATA[type(cmd)](server, client, cmd)
    return flight.RecordBatchStream(table, options=IPC_OPTIONS)


DoGetHandler = Callable[["KodiakFlightServer", flight.ServerCallContext, Any],
                        flight.FlightDataStream]

DO_GET: dict[type, DoGetHandler] = {
    pb.TicketStatementQuery: _statement_stream,
    **dict.fromkeys(fsql.METADATA_COMMANDS, _metadata_stream),
}

MetadataHandler = Callable[["KodiakFlightServer", ClientSession, Any], pa.Table]


def _tables(server: KodiakFlightServer, client: ClientSession, cmd: Any) -> pa.Table:
    """GetTables through the caller's SQL session: its resolver lists the relations and
    binds a view to describe its columns."""
    with client.lock:
        sql = client.sql
        return metadata.tables(sql.resolver(), sql.relation_schema, server.catalog, cmd)


def _db_schemas(server: KodiakFlightServer, client: ClientSession, cmd: Any) -> pa.Table:
    with client.lock:
        return metadata.db_schemas(client.sql.resolver(), server.catalog, cmd)


def _primary_keys(server: KodiakFlightServer, client: ClientSession, cmd: Any) -> pa.Table:
    with client.lock:
        return metadata.primary_keys(client.sql.resolver(), server.catalog, cmd)


METADATA: dict[type, MetadataHandler] = {
    pb.CommandGetSqlInfo: lambda server, _, cmd: metadata.sql_info(server.sql_info, cmd.info),
    pb.CommandGetXdbcTypeInfo: lambda server, _, cmd: metadata.xdbc_type_info(cmd),
    pb.CommandGetCatalogs: lambda server, _, cmd: metadata.catalogs(server.catalog),
    pb.CommandGetTableTypes: lambda server, _, cmd: metadata.table_types(),
    **dict.fromkeys((pb.CommandGetExportedKeys, pb.CommandGetImportedKeys,
                     pb.CommandGetCrossReference),
                    lambda server, _, cmd: metadata.foreign_keys()),
    pb.CommandGetDbSchemas: _db_schemas,
    pb.CommandGetTables: _tables,
    pb.CommandGetPrimaryKeys: _primary_keys,
}


# -- DoPut: updates, parameter binds, bulk ingest --------------------------------------------

def _statement_update(server: KodiakFlightServer, client: ClientSession,
                      cmd: pb.CommandStatementUpdate, reader: flight.MetadataRecordBatchReader,
                      writer: flight.FlightMetadataWriter) -> None:
    result = run_sql(server, client, cmd.query, transaction_id(cmd), update=True)
    writer.write(fsql.update_result(drain_rowcount(result)))


def _bind_parameters(server: KodiakFlightServer, client: ClientSession,
                     cmd: pb.CommandPreparedStatementQuery,
                     reader: flight.MetadataRecordBatchReader,
                     writer: flight.FlightMetadataWriter) -> None:
    """Keep the parameter batch for the statement's next GetFlightInfo."""
    ps = prepared_statement(server, cmd.prepared_statement_handle, client)
    bound = params(reader.read_all())
    check_param_count(ps.prepared, bound)
    with ps.lock:
        ps.params, ps.just_updated = bound, None
    writer.write(fsql.prepared_put_result(ps.handle))


def _prepared_update(server: KodiakFlightServer, client: ClientSession,
                     cmd: pb.CommandPreparedStatementUpdate,
                     reader: flight.MetadataRecordBatchReader,
                     writer: flight.FlightMetadataWriter) -> None:
    ps = prepared_statement(server, cmd.prepared_statement_handle, client)
    bound = params(reader.read_all())
    # an executemany the client gave up must not run on the rows that reached us
    check_finished(CALL.get(), "the client cancelled the parameter upload before it "
                               "ended; the statement was not run")
    check_param_count(ps.prepared, bound)
    result = run_prepared(server, ps, bound if bound is not None else ps.params, update=True)
    count = drain_rowcount(result)
    if not ps.prepared.dataset_schema:  # no result set a client could come back for
        with ps.lock:
            ps.just_updated = count
    writer.write(fsql.update_result(count))


def _ingest(server: KodiakFlightServer, client: ClientSession,
            cmd: pb.CommandStatementIngest, reader: flight.MetadataRecordBatchReader,
            writer: flight.FlightMetadataWriter) -> None:
    writer.write(fsql.update_result(ingest(server, client, cmd, reader)))


def _substrait(server: KodiakFlightServer, client: ClientSession, cmd: Any,
               reader: flight.MetadataRecordBatchReader,
               writer: flight.FlightMetadataWriter) -> None:
    raise Unimplemented("Substrait plans are not supported; send SQL", "Unsupported")


DoPutHandler = Callable[["KodiakFlightServer", ClientSession, Any,
                         flight.MetadataRecordBatchReader, flight.FlightMetadataWriter], None]

DO_PUT: dict[type, DoPutHandler] = {
    pb.CommandStatementUpdate: _statement_update,
    pb.CommandPreparedStatementQuery: _bind_parameters,
    pb.CommandPreparedStatementUpdate: _prepared_update,
    pb.CommandStatementIngest: _ingest,
    pb.CommandStatementSubstraitPlan: _substrait,
}


def not_for_do_put(cmd: Any) -> Exception:
    """The error for a command DoPut does not take."""
    return InvalidArgument(f"{type(cmd).__name__} cannot be used with DoPut", "ProtocolError")
