"""``kodiak import`` / ``export``: every format both ways, embedded and against a server,
create/append/replace, streaming, and failures that leave nothing behind."""

from __future__ import annotations

import datetime
import decimal
import gzip
import io
import json
import time

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest

from kodiak_flight.sql.formats import (
    ArrayToConcatenated,
    FormatError,
    detect_format,
    open_source,
    split_batch,
)

from .conftest import kodiak, kodiak_proc

ROWS = pa.table({
    "id": pa.array(range(1, 7), pa.int64()),
    "city": ["oslo", "rome", "lima", None, "oslo", 'quote " and, comma'],
    "km": [12.5, 3.0, 7.25, 1.0, None, 2.5],
    "day": pa.array([datetime.date(2024, 1, d) for d in range(1, 7)], pa.date32()),
})


def write(path, table=ROWS):
    fmt = detect_format(path)
    if fmt == "csv":
        pacsv.write_csv(table, path)
    elif fmt == "parquet":
        pq.write_table(table, path, row_group_size=2)
    elif fmt == "arrow":
        with ipc.new_file(path, table.schema) as w:
            w.write_table(table, max_chunksize=2)
    elif fmt == "arrows":
        with ipc.new_stream(path, table.schema) as w:
            w.write_table(table, max_chunksize=2)
    else:
        rows = table.to_pylist()
        for r in rows:
            r["day"] = r["day"].isoformat()
        if fmt == "ndjson":
            path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        else:
            path.write_text(json.dumps(rows, indent=2))


def target_args(kind, data_dir, uri):
    return ["--data-dir", str(data_dir)] if kind == "embedded" else ["--uri", uri]


def query(args, sql):
    r = kodiak("sql", *args, "--format", "json", sql)
    assert r.code == 0, r.stderr
    return json.loads(r.stdout)


EXTS = ["csv", "parquet", "json", "ndjson", "arrow", "feather", "arrows"]


@pytest.mark.parametrize("kind", ["embedded", "server"])
@pytest.mark.parametrize("ext", EXTS)
def test_import_then_export_roundtrip(kind, ext, tmp_path, data_dir, uri):
    args = target_args(kind, data_dir, uri)
    table = f"rt_{ext}_{kind}"
    src = tmp_path / f"in.{ext}"
    write(src)
    r = kodiak("import", src, table, *args)
    assert r.code == 0, r.stderr
    assert r.stdout.strip() == f"imported 6 rows into {table}"
    got = query(args, f"select * from {table} order by id")
    assert [g["city"] for g in got] == ROWS.column("city").to_pylist()
    assert got[3]["km"] == 1.0 and got[4]["km"] is None
    assert str(got[0]["day"]).startswith("2024-01-01")

    out = tmp_path / f"out.{ext}"
    r = kodiak("export", table, out, *args)
    assert r.code == 0, r.stderr
    assert f"exported 6 rows to {out}" in r.stderr
    back = open_source(out)
    t = back.reader.read_all()
    back.close()
    assert t.num_rows == 6 and sorted(t.column("id").to_pylist()) == list(range(1, 7))
    assert not list(tmp_path.glob(".*kodiak-tmp"))  # the temporary file was renamed
    if kind == "server":
        kodiak("sql", *args, f"drop table {table}")


@pytest.mark.parametrize("kind", ["embedded", "server"])
def test_create_append_replace(kind, tmp_path, data_dir, uri):
    args = target_args(kind, data_dir, uri)
    table = f"modes_{kind}"
    src = tmp_path / "in.parquet"
    write(src)
    assert kodiak("import", src, table, "--append", *args).code == 1  # missing
    assert kodiak("import", src, table, "--create", *args).code == 0
    r = kodiak("import", src, table, "--create", *args)
    assert r.code == 1 and "already exists" in r.stderr and len(r.err_lines) == 1
    assert kodiak("import", src, table, "--append", *args).code == 0
    assert kodiak("import", src, table, *args).code == 0  # default: create or append
    assert query(args, f"select count(*) as n from {table}") == [{"n": 18}]
    assert kodiak("import", src, table, "--replace", *args).code == 0
    assert query(args, f"select count(*) as n from {table}") == [{"n": 6}]
    r = kodiak("import", src, table, "--create", "--replace", *args)
    assert r.code == 2 and "choose one of" in r.stderr
    if kind == "server":
        kodiak("sql", *args, f"drop table {table}")


