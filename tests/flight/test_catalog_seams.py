"""Regressions of the architecture issue, seen from outside: Flight ingest, metadata and the
CLI resolve names through the same catalog as SQL, and name types as the SQL layer does."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.flight as flight
import pytest

from kodiak_flight.proto import FlightSql_pb2 as pb
from kodiak_flight.sql.types import sql_name

from ..cli.conftest import kodiak
from .helpers import descriptor, query, read, update


def _metadata(client: flight.FlightClient, cmd) -> pa.Table:
    return read(client, client.get_flight_info(descriptor(cmd)))


def test_adbc_ingest_cannot_shadow_a_view(conn, client, name):
    update(client, f"create view {name} as select 42 as answer")
    data = pa.table({"a": [1, 2]})
    for mode in ("create", "create_append", "replace", "append"):
        with conn.cursor() as cur, pytest.raises(Exception, match="is a view"):
            cur.adbc_ingest(name, data, mode=mode)
    assert query(client, f"select * from {name}").to_pylist() == [{"answer": 42}]


def test_dropped_schema_is_gone_for_metadata_and_ingest(conn, client, name):
    update(client, f"create schema s_{name}")
    update(client, f"drop schema s_{name}")
    schemas = _metadata(client, pb.CommandGetDbSchemas()).column("db_schema_name").to_pylist()
    assert f"s_{name}" not in schemas
    with conn.cursor() as cur, pytest.raises(Exception, match="does not exist"):
        cur.adbc_ingest(name, pa.table({"a": [1]}), mode="create", db_schema_name=f"s_{name}")


def test_get_tables_lists_views_and_no_internal_tables(client, name):
    update(client, f"create table {name} (a bigint, d decimal(12,2))")
    update(client, f"create view {name}_v as select a, d from {name}")
    got = _metadata(client, pb.CommandGetTables(include_schema=True))
    kinds = {(r["db_schema_name"], r["table_name"]): r["table_type"] for r in got.to_pylist()}
    assert kinds[("main", name)] == "TABLE"
    assert kinds[("main", f"{name}_v")] == "VIEW"
    assert kinds[("information_schema", "tables")] == "SYSTEM TABLE"
    assert not any(s in ("kodiak_catalog", "kodiak_temp") for s, _ in kinds)
    row = next(r for r in got.to_pylist() if r["table_name"] == f"{name}_v")
    schema = pa.ipc.read_schema(pa.py_buffer(row["table_schema"]))
    assert schema.names == ["a", "d"]
    assert schema.field("d").metadata[b"ARROW:FLIGHT:SQL:PRECISION"] == b"12"
    only_views = _metadata(client, pb.CommandGetTables(table_types=["VIEW"]))
    assert set(only_views.column("table_type").to_pylist()) == {"VIEW"}
    types = _metadata(client, pb.CommandGetTableTypes()).column("table_type").to_pylist()
    assert types[:2] == ["TABLE", "VIEW"]


def test_internal_state_cannot_be_changed_over_flight(client):
    for sql in ("update kodiak_catalog.views set sql = 'x'", "drop table kodiak_catalog.views",
                "delete from information_schema.tables", "drop schema information_schema"):
        with pytest.raises((flight.FlightError, pa.ArrowException)):
            update(client, sql)
    assert query(client, "select count(*) as n from information_schema.schemata"
                 ).column(0)[0].as_py() >= 2


def test_type_names_agree_across_surfaces(conn, client, uri, name):
    """One table of type names: Flight metadata, the CLI's columns and SQL agree."""
    data = pa.table({"u": pa.array([1], pa.uint8()), "l": pa.array([[1, 2]], pa.list_(pa.int32())),
                     "ts": pa.array([0], pa.timestamp("ms"))})
    with conn.cursor() as cur:
        cur.adbc_ingest(name, data, mode="create")
    got = _metadata(client, pb.CommandGetTables(table_name_filter_pattern=name,
                                                include_schema=True))
    schema = pa.ipc.read_schema(pa.py_buffer(got.column("table_schema")[0].as_py()))
    flight_names = [f.metadata[b"ARROW:FLIGHT:SQL:TYPE_NAME"].decode() for f in schema]
    assert flight_names == ["UTINYINT", "INTEGER[]", "TIMESTAMP_MS"]
    assert flight_names == [sql_name(f.type) for f in data.schema]
    r = kodiak("shell", "--uri", uri, input=f".schema {name}\n")
    assert "u UTINYINT" in r.stdout and "l INTEGER[]" in r.stdout, r.stdout + r.stderr
    cols = query(client, "select column_name, data_type from information_schema.columns "
                 f"where table_name = '{name}' order by ordinal_position").to_pylist()
    assert [c["data_type"] for c in cols] == flight_names


def test_cli_import_cannot_shadow_a_view(uri, client, name, tmp_path):
    update(client, f"create view {name} as select 1 as one")
    path = tmp_path / "x.csv"
    path.write_text("a\n1\n")
    r = kodiak("import", str(path), name, "--uri", uri)
    assert r.code == 1 and "is a view" in r.stderr
    assert query(client, f"select * from {name}").to_pylist() == [{"one": 1}]
