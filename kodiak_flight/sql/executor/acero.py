"""Acero declaration helpers the operators share."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.acero as ac


def source_table(t: pa.Table) -> ac.Declaration:
    return ac.Declaration("table_source", ac.TableSourceNodeOptions(t))


def source_reader(r: pa.RecordBatchReader) -> ac.Declaration:
    return ac.Declaration("record_batch_reader_source", ac.RecordBatchReaderSourceNodeOptions(r))


# Acero's union node ignores its options, but pyarrow's Declaration does not check its
# options argument for None: given None it copies a C++ shared_ptr out of the memory next to
# Py_None, and every copy bumps a word of CPython's own `type` object (its ob_type), so the
# next unspecialised `type(x)` call in any thread dies with SIGSEGV (select4.test, line 3766
# of SQLite's sqllogictest corpus). A real options object of any kind is safe.
_UNION_OPTIONS = ac.ProjectNodeOptions([])


def union(*inputs: ac.Declaration) -> ac.Declaration:
    """The rows of every input (UNION ALL), streamed."""
    return ac.Declaration("union", _UNION_OPTIONS, inputs=list(inputs))


def seq(*decls: ac.Declaration) -> ac.Declaration:
    return ac.Declaration.from_sequence(list(decls))


def stream(decl: ac.Declaration, threads: bool = True) -> pa.RecordBatchReader:
    """Run ``decl``, its rows as a reader; a plan Acero cannot build raises here.

    pyarrow's ``Declaration.to_reader`` turns a plan that fails to build (a field reference
    that matches nothing, inputs of a union whose schemas differ) into a reader whose schema
    is a null pointer, and reading that schema is a SIGSEGV. Building the plan without
    running it (what ``str`` does, ~0.1 ms) reports the error as an ``ArrowInvalid``.
    """
    str(decl)
    return decl.to_reader(use_threads=threads)
