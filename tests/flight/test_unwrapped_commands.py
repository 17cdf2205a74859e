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


# -- bare commands read when their bytes can be only one command ---------------------------

def _rows(client, info) -> list[dict]:
    return client.do_get(info.endpoints[0].ticket).read_all().to_pylist()


def test_bare_get_tables_with_include_schema_is_read(client, name):
    """include_schema (field 5, a bool) belongs to CommandGetTables alone."""
    packed = any_pb2.Any()
    packed.Pack(pb.CommandStatementQuery(query=f"CREATE TABLE {name} (a INT)"))
    info = client.get_flight_info(flight.FlightDescriptor.for_command(packed.SerializeToString()))
    client.do_get(info.endpoints[0].ticket).read_all()
    msg = pb.CommandGetTables(table_name_filter_pattern=name, include_schema=True)
    rows = _rows(client, client.get_flight_info(bare(msg)))
    assert [(r["table_name"], r["table_type"]) for r in rows] == [(name, "TABLE")]
    assert pa.ipc.read_schema(pa.py_buffer(rows[0]["table_schema"])).names == ["a"]
    assert client.get_schema(bare(msg)).schema.names[-1] == "table_schema"


@pytest.mark.parametrize(("msg", "names"), [
    (pb.CommandGetCatalogs(), ["CommandGetCatalogs", "CommandGetTableTypes", "CommandGetTables"]),
    (pb.CommandGetDbSchemas(catalog="kodiak"), ["CommandGetDbSchemas", "CommandGetTables",
                                                "CommandStatementQuery"]),
    (pb.CommandGetTables(catalog="kodiak", table_name_filter_pattern="t%"),
     ["CommandGetTables", "CommandGetPrimaryKeys", "CommandGetImportedKeys"]),
    (pb.CommandGetTableTypes(), ["CommandGetCatalogs", "CommandGetTableTypes"]),
], ids=["catalogs", "db_schemas", "tables", "table_types"])
def test_ambiguous_bare_command_is_refused_naming_the_readings(client, msg, names):
    """The same bytes encode several commands: refused, never guessed."""
    for call in (client.get_flight_info, client.get_schema):
        with pytest.raises(pa.ArrowInvalid, match="could be any of") as err:
            call(bare(msg))
        text = str(err.value)
        assert all(n in text for n in names), text
        assert "packed in google.protobuf.Any" in text