def test_append_reads_text_as_the_tables_types(tmp_path, data_dir):
    args = ["--data-dir", str(data_dir)]
    kodiak("sql", *args, "create table typed (id bigint primary key, amount decimal(10,2), "
           "day date, note varchar)")
    csv = tmp_path / "t.csv"
    csv.write_text("ID,Amount,Day,Note\n1,10.25,2024-02-03,007\n2,,2024-02-04,\n")
    assert kodiak("import", csv, "typed", "--append", *args).code == 0
    nd = tmp_path / "t.ndjson"
    nd.write_text('{"id": 3, "amount": "1.50", "day": "2024-03-01", "note": "x"}\n')
    r = kodiak("import", nd, "typed", *args)
    assert r.code == 0, r.stderr
    got = query(args, "select * from typed order by id")
    assert got[0] == {"id": 1, "amount": "10.25", "day": "2024-02-03", "note": "007"}
    assert got[1]["amount"] is None
    assert got[2]["amount"] == "1.50" and got[2]["day"] == "2024-03-01"


def test_created_table_types_are_storable(tmp_path, data_dir):
    """Dictionary, large string, all-NULL columns become ordinary SQL types."""
    t = pa.table({"d": pa.array(["a", "b"]).dictionary_encode(),
                  "l": pa.array(["x", "y"], pa.large_string()),
                  "n": pa.nulls(2)})
    pq.write_table(t, tmp_path / "t.parquet")
    (tmp_path / "n.csv").write_text("a,b\n1,\n2,\n")
    args = ["--data-dir", str(data_dir)]
    assert kodiak("import", tmp_path / "t.parquet", "st", *args).code == 0
    assert kodiak("import", tmp_path / "n.csv", "nc", *args).code == 0
    r = kodiak("shell", *args, input=".schema st\n.schema nc\n")
    assert "d VARCHAR" in r.stdout and "l VARCHAR" in r.stdout and "n VARCHAR" in r.stdout
    assert "b VARCHAR" in r.stdout


def test_failed_import_leaves_nothing(tmp_path, data_dir):
    args = ["--data-dir", str(data_dir)]
    bad = tmp_path / "bad.csv"
    # the second block has a value that is not an integer: fails after the first batch
    bad.write_text("x\n" + "1\n" * 700_000 + "oops\n")  # beyond the 1 MiB block
    r = kodiak("import", bad, "never", *args)
    assert r.code == 1 and len(r.err_lines) == 1, r.stderr
    assert "bad.csv" in r.stderr and "--append" in r.stderr  # says what to do
    assert query(args, "select count(*) as n from (select 1) x") == [{"n": 1}]
    r = kodiak("sql", *args, "select * from never")
    assert r.code == 1 and "does not exist" in r.stderr


def test_failed_export_leaves_no_file(tmp_path, data_dir):
    out = tmp_path / "out.csv"
    r = kodiak("export", "select list(x) as l from (values (1), (2)) v(x)", out,
               "--data-dir", data_dir)
    assert r.code == 1 and "cannot write csv" in r.stderr
    assert not out.exists() and not list(tmp_path.glob(".*kodiak-tmp"))


def test_export_query_to_stdout_and_compressed(tmp_path, data_dir):
    args = ["--data-dir", str(data_dir)]
    r = kodiak("export", "select 1 as a, 'x' as b", "-", "--format", "csv", *args)
    assert r.stdout.splitlines() == ['"a","b"', '1,"x"']
    assert kodiak("export", "select 1 as a", "-", *args).code == 2  # needs --format
    out = tmp_path / "o.ndjson.gz"
    assert kodiak("export", "select 1 as a union all select 2", out, *args).code == 0
    assert sorted(gzip.decompress(out.read_bytes()).decode().split()) == ['{"a":1}', '{"a":2}']
    assert kodiak("import", out, "gz", *args).code == 0
    assert query(args, "select sum(a) as s from gz") == [{"s": 3}]


def test_json_values(tmp_path, data_dir):
    """Decimals keep their digits (as strings), dates and timestamps are ISO 8601, binary is
    base64, non-ASCII text stays as it is."""
    t = pa.table({"d": pa.array([decimal.Decimal("1.50")], pa.decimal128(5, 2)),
                  "ts": pa.array([datetime.datetime(2024, 1, 2, 3, 4, 5)], pa.timestamp("us")),
                  "u": ["ü"], "b": pa.array([b"ab"], pa.binary())})
    pq.write_table(t, tmp_path / "v.parquet")
    assert kodiak("import", tmp_path / "v.parquet", "v", "--data-dir", data_dir).code == 0
    r = kodiak("sql", "--data-dir", data_dir, "--format", "json", "select * from v")
    assert json.loads(r.stdout) == [{"d": "1.50", "ts": "2024-01-02T03:04:05", "u": "ü",
                                     "b": "YWI="}]


