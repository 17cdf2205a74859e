"""An upload the client gives up stores nothing: gRPC ends a cancelled DoPut stream the way
it ends a finished one, so the server asks whether the call was cancelled before it commits."""

from __future__ import annotations

import adbc_driver_flightsql.dbapi as flight_sql
import pyarrow as pa
import pytest

ROWS = 1000


def _batches(fail: str) -> pa.RecordBatchReader:
    """Two small batches, then what makes the client give up: a batch over ADBC's 16 MiB
    message limit, or an error in the client's own data source."""
    schema = pa.schema([("id", pa.int64()), ("s", pa.string())])

    def gen():  # noqa: ANN202
        for i in range(2):
            yield pa.record_batch([pa.array(range(i * ROWS, (i + 1) * ROWS)),
                                   pa.array(["x"] * ROWS)], schema=schema)
        if fail == "too_big":
            yield pa.record_batch([pa.array(range(20)), pa.array(["y" * (1 << 20)] * 20)],
                                  schema=schema)
        else:
            raise OSError("the source file went away")

    return pa.RecordBatchReader.from_batches(schema, gen())


def _table_exists(conn: flight_sql.Connection, name: str) -> bool:
    with conn.cursor() as cur:
        cur.execute("select count(*) from information_schema.tables where table_name = ?",
                    (name,))
        return cur.fetchone()[0] == 1


@pytest.mark.parametrize("fail", ["too_big", "source_error"])
def test_a_cancelled_create_leaves_no_table(conn, name, fail):
    with conn.cursor() as cur, pytest.raises(Exception):  # noqa: B017 - the driver's error
        cur.adbc_ingest(name, _batches(fail), mode="create")
    assert not _table_exists(conn, name)
    with conn.cursor() as cur:  # the same ingest, retried whole, is not refused
        data = pa.table({"id": pa.array(range(3)), "s": pa.array(["a", "b", "c"])})
        assert cur.adbc_ingest(name, data, mode="create") == 3


@pytest.mark.parametrize("fail", ["too_big", "source_error"])
def test_a_cancelled_append_adds_no_rows(conn, name, fail):
    with conn.cursor() as cur:
        cur.execute(f"create table {name} (id bigint, s varchar)")
        cur.execute(f"insert into {name} values (-1, 'kept')")
    with conn.cursor() as cur, pytest.raises(Exception):  # noqa: B017 - the driver's error
        cur.adbc_ingest(name, _batches(fail), mode="append")
    with conn.cursor() as cur:
        cur.execute(f"select id, s from {name}")
        assert cur.fetchall() == [(-1, "kept")]


def test_a_cancelled_executemany_runs_nothing(conn, name):
    """A prepared update's parameter rows arrive as one DoPut stream too."""
    with conn.cursor() as cur:
        cur.execute(f"create table {name} (id bigint, s varchar)")
        with pytest.raises(Exception):  # noqa: B017 - the driver's error
            cur.executemany(f"insert into {name} values (?, ?)", _batches("source_error"))
        cur.execute(f"select count(*) from {name}")
        assert cur.fetchone() == (0,)
