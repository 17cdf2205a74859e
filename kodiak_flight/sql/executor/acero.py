"""Acero declaration helpers the operators share."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.acero as ac


def source_table(t: pa.Table) -> ac.Declaration:
    return ac.Declaration("table_source", ac.TableSourceNodeOptions(t))


def source_reader(r: pa.RecordBatchReader) -> ac.Declaration:
    return ac.Declaration("record_batch_reader_source", ac.RecordBatchReaderSourceNodeOptions(r))


def seq(*decls: ac.Declaration) -> ac.Declaration:
    return ac.Declaration.from_sequence(list(decls))
