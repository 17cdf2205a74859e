"""Talk Flight SQL with nothing but pyarrow.flight and the Flight SQL protobuf messages.

A Flight SQL request is a protobuf message packed into a google.protobuf.Any and sent as a
FlightDescriptor command. Kodiak ships the compiled messages in kodiak_flight.proto.

    python examples/raw_flight.py [--uri grpc://127.0.0.1:31337]
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.flight as flight
from _server import kodiak_server, parse_args
from google.protobuf import any_pb2

from kodiak_flight.proto import FlightSql_pb2 as sql_pb


def command(message) -> flight.FlightDescriptor:  # noqa: ANN001
    packed = any_pb2.Any()
    packed.Pack(message)
    return flight.FlightDescriptor.for_command(packed.SerializeToString())


def query(client: flight.FlightClient, sql: str) -> pa.Table:
    """GetFlightInfo runs the query; DoGet of each endpoint's ticket streams the result."""
    info = client.get_flight_info(command(sql_pb.CommandStatementQuery(query=sql)))
    return pa.concat_tables(client.do_get(ep.ticket).read_all() for ep in info.endpoints)


def update(client: flight.FlightClient, sql: str) -> int:
    """A statement with side effects is a DoPut; the answer carries the row count."""
    writer, reader = client.do_put(command(sql_pb.CommandStatementUpdate(query=sql)),
                                   pa.schema([]))
    writer.done_writing()
    result = sql_pb.DoPutUpdateResult.FromString(reader.read().to_pybytes())
    writer.close()
    return result.record_count


def main() -> None:
    args = parse_args(__doc__)
    with kodiak_server(args.uri) as uri:
        client = flight.connect(uri)
        update(client, "DROP TABLE IF EXISTS raw_t")
        update(client, "CREATE TABLE raw_t (id INT PRIMARY KEY, word VARCHAR)")
        n = update(client, "INSERT INTO raw_t VALUES (1, 'arrow'), (2, 'flight'), (3, 'sql')")
        print(f"inserted {n} rows")
        table = query(client, "SELECT word FROM raw_t WHERE id >= 2 ORDER BY id")
        print(table)
        assert table.column("word").to_pylist() == ["flight", "sql"]
        tables = query(client, "SELECT 1 AS one")  # any SQL, same two calls
        assert tables.to_pydict() == {"one": [1]}
        # Catalog metadata is a Flight SQL command too.
        info = client.get_flight_info(command(sql_pb.CommandGetTables()))
        names = client.do_get(info.endpoints[0].ticket).read_all().column("table_name")
        print("tables:", names.to_pylist())
        assert "raw_t" in names.to_pylist()
        client.close()


if __name__ == "__main__":
    main()
