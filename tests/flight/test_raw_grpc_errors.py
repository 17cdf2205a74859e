"""What a raw gRPC client (grpc-js under the npm clients, grpcio here) reads of an error.

pyarrow's Flight server cannot send a status without a "detail" when the handler is Python:
an Arrow error raised in Python becomes a status whose detail is the Python exception, and
Arrow's gRPC transport appends ``". Detail: " + detail`` to the gRPC status message (a
FlightError subclass gets ``". Detail: Failed"`` and loses the status code instead). Kodiak
makes that detail the error's kind, never a traceback; the message alone travels in the
``x-arrow-status-message-bin`` trailer. These tests pin both, so a pyarrow that changes either
is noticed (and docs/clients.md updated).
"""

from __future__ import annotations

import grpc
import pyarrow.flight as flight
import pytest

from kodiak_flight.flightsql import pack
from kodiak_flight.proto import FlightSql_pb2 as pb

SUFFIX = ". Detail: Python exception: "


@pytest.fixture
def get_flight_info(server):
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    call = channel.unary_unary("/arrow.flight.protocol.FlightService/GetFlightInfo",
                               request_serializer=lambda b: b,
                               response_deserializer=lambda b: b)
    yield lambda sql: call(flight.FlightDescriptor.for_command(
        pack(pb.CommandStatementQuery(query=sql))).serialize(), timeout=30)
    channel.close()


def _error(call, sql: str) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as err:
        call(sql)
    return err.value


@pytest.mark.parametrize(("sql", "code", "kind", "says"), [
    ("SELEC 1", grpc.StatusCode.INVALID_ARGUMENT, "ParseError", "syntax error"),
    ("SELECT * FROM no_such_table", grpc.StatusCode.INVALID_ARGUMENT, None,
     "no_such_table"),
], ids=["parse", "missing_table"])
def test_status_message_is_the_message_and_the_kind_never_a_traceback(get_flight_info, sql,
                                                                      code, kind, says):
    e = _error(get_flight_info, sql)
    assert e.code() == code
    details = e.details()
    message, sep, detail = details.partition(SUFFIX)
    assert sep == SUFFIX, details  # pyarrow's suffix: unavoidable from a Python server
    assert says in message
    assert "Traceback" not in details and "File " not in details and "\n" not in details
    assert detail.isidentifier() and (kind is None or detail == kind)
    trailers = dict(e.trailing_metadata())
    assert trailers["x-arrow-status-message-bin"].decode() == message
