"""A Flight SQL message sent bare instead of packed in google.protobuf.Any (as one npm client
does for GetSchema and the metadata calls) is refused saying so, not as an unknown type named
after the SQL text."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.flight as flight
import pytest
from google.protobuf import any_pb2

from kodiak_flight.proto import FlightSql_pb2 as pb


def bare(msg) -> flight.FlightDescriptor:
    return flight.FlightDescriptor.for_command(msg.SerializeToString())


@pytest.mark.parametrize("msg", [pb.CommandStatementQuery(query="SELECT 1"),
                                 pb.CommandGetPrimaryKeys(table="t")],
                         ids=["statement", "primary_keys"])
def test_bare_command_is_refused_saying_so(client, msg):
    with pytest.raises(pa.ArrowInvalid, match="must be sent packed in google.protobuf.Any"):
        client.get_flight_info(bare(msg))
    with pytest.raises(pa.ArrowInvalid, match="must be sent packed in google.protobuf.Any"):
        client.get_schema(bare(msg))


def test_other_type_url_is_still_unknown(client):
    wrapper = any_pb2.Any(type_url="type.googleapis.com/acme.Query", value=b"")
    with pytest.raises(pa.ArrowInvalid, match="unknown command type") as err:
        client.get_flight_info(flight.FlightDescriptor.for_command(wrapper.SerializeToString()))
    assert "packed in" not in str(err.value)


def test_packed_command_still_works(client):
    wrapper = any_pb2.Any()
    wrapper.Pack(pb.CommandStatementQuery(query="SELECT 1 AS x"))
    info = client.get_flight_info(flight.FlightDescriptor.for_command(
        wrapper.SerializeToString()))
    assert client.do_get(info.endpoints[0].ticket).read_all().to_pylist() == [{"x": 1}]
