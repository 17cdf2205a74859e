"""Aggregates over each row's list, DuckDB's: ``list_sum``, ``list_avg``, ``list_min``,
``list_max``, ``list_count`` (its non-NULL elements) and ``list_product`` (a DOUBLE, as
DuckDB's). One kernel a
batch: the lists' elements flattened, aggregated by Arrow's hash aggregate grouped on the
row they came from, and put back in row order (an empty list, or one of NULLs only, gives
NULL, and a count 0; a NULL list gives NULL)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import SqlTypeError
from ..expr import Expr, cast
from ..types import is_numeric, sql_name
from .lists import require_list
from .registry import SCALAR, Function, register
from .udf import udf


def _per_row(lists: pa.ListArray, kernel: str) -> pa.Array:
    """Arrow's hash aggregate ``kernel`` of each list's elements, one value per row."""
    flat = pc.list_flatten(lists)
    rows = pc.list_parent_indices(lists)
    done = pa.table({"row": rows, "v": flat}).group_by("row", use_threads=False) \
        .aggregate([("v", kernel)])
    done = done.combine_chunks()  # (no rows: columns of no chunks)
    at = np.full(len(lists), -1, dtype=np.int64)
    if done.num_rows:
        at[done.column("row").chunk(0).to_numpy()] = np.arange(done.num_rows)
    picked = pa.array(at, mask=at < 0)
    agg = done.column(1)
    found = agg.chunk(0) if agg.num_chunks else pa.array([], agg.type)
    out = found.take(picked)
    if kernel == "count":  # every list that is not NULL has a count
        out = pc.if_else(lists.is_null(), pa.scalar(None, out.type), pc.fill_null(out, 0))
    return out


def _kernel(kernel: str):  # noqa: ANN202 (a kernel for udf)
    return lambda lists: _per_row(lists, kernel)


def _build(name: str, kernel: str, numbers: bool, result):  # noqa: ANN001, ANN202
    def build(args: list[Expr]) -> Expr:
        lst = require_list(args[0], name)
        t = lst.type.value_type
        if pa.types.is_null(t):
            lst, t = cast(lst, pa.list_(pa.int32())), pa.int32()
        if numbers and not is_numeric(t):
            raise SqlTypeError(f"{name} needs a list of numbers, not {sql_name(lst.type)}")
        if kernel == "product" or (pa.types.is_decimal(t) and kernel == "mean"):
            lst, t = cast(lst, pa.list_(pa.float64())), pa.float64()
        return udf(name, _kernel(kernel), [lst], result(t), name)
    return build


def _sum_type(t: pa.DataType) -> pa.DataType:
    if pa.types.is_decimal(t):
        return pa.decimal128(38, t.scale)
    if pa.types.is_floating(t):
        return pa.float64()
    return pa.uint64() if pa.types.is_unsigned_integer(t) else pa.int64()


for _name, _agg, _numbers, _result, _aliases in (
        ("list_sum", "sum", True, _sum_type, ("array_sum",)),
        ("list_avg", "mean", True, lambda t: pa.float64(), ("array_avg",)),
        ("list_product", "product", True, lambda t: pa.float64(), ("array_product",)),
        ("list_min", "min", False, lambda t: t, ("array_min",)),
        ("list_max", "max", False, lambda t: t, ("array_max",)),
        ("list_count", "count", False, lambda t: pa.int64(), ())):
    register(Function(_name, SCALAR, _build(_name, _agg, _numbers, _result), 1, 1, _aliases,
                      doc=f"{_name}(l): {_agg} of the list's elements"))