def test_progress_is_off_when_not_a_terminal(tmp_path, data_dir):
    src = tmp_path / "in.csv"
    write(src)
    p = kodiak_proc("import", src, "p", "--data-dir", data_dir)
    assert p.returncode == 0 and p.stderr == ""
    p = kodiak_proc("import", src, "p", "--data-dir", data_dir, "--progress")
    assert "importing in.csv" in p.stderr and "━" in p.stderr


# -------------------------------------------------------------------------------------------
# streaming


def test_readers_stream(tmp_path):
    """Readers do not read the whole file: pyarrow reads at most 32 blocks ahead (32 MiB with
    the default 1 MiB blocks; 64 KiB blocks here, so a 6 MB file shows it)."""
    n = 300_000
    big = pa.table({"i": pa.array(range(n), pa.int64()), "s": [f"row {i}" for i in range(n)]})
    cases = {"csv": lambda p: pacsv.write_csv(big, p),
             "ndjson": lambda p: p.write_text("".join(f'{{"i": {i}, "s": "row {i}"}}\n'
                                                      for i in range(n))),
             "json": lambda p: p.write_text("[" + ",".join(f'{{"i": {i}, "s": "row {i}"}}'
                                                           for i in range(n)) + "]"),
             "arrows": lambda p: ipc.new_stream(p, big.schema).write_table(big, 10_000)}
    for fmt, make in cases.items():
        path = tmp_path / f"big.{fmt}"
        make(path)
        src = open_source(path, block_size=1 << 16)
        first = src.reader.read_next_batch()
        time.sleep(0.2)  # give read-ahead threads time to run ahead if they would
        assert first.num_rows < n
        assert src.position() < path.stat().st_size, fmt
        rest = sum(b.num_rows for b in src.reader)
        assert first.num_rows + rest == n
        assert src.position() == path.stat().st_size or fmt == "arrows"
        src.close()
    pq.write_table(big, tmp_path / "big.parquet", row_group_size=50_000)
    src = open_source(tmp_path / "big.parquet")
    assert src.reader.read_next_batch().num_rows == 65_536  # iter_batches(batch_size=65536)
    assert src.position() == 65_536 and src.total == n
    src.close()


def test_big_batches_are_split_for_grpc():
    batch = pa.record_batch({"s": ["x" * 1000] * 20_000})
    parts = list(split_batch(batch, limit=1 << 20))
    assert len(parts) > 10 and sum(p.num_rows for p in parts) == 20_000
    assert all(p.nbytes <= 1.1 * (1 << 20) for p in parts)


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 1 << 20])
def test_json_array_conversion(chunk):
    doc = [{"a": 1, "s": 'x, "y" [z] {w}', "e": "\\", "n": {"k": [1, 2]}},
           {"a": 2, "s": "\\\"", "e": "]", "n": None}]
    text = json.dumps(doc, indent=1).encode()
    conv = ArrayToConcatenated(io.BytesIO(text), chunk=chunk)
    out = conv.read()
    assert [json.loads(line) for line in json_objects(out)] == doc


def json_objects(data: bytes):
    dec = json.JSONDecoder()
    text, pos, out = data.decode(), 0, []
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            return out
        obj, pos = dec.raw_decode(text, pos)
        out.append(json.dumps(obj))


@pytest.mark.parametrize("bad", [b'{"a": 1}', b"[1, 2", b'[{"a": "x}]'])
def test_json_array_errors(bad):
    with pytest.raises(FormatError):
        ArrayToConcatenated(io.BytesIO(bad)).read()


def test_unknown_format_and_missing_file(tmp_path, data_dir):
    r = kodiak("import", tmp_path / "x.xlsx", "t", "--data-dir", data_dir)
    assert r.code == 1 and "x.xlsx: no such file" in r.stderr
    (tmp_path / "x.xlsx").write_text("")
    r = kodiak("import", tmp_path / "x.xlsx", "t", "--data-dir", data_dir)
    assert r.code == 1 and "cannot tell the format" in r.stderr and "--format" in r.stderr
