"""Prepared-statement actions: CreatePreparedStatement, ClosePreparedStatement."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow.flight as flight

from ... import flightsql as fsql
from ...flightsql import pb
from ...status import Unimplemented
from ..flightinfo import schema_bytes
from ..results import result_schema
from ..sessions import ClientSession, PreparedStatement, make_handle
from ..statements import prepare, target, transaction_id
from .registry import action, unpack_request

if TYPE_CHECKING:
    from ..rpc import KodiakFlightServer


@action(fsql.CREATE_PREPARED_STATEMENT, "Prepare a SQL statement")
def create_prepared_statement(server: KodiakFlightServer, context: flight.ServerCallContext,
                              client: ClientSession, body: bytes) -> list[bytes]:
    """Parse and bind (never run); the handle carries the SQL text."""
    req = unpack_request(body, pb.ActionCreatePreparedStatementRequest,
                         "CreatePreparedStatement expects ActionCreatePreparedStatementRequest, "
                         "got {got}")
    txn_id = transaction_id(req)
    sql, lock, _ = target(server, client, txn_id)
    with lock:
        prepared = prepare(server, sql, req.query)
    handle = make_handle(req.query)
    ps = PreparedStatement(handle, req.query, prepared, sql, lock, client.id, txn_id)
    state = server.state
    with state.lock:
        state.prepared[handle] = ps
        client.prepared.add(handle)
    return [fsql.pack(pb.ActionCreatePreparedStatementResult(
        prepared_statement_handle=handle,
        dataset_schema=schema_bytes(result_schema(prepared.dataset_schema)),
        parameter_schema=schema_bytes(prepared.parameter_schema),
        is_update=bool(prepared.is_update),
    ))]


@action(fsql.CLOSE_PREPARED_STATEMENT, "Close a prepared statement")
def close_prepared_statement(server: KodiakFlightServer, context: flight.ServerCallContext,
                             client: ClientSession, body: bytes) -> list[bytes]:
    req = unpack_request(body, pb.ActionClosePreparedStatementRequest,
                         "ClosePreparedStatement expects ActionClosePreparedStatementRequest")
    state = server.state
    with state.lock:
        ps = state.prepared.pop(bytes(req.prepared_statement_handle), None)
        owner = state.sessions.get(ps.owner) if ps else None
        if owner is not None:
            owner.prepared.discard(ps.handle)
    return []


@action(fsql.CREATE_PREPARED_SUBSTRAIT_PLAN, hidden=True)
def create_prepared_substrait_plan(server: KodiakFlightServer,
                                   context: flight.ServerCallContext, client: ClientSession,
                                   body: bytes) -> list[bytes]:
    raise Unimplemented("Substrait plans are not supported; send SQL", "Unsupported")
