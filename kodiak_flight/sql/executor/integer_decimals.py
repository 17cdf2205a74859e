"""Aggregations of decimals on unscaled integers (``optimizer/integer_decimals.py``): the
twins made per batch, the overflow bounds checked before and after, the results converted
back to decimals."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.acero as ac
import pyarrow.compute as pc

from engine import errors as engine_errors

from ..expr import Call, Col, Expr, Lit
from ..optimizer.integer_decimals import BYTE_CODE, INT64_MAX, TWIN_TYPES
from ..plan import Filter, IntegerDecimals, Node, Unscale
from .aggregate import counted_rows
from .core import Executor, Out, operator
from .filter_project import filter_out
from .int_tests import ints
from .kernels import chunk


@operator(Unscale)
def run_unscale(ex: Executor, node: Unscale) -> Out:
    """The input's batches with the twins added, on the thread that reads them (about
    0.7 ns a value: one strided copy of the low words)."""
    inp = ex.run(node.input)
    if inp.decl is not None and isinstance(node.input, Filter):
        return below_filters(ex, node)
    names = [i for i, _ in node.exprs]
    if inp.table is not None:
        t = inp.table
        cols = [unscaled_column(t.column(source(e)), e) for _, e in node.exprs]
        return Out(table=pa.Table.from_arrays(cols, names=names), ordered=inp.ordered)
    return Out(reader=twinned(node, ex.as_reader(inp)), ordered=inp.ordered)


def below_filters(ex: Executor, node: Unscale) -> Out:
    """Filters Acero runs (not on the scan's batches): the twins made from the scan's
    batches, under those filters, so that one Acero plan runs scan to aggregation (taking
    Acero's output back into Python to add them cost TPC-H Q1 about 25 ms)."""
    chain = []
    below: Node = node.input
    while isinstance(below, Filter):
        chain.append(below)
        below = below.input
    out = ex.run(below)
    kept = {i for i, e in node.exprs if isinstance(e, Col)}.union(
        *(f.cond.col_ids() for f in chain))  # (not the decimals only twins read: not copied)
    twins = Unscale(below, [(i, Col(i, t)) for i, t in below.output if i in kept] +
                    [(i, e) for i, e in node.exprs if not isinstance(e, Col)])
    out = Out(reader=twinned(twins, ex.as_reader(out)), ordered=out.ordered)
    for f in reversed(chain):
        out = filter_out(ex, f, out)
    ids = node.out_ids()
    return ex.pipe(out, ac.Declaration("project", ac.ProjectNodeOptions(
        [pc.field(i) for i in ids], ids)))


def twinned(node: Unscale, reader: pa.RecordBatchReader) -> pa.RecordBatchReader:
    """``reader``'s batches as ``node`` outputs them."""
    schema = pa.schema([pa.field(i, t) for i, t in node.output])
    names = reader.schema.names
    picks = [(names.index(source(e)), e) for _, e in node.exprs]  # (once, not per batch)

    def batches() -> Iterator[pa.RecordBatch]:
        for b in reader:
            yield pa.RecordBatch.from_arrays([unscaled_array(b.column(k), e) for k, e in picks],
                                             schema=schema)
    return pa.RecordBatchReader.from_batches(schema, batches())


class NotByteCoded(Exception):
    """A batch of a group key coded as one byte per value holds a value of another length
    (or a NULL): the sample said otherwise; the original aggregation runs instead."""


def source(e: Expr) -> str:
    """The input column an Unscale expression reads."""
    if isinstance(e, Call) and e.fn in TWIN_TYPES:
        e = e.args[0]
    assert isinstance(e, Col)
    return e.id


def unscaled_column(c: pa.ChunkedArray, e: Expr) -> pa.ChunkedArray:
    return pa.chunked_array([unscaled_array(a, e) for a in c.chunks],
                            type=TWIN_TYPES[e.fn] if isinstance(e, Call) else c.type)


def unscaled_array(a: pa.Array, e: Expr) -> pa.Array:
    """``a`` itself for a plain column; for ``unscaled(a)`` (a decimal128 of precision <= 18,
    whose values' low 64 bits are their unscaled integers), those integers, NULLs kept."""
    if not isinstance(e, Call):
        return a
    if e.fn == BYTE_CODE:
        return byte_codes(a)
    data = pa.py_buffer(np.ascontiguousarray(ints(a)))  # (the low words' strided view)
    return pa.Array.from_buffers(pa.int64(), len(a), [validity(a), data],
                                 null_count=a.null_count)


def validity(a: pa.Array) -> pa.Buffer | None:
    """A validity bitmap of ``a`` starting at its first value (None: no NULLs)."""
    return pc.is_valid(a).buffers()[1] if a.null_count else None


def byte_codes(a: pa.Array) -> pa.Array:
    """A string array whose values are all one byte long as those bytes (``uint8``, no
    copy); ``NotByteCoded`` for any other."""
    n = len(a)
    if a.null_count:
        raise NotByteCoded
    width = np.int64 if pa.types.is_large_string(a.type) else np.int32
    offsets = np.frombuffer(a.buffers()[1], width)[a.offset:a.offset + n + 1]
    if n and not (np.diff(offsets) == 1).all():
        raise NotByteCoded
    start = int(offsets[0]) if n else 0
    return pa.Array.from_buffers(pa.uint8(), n, [None, a.buffers()[2]], null_count=0,
                                 offset=start)


def strings_of(codes: pa.Array, t: pa.DataType) -> pa.Array:
    """One-byte codes back as the strings they are (of type ``t``)."""
    n = len(codes)
    data = np.asarray(codes.fill_null(0).to_numpy(zero_copy_only=False), np.uint8)
    return pa.Array.from_buffers(pa.string(), n, [validity(codes), pa.py_buffer(np.arange(
        n + 1, dtype=np.int32)), pa.py_buffer(data.tobytes())],
        null_count=codes.null_count).cast(t)


@operator(IntegerDecimals)
def run_integer_decimals(ex: Executor, node: IntegerDecimals) -> Out:
    """The lowered aggregation when the bounds of the data read rule out an overflow, its
    results as the original's; else the original. A whole table's minima and maxima come
    from its statistics (``aggregate.counted_rows``), as they would without the lowering."""
    counted = counted_rows(ex, node.original)
    if counted is not None:
        return Out(table=counted, ordered=True)
    bounds = leaf_bounds(ex.snap, node)
    if bounds is None or not within(node, bounds) or likely_past(ex, node, bounds):
        return ex.run(node.original)
    try:
        t = ex.as_table(ex.run(node.lowered))
    except NotByteCoded:
        return ex.run(node.original)
    if not sums_exact(node, t, bounds):
        return ex.run(node.original)
    return Out(table=restored(node, t), ordered=False)


def leaf_bounds(snap: Any, node: IntegerDecimals) -> dict[str, int] | None:
    """Each checked leaf twin's largest unscaled magnitude in ``snap``, or None when one is
    unknown (twins made on the way and pruned again are not looked up)."""
    out = {}
    read = set().union(*(v.col_ids() for v, _ in node.checks),
                       *(v.col_ids() for v in node.values.values()))
    for tid, (table, column, scale) in node.leaves.items():
        if tid not in read:
            continue
        try:
            found = snap.column_bounds(table, column)
        except (engine_errors.KodiakError, KeyError):
            return None  # (a table the engine does not hold: no bounds to go by)
        if found is None:
            return None
        lo, hi = found
        out[tid] = 0 if lo is None else max(unscaled(lo, scale), unscaled(hi, scale))
    return out


def unscaled(v: Any, scale: int) -> int:
    """The magnitude of ``v`` as an unscaled integer at ``scale`` (rounded up)."""
    d = abs(Decimal(v)).scaleb(scale)
    return int(d.to_integral_value(rounding="ROUND_CEILING"))


def within(node: IntegerDecimals, bounds: dict[str, int]) -> bool:
    """Whether every checked value, and every integer computed on the way to it, stays
    within its limit."""
    return all((m := magnitude(v, bounds)) is not None and m <= limit
               for v, limit in node.checks)


def magnitude(e: Expr, bounds: dict[str, int]) -> int | None:
    """The largest magnitude ``e`` (an int64 expression over leaf twins) can take, or None
    when some call in it could leave int64."""
    if isinstance(e, Col):
        return bounds[e.id]
    if isinstance(e, Lit):
        return abs(int(e.value))
    assert isinstance(e, Call)
    args = [magnitude(a, bounds) for a in e.args]
    if any(a is None for a in args):
        return None
    if e.fn in ("add_checked", "subtract_checked"):
        m = args[0] + args[1]  # type: ignore[operator]
    elif e.fn == "multiply_checked":
        m = args[0] * args[1]  # type: ignore[operator]
    elif e.fn == "negate_checked":
        m = args[0]  # type: ignore[assignment]
    else:  # pragma: no cover - the optimizer makes no other call
        return None
    return m if m <= INT64_MAX else None


def likely_past(ex: Executor, node: IntegerDecimals, bounds: dict[str, int]) -> bool:
    """Whether the groups' expected rows make some sum likely to leave int64 (its check
    after the aggregation would then send the work to the original anyway)."""
    if not node.values:
        return False
    per_group = ex.estimate(node.lowered.input) / ex.estimate(node.lowered)
    return not all(fits(per_group, magnitude(v, bounds)) for v in node.values.values())


def fits(rows: float, bound: int | None) -> bool:
    """Whether ``rows`` values of magnitude up to ``bound`` sum within int64."""
    return bound is not None and rows * bound <= INT64_MAX


def sums_exact(node: IntegerDecimals, t: pa.Table, bounds: dict[str, int]) -> bool:
    """Whether no int64 sum can have wrapped: the largest group's rows times the bound of
    the values summed stays within int64."""
    if not node.values:
        return True
    rows = pc.max(t.column(node.rows_id)).as_py() or 0
    return all(fits(rows, magnitude(v, bounds)) for v in node.values.values())


def restored(node: IntegerDecimals, t: pa.Table) -> pa.Table:
    """The lowered aggregation's table as the original's: integer results as decimals."""
    types = dict(node.original.output)
    back = dict(node.results)
    keys = dict(node.codes)
    cols, names = [], []
    for name in t.column_names:
        if name == node.rows_id and name not in types:  # (its own count, not the query's)
            continue
        oid = back.get(name) or keys.get(name) or name
        col = chunk(t.column(name))
        if name in back:
            col = as_decimal(col, types[oid])
        elif name in keys:
            col = strings_of(col, types[oid])
        cols.append(col)
        names.append(oid)
    out = pa.Table.from_arrays(cols, names=names)
    return out.select([i for i, _ in node.original.output])


def as_decimal(a: pa.Array, t: pa.DataType) -> pa.Array:
    """Unscaled int64s as decimals of type ``t`` (its scale theirs): each widened to 128
    bits, the high word the sign's extension."""
    v = a.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    words = np.empty((len(v), 2), np.int64)
    words[:, 0] = v
    words[:, 1] = v >> 63
    return pa.Array.from_buffers(pa.decimal128(38, t.scale), len(v),
                                 [validity(a), pa.py_buffer(words)],
                                 null_count=a.null_count).cast(t)
