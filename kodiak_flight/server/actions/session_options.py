"""Session actions: SetSessionOptions, GetSessionOptions (catalog, schema), CloseSession."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import pyarrow.flight as flight

from ... import flightsql as fsql
from ...flightsql import core_pb
from ..sessions import ClientSession
from .registry import action

if TYPE_CHECKING:
    from ..rpc import KodiakFlightServer

log = logging.getLogger("kodiak.flight")

_ERRORS = core_pb.SetSessionOptionsResult


@action(fsql.SET_SESSION_OPTIONS, "Set session options: catalog, schema")
def set_session_options(server: KodiakFlightServer, context: flight.ServerCallContext,
                        client: ClientSession, body: bytes) -> list[bytes]:
    """Each option is set, or answered with an error of its own (the others still apply)."""
    req = fsql.parse_raw(core_pb.SetSessionOptionsRequest, body, what="SetSessionOptions")
    out = core_pb.SetSessionOptionsResult()
    for name, value in req.session_options.items():
        error = _set_option(server, client, name, value)
        if error is not None:
            out.errors[name].value = error
    return [out.SerializeToString()]


def _set_option(server: KodiakFlightServer, client: ClientSession, name: str,
                value: Any) -> int | None:
    """Set one option; returns its SetSessionOptionsResult error code, or None."""
    if name not in ("catalog", "schema"):
        return _ERRORS.INVALID_NAME
    kind = value.WhichOneof("option_value")
    if kind is None:  # unset: back to the default
        text = server.catalog if name == "catalog" else server.default_schema
    elif kind == "string_value":
        text = value.string_value
    else:
        return _ERRORS.INVALID_VALUE
    if name == "catalog":
        return None if text == server.catalog else _ERRORS.INVALID_VALUE
    if not _schema_exists(server, text):
        return _ERRORS.INVALID_VALUE
    with client.lock:
        client.sql.schema = text
    return None


def _schema_exists(server: KodiakFlightServer, name: str) -> bool:
    try:
        return name in server.db.snapshot().schemas()
    except Exception:
        log.exception("listing schemas failed")
        return False


@action(fsql.GET_SESSION_OPTIONS, "Get session options")
def get_session_options(server: KodiakFlightServer, context: flight.ServerCallContext,
                        client: ClientSession, body: bytes) -> list[bytes]:
    out = core_pb.GetSessionOptionsResult()
    out.session_options["catalog"].string_value = client.catalog
    out.session_options["schema"].string_value = client.schema
    return [out.SerializeToString()]


@action(fsql.CLOSE_SESSION, "Close the session")
def close_session(server: KodiakFlightServer, context: flight.ServerCallContext,
                  client: ClientSession, body: bytes) -> list[bytes]:
    """Roll back the caller's transactions and forget its session; the next call starts
    a new one."""
    server.state.close_session(client)
    return [core_pb.CloseSessionResult(
        status=core_pb.CloseSessionResult.CLOSED).SerializeToString()]
