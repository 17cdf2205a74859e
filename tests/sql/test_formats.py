"""One registry of file formats: SQL's ``read_*`` / ``COPY`` and ``kodiak import`` /
``export`` read and write every format and compression alike (DuckDB as the oracle where it
reads the format)."""

from __future__ import annotations

import datetime
import gzip
import io
import json

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest

import engine
from kodiak_flight.sql import Session
from kodiak_flight.sql.formats import ArrayToConcatenated, detect_format, format_for, names
from kodiak_flight.sql.formats.json_array import complete_prefix
from kodiak_flight.sql.formats.json_encode import rows_json

from ..cli.conftest import kodiak

SOURCE = pa.table({
    "id": pa.array(range(1, 8), pa.int64()),
    "name": ["oslo", "rome", None, 'quote " and, comma', "ünïcode", "lima", "x\ny"],
    "x": [1.5, None, 3.0, -0.25, 1e-7, 2.5, 100.0],
    "day": pa.array([datetime.date(2024, 1, d) for d in range(1, 8)], pa.date32()),
})
# file kind -> (extension, read_* function, DuckDB reads it)
KINDS = {"csv": (".csv", "read_csv", True), "parquet": (".parquet", "read_parquet", True),
         "json_array": (".json", "read_json", True), "ndjson": (".ndjson", "read_json", True),
         "arrow_file": (".arrow", "read_arrow", False),
         "arrow_stream": (".arrows", "read_arrow", False)}
CODECS = {"none": "", "gzip": ".gz", "zstd": ".zst"}


def file_bytes(kind: str, table: pa.Table = SOURCE) -> bytes:
    """``table`` in ``kind``, written by pyarrow / json (not by the code under test)."""
    buf = io.BytesIO()
    if kind == "csv":
        pacsv.write_csv(table, buf)
    elif kind == "parquet":
        pq.write_table(table, buf, row_group_size=3)
    elif kind in ("arrow_file", "arrow_stream"):
        new = ipc.new_file if kind == "arrow_file" else ipc.new_stream
        with new(buf, table.schema) as w:
            w.write_table(table, max_chunksize=3)
    else:
        rows = [{k: (v.isoformat() if isinstance(v, datetime.date) else v)
                 for k, v in r.items()} for r in table.to_pylist()]
        text = json.dumps(rows, indent=1) if kind == "json_array" else \
            "".join(json.dumps(r) + "\n" for r in rows)
        buf.write(text.encode())
    return buf.getvalue()


def write_file(path, data: bytes, codec: str) -> None:
    with pa.output_stream(str(path), compression=None if codec == "none" else codec) as out:
        out.write(data)


def rows(session: Session, sql: str) -> list[dict]:
    return session.execute(sql).reader.read_all().to_pylist()


@pytest.mark.parametrize("codec", list(CODECS))
@pytest.mark.parametrize("kind", list(KINDS))
def test_sql_and_import_read_alike(kind, codec, tmp_path):
    ext, function, duck = KINDS[kind]
    path = tmp_path / f"in{ext}{CODECS[codec]}"
    write_file(path, file_bytes(kind), codec)
    data_dir = tmp_path / "db"
    r = kodiak("import", path, "t", "--data-dir", data_dir)
    assert r.code == 0, r.stderr
    db = engine.Database.open(str(data_dir))
    session = Session(db)
    try:
        via_sql = rows(session, f"select * from {function}('{path}') order by id")
        assert via_sql == rows(session, "select * from t order by id")
        assert rows(session, f"select * from '{path}' order by id") == via_sql
        assert [r["id"] for r in via_sql] == SOURCE.column("id").to_pylist()
        assert [r["x"] for r in via_sql] == SOURCE.column("x").to_pylist()
        assert [r["name"] for r in via_sql] == SOURCE.column("name").to_pylist()
        if duck and not (kind == "parquet" and codec != "none"):  # no .parquet.gz in DuckDB
            oracle = duckdb.sql(f"select id, name, x from '{path}' order by id").fetchall()
            assert [(r["id"], r["name"], r["x"]) for r in via_sql] == oracle
    finally:
        session.close()
        db.close()


COPY_FORMATS = {"csv": ".csv", "parquet": ".parquet", "json": ".json", "ndjson": ".ndjson",
                "arrow": ".arrow", "arrows": ".arrows"}


@pytest.mark.parametrize("codec", list(CODECS))
@pytest.mark.parametrize("fmt", list(COPY_FORMATS))
def test_copy_to_then_read_back(fmt, codec, session, tmp_path):
    session.execute("create table src (id bigint, name varchar, x double, day date)")
    session.execute("insert into src values (1, 'a', 1.5, date '2024-01-02'), "
                    "(2, NULL, NULL, NULL), (3, 'c, \"d\"', -2.0, date '2024-03-04')")
    path = tmp_path / f"out{COPY_FORMATS[fmt]}{CODECS[codec]}"
    assert session.execute(f"copy src to '{path}'").rowcount == 3
    session.execute("create table back (id bigint, name varchar, x double, day date)")
    assert session.execute(f"copy back from '{path}'").rowcount == 3
    assert rows(session, "select * from back order by id") == \
        rows(session, "select * from src order by id")
    got = rows(session, f"select id, name, x from '{path}' order by id")
    assert got == rows(session, "select id, name, x from src order by id")
    if fmt in ("csv", "json", "ndjson") or (fmt, codec) == ("parquet", "none"):
        assert duckdb.sql(f"select id, name, x from '{path}' order by id").fetchall() == \
            [tuple(r.values()) for r in got]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith("kodiak-tmp")]


