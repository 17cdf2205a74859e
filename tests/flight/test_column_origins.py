"""Result columns read unchanged from a table carry the Flight SQL metadata naming it
(ARROW:FLIGHT:SQL:CATALOG_NAME, SCHEMA_NAME / DB_SCHEMA_NAME, TABLE_NAME): on GetFlightInfo's
schema, on the DoGet stream, on a prepared statement's dataset schema and on GetSchema.
Computed columns name no table."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.flight as flight
import pytest

from kodiak_flight.proto import FlightSql_pb2 as pb

from .conftest import running
from .helpers import descriptor, prepare, update

WHERE = ("CATALOG_NAME", "SCHEMA_NAME", "DB_SCHEMA_NAME", "TABLE_NAME")


def where(schema: pa.Schema) -> list[tuple[str, ...] | None]:
    """Per column: its (catalog, schema, db schema, table), or None when it names none."""
    out = []
    for f in schema:
        md = {k.decode().removeprefix("ARROW:FLIGHT:SQL:"): v.decode()
              for k, v in (f.metadata or {}).items()}
        assert not any(k.startswith("kodiak:") for k in md), md  # the SQL layer's keys
        assert "TYPE_NAME" in md and "IS_NULLABLE" in md
        out.append(tuple(md[k] for k in WHERE) if "TABLE_NAME" in md else None)
    return out


@pytest.fixture
def tables(client, name):
    update(client, f"CREATE TABLE {name} (id INT, amount DECIMAL(12,2), note VARCHAR)")
    update(client, f"CREATE TABLE {name}_b (id INT, tag VARCHAR)")
    update(client, f"INSERT INTO {name} VALUES (1, 12.50, 'a'), (2, 3.25, NULL)")
    update(client, f"INSERT INTO {name}_b VALUES (1, 'x')")
    update(client, f"CREATE VIEW {name}_v AS SELECT id AS ident, note FROM {name}")
    yield name
    update(client, f"DROP VIEW {name}_v")
    update(client, f"DROP TABLE {name}_b")
    update(client, f"DROP TABLE {name}")


def T(table: str) -> tuple[str, ...]:
    return ("kodiak", "main", "main", table)


CASES = [
    ("SELECT id, amount, note FROM {t}", ["{t}", "{t}", "{t}"]),
    ("SELECT id AS k, amount * 2 AS twice, 1 AS one, upper(note) FROM {t}",
     ["{t}", None, None, None]),
    ("SELECT s.k FROM (SELECT id AS k FROM {t} WHERE id > 0) s ORDER BY s.k", ["{t}"]),
    ("SELECT a.note, b.tag FROM {t} a JOIN {t}_b b ON a.id = b.id", ["{t}", "{t}_b"]),
    ("SELECT note, count(*) AS n FROM {t} GROUP BY note", ["{t}", None]),
    ("SELECT * FROM {t}_v", ["{t}", "{t}"]),
    ("WITH c AS (SELECT id FROM {t}) SELECT x.id, y.id FROM c x, c y", ["{t}", "{t}"]),
    ("SELECT id FROM {t} UNION ALL SELECT id FROM {t}", ["{t}"]),
    ("SELECT id FROM {t} UNION ALL SELECT id FROM {t}_b", [None]),
    ("SELECT id FROM {t} UNION ALL SELECT 7", [None]),
    ("SELECT 1 AS x", [None]),
]


def expected(spec: list[str | None], t: str) -> list[tuple[str, ...] | None]:
    return [None if s is None else T(s.format(t=t)) for s in spec]


@pytest.mark.parametrize(("sql", "spec"), CASES, ids=[c[0][:40] for c in CASES])
def test_flight_info_and_stream_name_the_source_table(client, tables, sql, spec):
    info = client.get_flight_info(descriptor(pb.CommandStatementQuery(
        query=sql.format(t=tables))))
    assert where(info.schema) == expected(spec, tables)
    reader = client.do_get(info.endpoints[0].ticket)
    table = reader.read_all()
    assert table.schema.equals(info.schema, check_metadata=True)


@pytest.mark.parametrize(("sql", "spec"), CASES[:6], ids=[c[0][:40] for c in CASES[:6]])
def test_prepared_dataset_schema_and_get_schema_name_the_source_table(client, tables, sql,
                                                                       spec):
    text = sql.format(t=tables)
    res = prepare(client, text)
    dataset = pa.ipc.read_schema(pa.py_buffer(res.dataset_schema))
    assert where(dataset) == expected(spec, tables)
    got = client.get_schema(descriptor(pb.CommandStatementQuery(query=text))).schema
    assert where(got) == expected(spec, tables)
    d = descriptor(pb.CommandPreparedStatementQuery(
        prepared_statement_handle=res.prepared_statement_handle))
    info = client.get_flight_info(d)
    assert where(info.schema) == expected(spec, tables)
    assert client.do_get(info.endpoints[0].ticket).read_all().schema.equals(
        info.schema, check_metadata=True)


def test_adbc_reads_the_table_name(conn, tables):
    with conn.cursor() as cur:
        cur.execute(f"SELECT note, id + 1 AS nxt FROM {tables} WHERE id = ?", parameters=(1,))
        schema = cur.fetch_arrow_table().schema
    assert where(schema) == [T(tables), None]
    assert conn.adbc_get_table_schema(tables).names == ["id", "amount", "note"]


def test_result_cache_hit_keeps_the_table_name(db, tables):
    with running(db, result_cache_bytes=1 << 20) as srv:
        c = flight.connect(f"grpc://127.0.0.1:{srv.port}")
        d = descriptor(pb.CommandStatementQuery(query=f"SELECT note FROM {tables}"))
        first = c.get_flight_info(d)
        c.do_get(first.endpoints[0].ticket).read_all()
        second = c.get_flight_info(d)
        assert srv.result_cache.stats()["hits"] == 1
        assert where(second.schema) == [T(tables)]
        c.close()
