"""What the outside harness does to its data before a measurement, shared by the
``outside_*`` benchmarks.

The outside harness reads TPC-H from Parquet files written by DuckDB (its ``dbgen`` at the
chosen scale) with ``pyarrow.parquet.read_table``, casts every string column to plain
``string`` (most client tools hand over ``string``), then sends it in 65,536-row batches.
DuckDB writes row groups of up to 122,880 rows, so the table comes in chunks of that size and
its 65,536-row batches alternate with shorter ones; ``duckdb_parquet`` reproduces the file. ``bench/``'s own Flight benchmarks keep
tpchgen's ``string_view``, which the engine stores as ``large_string``: a different path
through both ingest and DoGet. These helpers give the harness's shape so the two can be told
apart.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from .common import log
from .tpch import table_path

BATCH_ROWS = 65_536


def strings_as(schema: pa.Schema, string_type: pa.DataType) -> pa.Schema:
    """``schema`` with every string-like column as ``string_type``."""
    def fix(t: pa.DataType) -> pa.DataType:
        return string_type if (pa.types.is_string_view(t) or pa.types.is_large_string(t)
                               or pa.types.is_string(t)) else t
    return pa.schema([f.with_type(fix(f.type)) for f in schema])


def duckdb_parquet(table: str, scale: float) -> Path:
    """``table`` at ``scale`` in a Parquet file written by DuckDB, cached beside tpchgen's.

    DuckDB's own ``dbgen`` (its ``tpch`` extension) is used when it is installed; without it
    (it is downloaded on first use, which an offline machine cannot do) tpchgen's file is
    rewritten by DuckDB's Parquet writer: the same rows, DuckDB's row groups and encodings.
    """
    import duckdb  # a test dependency: only the benchmark data goes through it

    out = table_path(table, scale).with_name(f"{table}.duckdb.parquet")
    if out.exists():
        return out
    tmp = out.with_name(f".{out.name}.tmp")
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    try:
        con.execute("LOAD tpch")
        con.execute(f"CALL dbgen(sf={scale:g})")
        source = table
        log(f"writing {out.name} with DuckDB's dbgen at SF{scale:g}")
    except duckdb.Error:
        source = f"read_parquet('{table_path(table, scale)}')"
        log(f"writing {out.name}: DuckDB's tpch extension is not installed; rewriting "
            "tpchgen's file with DuckDB's Parquet writer")
    con.execute(f"COPY (SELECT * FROM {source}) TO '{tmp}' (FORMAT parquet)")
    con.close()
    os.replace(tmp, out)
    return out


def harness_table(table: str, scale: float, string_type: pa.DataType | None = None
                  ) -> pa.Table:
    """``table`` at ``scale`` as the outside harness holds it: read_table of DuckDB's file,
    strings cast to ``string`` (or, for a variant, ``string_type``)."""
    t = pq.read_table(duckdb_parquet(table, scale))
    return t.cast(strings_as(t.schema, string_type or pa.string()))


def harness_reader(table: pa.Table, rows: int = BATCH_ROWS) -> pa.RecordBatchReader:
    """The table as the harness streams it to ``adbc_ingest``: ``rows``-row batches (at most:
    a batch also ends where a chunk of the table does)."""
    return pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=rows))


def command(name: str, quick: bool) -> str:
    return f"python -m bench {name}{' --quick' if quick else ''}"


def announce(name: str, ratio: float, quick: bool) -> None:
    """Print the ratio and the command that reproduces it (stderr: stdout carries the table)."""
    log(f"{name}: ratio {ratio:.2f}× — reproduce with `{command(name, quick)}`")
    sys.stderr.flush()
