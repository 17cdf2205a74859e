"""The gRPC status of a limit's refusal, as a raw gRPC client reads it, and its message as
ADBC shows it.

pyarrow's Flight server cannot send RESOURCE_EXHAUSTED (``test_no_exception_becomes_...``
pins that: when a pyarrow release can, it fails, and the refusals should switch to it), so
a limit on what runs at once is UNAVAILABLE (a client may retry) and a request too big for
its limit is INVALID_ARGUMENT; the message starts with "resource exhausted:" either way.
"""

from __future__ import annotations

import adbc_driver_flightsql.dbapi as flight_sql
import adbc_driver_manager
import grpc
import pyarrow as pa
import pyarrow.flight as flight
import pytest

from kodiak_flight.proto import FlightSql_pb2 as pb
from kodiak_flight.server.limits import Limits

from .conftest import running
from .helpers import pack

GET_FLIGHT_INFO = "/arrow.flight.protocol.FlightService/GetFlightInfo"


def flight_descriptor(command: bytes) -> bytes:
    """A FlightDescriptor message of type CMD (2) holding ``command``, encoded by hand."""
    return b"\x08\x02" + b"\x12" + _varint(len(command)) + command


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def raw_get_flight_info(channel: grpc.Channel, sql: str,
                        metadata: tuple = ()) -> grpc.RpcError | None:
    call = channel.unary_unary(GET_FLIGHT_INFO)
    try:
        call(flight_descriptor(pack(pb.CommandStatementQuery(query=sql))), metadata=metadata,
             timeout=30)
    except grpc.RpcError as e:
        return e
    return None


class _Raising(flight.FlightServerBase):
    """Raises the exception named by the descriptor's command."""

    CASES = {
        "MemoryError": lambda: MemoryError("m"),
        "ArrowMemoryError": lambda: pa.lib.ArrowMemoryError("m"),
        "ArrowCapacityError": lambda: pa.ArrowCapacityError("m"),
        "ArrowInvalid": lambda: pa.ArrowInvalid("m"),
        "FlightServerError": lambda: flight.FlightServerError("m"),
        "FlightServerError(extra_info)": lambda: flight.FlightServerError(
            "m", extra_info=b"\x08\x08"),  # a google.rpc.Status with code 8
        "FlightInternalError": lambda: flight.FlightInternalError("m"),
        "FlightUnavailableError": lambda: flight.FlightUnavailableError("m"),
        "FlightTimedOutError": lambda: flight.FlightTimedOutError("m"),
        "FlightCancelledError": lambda: flight.FlightCancelledError("m"),
        "FlightUnauthorizedError": lambda: flight.FlightUnauthorizedError("m"),
        "FlightWriteSizeExceededError": lambda: flight.FlightWriteSizeExceededError("m", 2, 1),
    }

    def get_flight_info(self, context, descriptor):  # noqa: ANN001, ANN201
        raise self.CASES[descriptor.command.decode()]()


def test_no_exception_becomes_resource_exhausted():
    server = _Raising("grpc://127.0.0.1:0")
    try:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as ch:
            codes = {}
            for case in _Raising.CASES:
                try:
                    ch.unary_unary(GET_FLIGHT_INFO)(flight_descriptor(case.encode()), timeout=30)
                except grpc.RpcError as e:
                    codes[case] = e.code()
    finally:
        server.shutdown()
    assert len(codes) == len(_Raising.CASES)
    assert grpc.StatusCode.RESOURCE_EXHAUSTED not in codes.values(), codes
    assert codes["FlightUnavailableError"] == grpc.StatusCode.UNAVAILABLE
    assert codes["ArrowInvalid"] == grpc.StatusCode.INVALID_ARGUMENT


def test_raw_grpc_codes_of_refusals(db):
    limits = Limits(max_statement_bytes=1000, max_sessions=1)
    with running(db, limits=limits) as srv, \
            grpc.insecure_channel(f"127.0.0.1:{srv.port}") as ch:
        assert raw_get_flight_info(ch, "select 1") is None  # opens the one session
        # too big: INVALID_ARGUMENT
        e = raw_get_flight_info(ch, "select " + "+".join(["1"] * 600))
        assert e is not None and e.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert e.details().startswith("resource exhausted: the statement is ")
        assert "(serve.max_statement_bytes)" in e.details()
        assert "Traceback" not in e.details()
        # another connection without the session cookie: a second session, past the limit
        # (a connection of its own: grpc shares connections between channels by default)
        with grpc.insecure_channel(f"127.0.0.1:{srv.port}",
                                   options=[("grpc.use_local_subchannel_pool", 1)]) as other:
            e = raw_get_flight_info(other, "select 1")
        assert e is not None and e.code() == grpc.StatusCode.UNAVAILABLE
        assert e.details().startswith("resource exhausted: the server has its maximum of 1 "
                                      "sessions open (serve.max_sessions)")


def test_adbc_shows_the_refusal_in_the_users_words(db):
    with running(db, limits=Limits(max_statement_bytes=1000)) as srv:
        with flight_sql.connect(f"grpc://127.0.0.1:{srv.port}") as conn, \
                conn.cursor() as cur:
            typed = "select " + "+".join(["1"] * 600)
            with pytest.raises(adbc_driver_manager.Error) as e:
                cur.execute(typed)
            text = str(e.value)
            assert "resource exhausted: the statement is" in text, text
            assert "over the limit of 1000 bytes (serve.max_statement_bytes)" in text, text
            assert "Traceback" not in text, text
            cur.execute("select 2 as x")
            assert cur.fetchall() == [(2,)]
