"""Parquet (``.parquet``, ``.pq``): read row group by row group in batches of 65536 rows."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import pyarrow as pa

from .registry import Input, register
from .streams import spool

if TYPE_CHECKING:  # imported when used: slow to load (pyarrow.dataset loads pandas)
    import pyarrow.dataset as ds

BATCH_ROWS = 65536


class Parquet:
    name = "parquet"
    aliases = ()
    extensions = (".parquet", ".pq")
    sql_options: frozenset[str] = frozenset()
    seekable = True

    def defaults(self, path: str) -> dict[str, Any]:
        return {}

    def open(self, source: Input, options: Mapping[str, Any]) -> pa.RecordBatchReader:
        import pyarrow.parquet as pq

        if isinstance(source, str | Path):
            pf = pq.ParquetFile(source)
            close = pf.close
        else:
            tmp = spool(source)  # a compressed file: Parquet needs to seek
            try:
                pf = pq.ParquetFile(tmp)
            except BaseException:
                tmp.close()
                raise
            close = tmp.close

        def batches() -> Iterator[pa.RecordBatch]:
            try:
                yield from pf.iter_batches(batch_size=BATCH_ROWS)
            finally:
                close()

        return pa.RecordBatchReader.from_batches(pf.schema_arrow, batches())

    def dataset(self, path: str, options: Mapping[str, Any]) -> ds.Dataset:
        import pyarrow.dataset as ds

        return ds.dataset(path, format="parquet")

    def rows(self, path: str) -> int | None:
        import pyarrow.parquet as pq

        return pq.read_metadata(path).num_rows

    def write(self, reader: pa.RecordBatchReader, out: IO[bytes],
              options: Mapping[str, Any]) -> int:
        import pyarrow.parquet as pq

        rows = 0
        with pq.ParquetWriter(out, reader.schema) as w:
            for batch in reader:
                w.write_batch(batch)
                rows += batch.num_rows
        return rows


PARQUET = register(Parquet())
