"""Cancelling a query: CancelFlightInfo, and Flight SQL's deprecated CancelQuery."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow.flight as flight

from ... import flightsql as fsql
from ... import status
from ...flightsql import core_pb, pb
from ...status import InvalidArgument, NotFound
from ..sessions import ClientSession
from .registry import action, unpack_request

if TYPE_CHECKING:
    from ..rpc import KodiakFlightServer


@action(fsql.CANCEL_FLIGHT_INFO, "Cancel a query whose results were not fully read")
def cancel_flight_info(server: KodiakFlightServer, context: flight.ServerCallContext,
                       client: ClientSession, body: bytes) -> list[bytes]:
    req = fsql.parse_raw(core_pb.CancelFlightInfoRequest, body, what="CancelFlightInfo")
    state = cancel(server, req.info)
    return [core_pb.CancelFlightInfoResult(status=state).SerializeToString()]


@action(fsql.CANCEL_QUERY, "Cancel a query (deprecated Flight SQL action)")
def cancel_query(server: KodiakFlightServer, context: flight.ServerCallContext,
                 client: ClientSession, body: bytes) -> list[bytes]:
    req = unpack_request(body, pb.ActionCancelQueryRequest,
                         "CancelQuery expects ActionCancelQueryRequest")
    state = cancel(server, req.info)
    return [fsql.pack(pb.ActionCancelQueryResult(result=state))]


def cancel(server: KodiakFlightServer, info_bytes: bytes) -> int:
    """Cancel the statement behind a serialized FlightInfo, waiting for its DoGet or
    streaming; returns a CancelStatus."""
    try:
        info = flight.FlightInfo.deserialize(bytes(info_bytes))
    except Exception:
        raise InvalidArgument("cancel: the request does not carry a valid FlightInfo",
                              "ProtocolError") from None
    found = False
    for endpoint in info.endpoints:
        handle = _statement_handle(endpoint.ticket.ticket)
        if handle is None:
            continue
        with server.state.lock:
            ex = server.state.executions.get(handle) or server.state.streaming.get(handle)
        if ex is not None:
            ex.interrupt.cancel()
            found = True
    if not found:
        raise NotFound("cancel: no pending query for that FlightInfo (already finished or "
                       "never started)", "UnknownQuery")
    return core_pb.CANCEL_STATUS_CANCELLED


def _statement_handle(ticket: bytes) -> bytes | None:
    """The statement handle of a Kodiak statement ticket (None for any other ticket)."""
    try:
        cmd = fsql.unpack(ticket, what="ticket")
    except status.ClientFacing:
        return None
    if not isinstance(cmd, pb.TicketStatementQuery):
        return None
    return bytes(cmd.statement_handle)