def test_copy_json_is_ndjson_unless_array(session, tmp_path):
    session.execute("create table t (a integer)")
    session.execute("insert into t values (1), (2)")
    session.execute(f"copy t to '{tmp_path / 'n.json'}'")
    assert (tmp_path / "n.json").read_text() == '{"a":1}\n{"a":2}\n'
    session.execute(f"copy t to '{tmp_path / 'a.json'}' (format json, array true)")
    assert (tmp_path / "a.json").read_text() == '[\n{"a":1},\n{"a":2}\n]\n'
    session.execute(f"copy t to '{tmp_path / 'c.out'}' (format csv, compression gzip)")
    assert gzip.decompress((tmp_path / "c.out").read_bytes()).split() == [b'"a"', b"1", b"2"]


def test_read_json_takes_arrays_and_lines(session, tmp_path):
    (tmp_path / "a.json").write_text('[{"a": 1, "b": "x"},\n {"a": 2, "b": null}]')
    (tmp_path / "l.json").write_text('{"a": 1, "b": "x"}\n{"a": 2}\n')
    for name in ("a.json", "l.json"):
        assert rows(session, f"select a, b from read_json('{tmp_path / name}') order by a") \
            == [{"a": 1, "b": "x"}, {"a": 2, "b": None}]


def test_projection_reads_only_needed_columns(session, tmp_path):
    """Parquet and plain CSV go through pyarrow.dataset scanners (column push-down); the
    other formats through the streaming readers, with the same answers."""
    for kind in ("parquet", "csv", "ndjson", "arrow_file"):
        ext = KINDS[kind][0]
        path = tmp_path / f"p{ext}"
        path.write_bytes(file_bytes(kind))
        assert rows(session, f"select sum(id) as s from '{path}' where x > 2") == [{"s": 16}]


def test_unknown_compression_and_options(session, tmp_path):
    from kodiak_flight.sql.errors import BindError

    session.execute("create table t (a integer)")
    with pytest.raises(BindError, match="unknown compression"):
        session.execute(f"copy t to '{tmp_path / 'x.csv'}' (compression lzma)")
    with pytest.raises(BindError, match="unknown parquet option"):
        session.execute(f"copy t to '{tmp_path / 'x.parquet'}' (header true)")


def test_registry_names_and_extensions():
    assert set(names()) == {"csv", "parquet", "json", "ndjson", "arrow", "arrows"}
    assert detect_format("x.feather") == "arrow" and detect_format("x.jsonl.zst") == "ndjson"
    assert detect_format("x.tsv.gz") == "csv" and detect_format("y", "FEATHER") == "arrow"
    assert format_for("x.tsv").defaults("x.tsv") == {"delimiter": "\t"}


def test_json_text_matches_python_json():
    """The vectorised writer gives what json.dumps of each row's Python values gives (with
    the export's mappings for what JSON has no type for)."""
    floats = [1.5, 3.0, -0.0, 1e15, 1e16, 1e-4, 1e-5, 2.5e-7, 0.1, 1e300, None, 123.456]
    batch = pa.record_batch({
        "f": floats,
        "i": pa.array(range(len(floats)), pa.int64()),
        "s": ['a"b', "c\\d", "e\nf", "\x01", "ü", None, "", "t\tu", "x", "y", "z", "w"],
        "l": [[1, None]] * 6 + [None] * 6,
        "st": [{"k": 1, "v": "a"}] * 12,
    })
    got = rows_json(batch).to_pylist()
    want = [json.dumps(r, ensure_ascii=False, separators=(",", ":"))
            for r in batch.to_pylist()]
    assert got == want
    nan = rows_json(pa.record_batch({"n": [float("nan"), float("inf")]})).to_pylist()
    assert nan == ['{"n":null}', '{"n":null}']
    special = pa.record_batch({
        "b": pa.array([b"", b"a", b"ab", b"abc", None], pa.binary()),
        "ts": pa.array([datetime.datetime(2024, 1, 2, 3, 4, 5, 6)] * 4 + [None],
                       pa.timestamp("ms", "UTC")),
    })
    assert rows_json(special).to_pylist() == [
        '{"b":"","ts":"2024-01-02T03:04:05+00:00"}', '{"b":"YQ==","ts":"2024-01-02T03:04:05+00:00"}',
        '{"b":"YWI=","ts":"2024-01-02T03:04:05+00:00"}',
        '{"b":"YWJj","ts":"2024-01-02T03:04:05+00:00"}', '{"b":null,"ts":null}']


def test_json_export_of_many_rows(tmp_path, session):
    """200k rows go out batch by batch (built by Arrow compute, not row by row) and read
    back equal."""
    n = 200_000
    session.execute("create table big (i bigint, s varchar, f double)")
    ids = pa.array(range(1, n + 1), pa.int64())
    pq.write_table(pa.table({"i": ids, "s": pc.binary_join_element_wise(
        "row ", ids.cast(pa.string()), ""), "f": pc.divide(ids, 4.0)}),
        tmp_path / "big.parquet")
    session.execute(f"copy big from '{tmp_path / 'big.parquet'}'")
    out = tmp_path / "big.ndjson"
    assert session.execute(f"copy big to '{out}'").rowcount == n
    with out.open() as f:
        first = json.loads(f.readline())
    assert first == {"i": 1, "s": "row 1", "f": 0.25}
    assert rows(session, f"select count(*) as n, sum(i) as s from '{out}'") == \
        [{"n": n, "s": n * (n + 1) // 2}]


def test_json_array_head_for_type_inference():
    text = b'[{"a": 1, "s": "x]"}, {"a": 2, "s": "y"}, {"a": 3, "s'
    assert complete_prefix(text).split() == [b'{"a":', b"1,", b'"s":', b'"x]"}',
                                             b'{"a":', b"2,", b'"s":', b'"y"}']
    with pytest.raises(Exception, match="ends inside"):
        ArrayToConcatenated(io.BytesIO(text)).read()
