"""Flight bulk ingest (DoPut CommandStatementIngest) fires the target table's triggers, and
a failing trigger undoes the whole load."""

from __future__ import annotations

import pyarrow as pa
import pytest

from kodiak_flight.proto import FlightSql_pb2 as pb

from .helpers import put, query, update

Ingest = pb.CommandStatementIngest
Opts = Ingest.TableDefinitionOptions


def test_ingest_fires_triggers(client, name):
    update(client, f"CREATE TABLE {name} (v BIGINT)")
    update(client, f"CREATE TABLE {name}_log (v BIGINT)")
    update(client, f"CREATE TRIGGER {name}_t AFTER INSERT ON {name} BEGIN "
                   f"SELECT RAISE(ABORT, 'negative') WHERE new.v < 0; "
                   f"INSERT INTO {name}_log VALUES (new.v * 10); END")
    cmd = Ingest(table=name, table_definition_options=Opts(
        if_not_exist=Opts.TABLE_NOT_EXIST_OPTION_FAIL,
        if_exists=Opts.TABLE_EXISTS_OPTION_APPEND))
    put(client, cmd, pa.table({"v": pa.array([1, 2], pa.int64())}))
    logged = query(client, f"SELECT v FROM {name}_log ORDER BY v")
    assert logged.column("v").to_pylist() == [10, 20]
    with pytest.raises(pa.ArrowException, match="negative"):
        put(client, cmd, pa.table({"v": pa.array([3, -1], pa.int64())}))
    assert query(client, f"SELECT count(*) AS n FROM {name}").column("n").to_pylist() == [2]
