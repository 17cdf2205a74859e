"""Kodiak's Arrow Flight SQL server.

:class:`KodiakFlightServer` is a ``pyarrow.flight.FlightServerBase`` that decodes Flight SQL
commands (``kodiak_flight.flightsql``), runs them through the SQL layer's ``Session`` and the
engine, and answers with Arrow streams. See ``docs/flight.md`` for what is served, the session
model, authentication and TLS.

State kept by the server, all in memory (``sessions``):

* client sessions (one SQL ``Session`` in autocommit mode each, plus the current catalog and
  schema), found by the ``arrow_flight_session_id`` cookie, else the bearer token's session id,
  else the gRPC peer address;
* prepared statements, by random handle;
* transactions, by random id, each with its own SQL ``Session`` holding the open transaction;
* executions: a statement that was run by GetFlightInfo, waiting for the DoGet of its ticket.

Modules: ``rpc`` (the server and its RPCs), ``middleware`` (authentication, session cookie),
``sessions`` (the state above), ``statements`` (running SQL), ``results`` (executions and
their streams), ``params`` (bound parameters), ``commands`` (Flight SQL commands by RPC),
``ingest`` (bulk ingest), ``actions`` (DoAction handlers by name).
"""

from .rpc import KodiakFlightServer, serve
from .statements import MAX_SQL_NESTING

__all__ = ["MAX_SQL_NESTING", "KodiakFlightServer", "serve"]
