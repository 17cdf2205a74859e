"""A statement's FlightInfo built from its wire form, with the result schema serialised once.

``pyarrow.flight.FlightInfo(schema, ...)`` serialises the schema on every call: with the
Flight SQL column metadata on every column that is ~70 µs for a ten-column result, more than
a point lookup's whole query. A prepared statement answers with the same schema each time,
so the schema's IPC bytes are kept, and the FlightInfo message (Flight.proto: schema = 1,
flight_descriptor = 2, endpoint = 3, total_records = 4, total_bytes = 5) is written by hand
around them and read back with ``FlightInfo.deserialize`` (~4 µs).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

import pyarrow as pa
import pyarrow.flight as flight

from .. import flightsql as fsql
from ..flightsql import pb

_CMD = 2  # FlightDescriptor.DescriptorType.CMD
V = TypeVar("V")


class SchemaMemo(Generic[V]):
    """What ``make`` gives for a schema, for the last few schemas seen. Hashing a pyarrow
    schema costs 20-50 µs (more than what is kept), comparing two ~0.1 µs: so a short list
    searched by ``equals`` (metadata included), most recent first."""

    def __init__(self, make: Callable[[pa.Schema], V], size: int = 32) -> None:
        self.make = make
        self.size = size
        self.entries: list[tuple[pa.Schema, V]] = []

    def __call__(self, schema: pa.Schema) -> V:
        entries = self.entries  # replaced, never changed in place: no lock needed
        for known, value in entries:
            if known.equals(schema, check_metadata=True):
                return value
        value = self.make(schema)
        self.entries = [(schema, value), *entries[:self.size - 1]]
        return value


# The IPC-encapsulated schema message a FlightInfo carries.
schema_bytes: SchemaMemo[bytes] = SchemaMemo(lambda s: s.serialize().to_pybytes())


def command_info(schema: pa.Schema, command: bytes, ticket: bytes,
                 total_records: int) -> flight.FlightInfo:
    """FlightInfo for a command descriptor with one endpoint (``ticket``, no locations)."""
    descriptor = _CMD_DESCRIPTOR + _bytes_field(2, command)
    endpoint = _bytes_field(1, _bytes_field(1, ticket))
    message = b"".join((_bytes_field(1, schema_bytes(schema)), _bytes_field(2, descriptor),
                        _bytes_field(3, endpoint), _varint_field(4, total_records),
                        _NO_TOTAL_BYTES))
    return flight.FlightInfo.deserialize(message)


def _varint(n: int) -> bytes:
    if 0 <= n < 0x80:
        return _SMALL[n]
    n &= (1 << 64) - 1  # int64 two's complement, as protobuf writes negative numbers
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


_SMALL = [bytes((i,)) for i in range(0x80)]  # one-byte varints, made once


def _varint_field(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def _bytes_field(number: int, value: bytes) -> bytes:
    return b"".join((_varint(number << 3 | 2), _varint(len(value)), value))


def statement_ticket(handle: bytes) -> bytes:
    """``TicketStatementQuery(statement_handle=handle)`` packed in ``Any``, as
    ``flightsql.pack`` writes it (a third of the cost: the type URL is written once)."""
    return _TICKET_URL + _bytes_field(2, _bytes_field(1, handle))


_TICKET_URL = _bytes_field(1, (fsql.TYPE_URL_PREFIX.rstrip("/") + "/"
                               + pb.TicketStatementQuery.DESCRIPTOR.full_name).encode())
_CMD_DESCRIPTOR = _varint_field(1, _CMD)  # FlightDescriptor.type = CMD
_NO_TOTAL_BYTES = _varint_field(5, -1)
