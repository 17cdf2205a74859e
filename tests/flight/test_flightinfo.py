"""The hand-written FlightInfo (``server/flightinfo.py``) is byte for byte pyarrow's, and
the schema memo tells schemas apart by their metadata too."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.flight as flight
import pytest

from kodiak_flight.server.flightinfo import SchemaMemo, command_info
from kodiak_flight.server.results import result_schema

SCHEMAS = [
    pa.schema([]),
    pa.schema([("a", pa.int64()), ("b", pa.string())]),
    result_schema(pa.schema([pa.field("k", pa.int64(), False), ("d", pa.decimal128(15, 2)),
                             ("t", pa.timestamp("us")), ("s", pa.large_string())])),
]


@pytest.mark.parametrize("schema", SCHEMAS)
@pytest.mark.parametrize("total", [-1, 0, 1, 300_000, 1 << 40])
def test_command_info_is_pyarrows_flight_info(schema, total):
    command, ticket = b"\x0a\x05hello" * 30, b"\x01ticket\xff" * 3
    theirs = flight.FlightInfo(schema, flight.FlightDescriptor.for_command(command),
                               [flight.FlightEndpoint(flight.Ticket(ticket), [])], total, -1)
    mine = command_info(schema, command, ticket, total)
    assert mine.serialize() == theirs.serialize()
    assert mine.schema.equals(schema, check_metadata=True)
    assert mine.total_records == total and mine.total_bytes == -1
    assert mine.descriptor.command == command
    assert [e.ticket.ticket for e in mine.endpoints] == [ticket]


def test_schema_memo_keeps_apart_schemas_that_differ_in_metadata_only():
    made = []
    memo = SchemaMemo(lambda s: made.append(s) or len(made), size=2)
    plain = pa.schema([("a", pa.int64())])
    tagged = plain.with_metadata({"x": "1"})
    field_tagged = pa.schema([pa.field("a", pa.int64(), metadata={"y": "2"})])
    assert [memo(plain), memo(tagged), memo(plain), memo(field_tagged)] == [1, 2, 1, 3]
    assert memo(tagged) == 2
    assert memo(plain) == 4  # pushed out: the memo keeps the two made last
    assert memo(field_tagged) == 3


def test_result_schema_is_kept_and_annotated():
    s = pa.schema([("n", pa.int32())])
    a, b = result_schema(s), result_schema(pa.schema([("n", pa.int32())]))
    assert a is b
    assert a.field("n").metadata[b"ARROW:FLIGHT:SQL:TYPE_NAME"]
