"""Expressions evaluated over in-memory tables, and small array helpers."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

import pyarrow as pa
import pyarrow.acero as ac
import pyarrow.compute as pc

from ..expr import Call, Col, Expr, Lit, repeated
from .acero import seq, source_table
from .arrow_errors import arrow_errors


@arrow_errors
def evaluate(t: pa.Table, e: Expr) -> pa.Array | pa.ChunkedArray:
    """A bound expression over a small in-memory table, one kernel call per node: the same
    kernels an Acero project runs, without starting a plan."""
    if isinstance(e, Col):
        return t.column(e.id)
    v = kernel(t, e)
    return repeated(v, t.num_rows) if isinstance(v, pa.Scalar) else v


def kernel(t: pa.Table, e: Expr) -> pa.Array | pa.Scalar:
    """``e`` over ``t`` by direct kernel calls (a scalar where ``e`` is constant)."""
    if isinstance(e, Col):
        return chunk(t.column(e.id))
    if isinstance(e, Lit):
        return e.scalar()
    if isinstance(e, Call):
        return pc.call_function(e.fn, [kernel(t, a) for a in e.args], e.options)
    raise TypeError(f"cannot evaluate {e!r}")  # pragma: no cover


def evaluate_compiled(t: pa.Table, e: pc.Expression) -> pa.ChunkedArray:
    """A compiled Arrow expression over ``t``, through an Acero project."""
    res = seq(source_table(t), ac.Declaration("project", ac.ProjectNodeOptions([e], ["v"]))
              ).to_table(use_threads=False)
    return res.column("v")


def chunk(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    """``col`` as one array (a column of one chunk as that chunk: ``combine_chunks``
    copies even one, 47 MB a query for a filter over 1 M URLs read batch by batch)."""
    if isinstance(col, pa.ChunkedArray):
        if col.num_chunks == 1:
            return col.chunk(0)
        return col.combine_chunks() if col.num_chunks else pa.array([], col.type)
    return col


def zero(t: pa.DataType) -> pa.Scalar:
    """A non-NULL value of type ``t`` (NULLs stand in as it, beside an is-null flag)."""
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return pa.scalar("", t)
    if pa.types.is_binary(t):
        return pa.scalar(b"", t)
    if pa.types.is_boolean(t):
        return pa.scalar(False)
    if pa.types.is_null(t):
        return pa.scalar(None)
    if pa.types.is_interval(t):
        return pa.scalar((0, 0, 0), t)
    if pa.types.is_fixed_size_binary(t):
        return pa.scalar(bytes(t.byte_width), t)
    if pa.types.is_decimal(t):  # (an int64 0 cast to a DECIMAL under 19 digits fails)
        return pa.scalar(Decimal(0), t)
    return pa.scalar(0).cast(t) if not pa.types.is_temporal(t) else \
        pa.scalar(0, pa.int32() if pa.types.is_date32(t) else pa.int64()).cast(t)


def unsigned_zero(e: pc.Expression) -> pc.Expression:
    """``e`` with -0.0 as 0.0, for a double Acero hashes by its bits (a key, a DISTINCT
    argument) where SQL holds -0.0 = 0.0: IEEE's -0.0 + 0.0 is 0.0, and every other value,
    NaN included, stays as it is."""
    return pc.Expression._call("add", [e, pc.scalar(0.0)])


def unsigned_columns(t: pa.Table, names: Iterable[str]) -> pa.Table:
    """``t`` with its columns ``names`` holding 0.0 for -0.0 (``unsigned_zero``)."""
    for name in names:
        t = t.set_column(t.schema.get_field_index(name), name, pc.add(t.column(name), 0.0))
    return t
