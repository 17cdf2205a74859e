"""What the outside harness does to its data before a measurement, shared by the
``outside_*`` benchmarks.

The outside harness reads TPC-H with ``pyarrow.parquet.read_table`` and casts every string
column to plain ``string`` (tpchgen writes ``string_view``; most client tools hand over
``string``), then sends it in 65,536-row batches. ``bench/``'s own Flight benchmarks keep
tpchgen's ``string_view``, which the engine stores as ``large_string``: a different path
through both ingest and DoGet. These helpers give the harness's shape so the two can be told
apart.
"""

from __future__ import annotations

import sys

import pyarrow as pa
import pyarrow.parquet as pq

from .common import log
from .tpch import table_path

BATCH_ROWS = 65_536


def plain_strings(schema: pa.Schema) -> pa.Schema:
    """``schema`` with every string-like column as plain ``string``."""
    def fix(t: pa.DataType) -> pa.DataType:
        return pa.string() if (pa.types.is_string_view(t) or pa.types.is_large_string(t)) else t
    return pa.schema([f.with_type(fix(f.type)) for f in schema])


def harness_table(table: str, scale: float) -> pa.Table:
    """``table`` at ``scale`` as the outside harness holds it: read_table, strings cast to
    ``string``."""
    t = pq.read_table(table_path(table, scale))
    return t.cast(plain_strings(t.schema))


def harness_reader(table: pa.Table) -> pa.RecordBatchReader:
    """The table as the harness streams it to ``adbc_ingest``: 65,536-row batches."""
    return pa.RecordBatchReader.from_batches(table.schema,
                                             table.to_batches(max_chunksize=BATCH_ROWS))


def command(name: str, quick: bool) -> str:
    return f"python -m bench {name}{' --quick' if quick else ''}"


def announce(name: str, ratio: float, quick: bool) -> None:
    """Print the ratio and the command that reproduces it (stderr: stdout carries the table)."""
    log(f"{name}: ratio {ratio:.2f}× — reproduce with `{command(name, quick)}`")
    sys.stderr.flush()
