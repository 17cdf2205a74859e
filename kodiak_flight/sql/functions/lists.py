"""List functions, DuckDB's: ``list_value`` (``[a, b]``), ``array_length``, ``list_contains``,
``list_extract`` (``l[i]``, 1-based, negative from the end, NULL out of range) and
``list_slice`` (``l[a:b]``, 1-based and inclusive). Lists are Arrow list arrays; what Arrow
has no kernel for is a vectorised kernel of ``udf``, computed on offsets with numpy."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import SqlTypeError
from ..expr import Expr, Lit, call, cast, is_const
from ..types import sql_name
from .operators import coerce_literal, unify
from .registry import SCALAR, Function, register
from .udf import udf


def is_list(t: pa.DataType) -> bool:
    return pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)


def require_list(e: Expr, what: str) -> Expr:
    if pa.types.is_null(e.type):
        return Lit(None, pa.list_(pa.int32()))
    if not is_list(e.type):
        raise SqlTypeError(f"{what} needs a list, got {sql_name(e.type)}")
    if not pa.types.is_list(e.type):
        return cast(e, pa.list_(e.type.value_type))
    return e


def _bounds(lists: pa.ListArray) -> tuple[np.ndarray, np.ndarray]:
    """Each list's first value index in ``lists.values`` and its length."""
    offs = lists.offsets.to_numpy(zero_copy_only=False).astype(np.int64)
    return offs[:-1], offs[1:] - offs[:-1]


def _ints(a: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """An integer array's values (NULL as 0) and its validity."""
    valid = a.is_valid().to_numpy(zero_copy_only=False)
    return pc.fill_null(a.cast(pa.int64()), 0).to_numpy(zero_copy_only=False), valid


def _ranges(start: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Concatenated ranges start[i] .. start[i] + length[i] - 1."""
    total = int(length.sum())
    if not total:
        return np.zeros(0, np.int64)
    ends = np.cumsum(length)
    shift = np.repeat(start - (ends - length), length)
    return shift + np.arange(total, dtype=np.int64)


# ---------------------------------------------------------------------------- kernels


def _list_value_kernel(*arrays: pa.Array) -> pa.Array:
    n, k = len(arrays[0]), len(arrays)
    values = pa.concat_arrays(list(arrays))
    idx = (np.arange(n)[:, None] + np.arange(k)[None, :] * n).ravel()
    offsets = pa.array(np.arange(n + 1, dtype=np.int32) * k)
    return pa.ListArray.from_arrays(offsets, values.take(pa.array(idx, pa.int64())))


def _contains_kernel(lists: pa.ListArray, x: pa.Array) -> pa.Array:
    start, length = _bounds(lists)
    n = len(lists)
    rows = np.repeat(np.arange(n), length)
    flat = lists.values.take(pa.array(_ranges(start, length), pa.int64()))
    eq = pc.fill_null(pc.equal(flat, x.take(pa.array(rows, pa.int64()))), False)
    hits = np.bincount(rows[eq.to_numpy(zero_copy_only=False)], minlength=n) > 0
    null = (lists.is_null().to_numpy(zero_copy_only=False)
            | x.is_null().to_numpy(zero_copy_only=False))
    return pa.array(hits, pa.bool_(), mask=null)


def _extract_kernel(lists: pa.ListArray, i: pa.Array) -> pa.Array:
    start, length = _bounds(lists)
    idx, valid = _ints(i)
    pos = np.where(idx > 0, idx - 1, length + idx)
    ok = valid & (idx != 0) & (pos >= 0) & (pos < length) & \
        lists.is_valid().to_numpy(zero_copy_only=False)
    take = pa.array(np.where(ok, start + pos, 0), pa.int64(), mask=~ok)
    if not len(lists.values):
        return pa.nulls(len(lists), lists.type.value_type)
    return lists.values.take(take)


def _slice_bounds(b: np.ndarray, e: np.ndarray, length: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """DuckDB's 1-based inclusive ``[b:e]`` (negative from the end) as a 0-based start and
    a length, clamped to the list."""
    lo = np.where(b > 0, b - 1, np.where(b < 0, length + b, 0))
    hi = np.where(e < 0, length + e + 1, e)
    lo = np.clip(lo, 0, length)
    hi = np.clip(hi, 0, length)
    return lo, np.maximum(hi - lo, 0)


def _slice_kernel(lists: pa.ListArray, b: pa.Array, e: pa.Array) -> pa.Array:
    start, length = _bounds(lists)
    bv, bok = _ints(b)
    ev, eok = _ints(e)
    lo, width = _slice_bounds(bv, ev, length)
    null = ~(bok & eok) | lists.is_null().to_numpy(zero_copy_only=False)
    width = np.where(null, 0, width)
    offsets = np.concatenate([[0], np.cumsum(width)]).astype(np.int32)
    values = lists.values.take(pa.array(_ranges(start + lo, width), pa.int64()))
    return pa.ListArray.from_arrays(pa.array(offsets), values, type=lists.type,
                                    mask=pa.array(null))


# ---------------------------------------------------------------------------- builders


def list_value(args: list[Expr]) -> Expr:
    """``[a, b, ...]`` / ``list_value(a, b, ...)``: one list per row."""
    if not args:
        return Lit([], pa.list_(pa.null()))
    args = unify(args, "list elements")
    t = args[0].type
    if all(is_const(a) for a in args):
        return Lit([a.value for a in args], pa.list_(t))
    return udf("list_value", _list_value_kernel, args, pa.list_(t), "list_value")


def list_length(args: list[Expr]) -> Expr:
    lst = require_list(args[0], "array_length")
    return cast(call("list_value_length", [lst]), pa.int64())


def list_contains(args: list[Expr]) -> Expr:
    lst = require_list(args[0], "list_contains")
    t = lst.type.value_type
    if pa.types.is_null(t):  # [] holds nothing
        t = args[1].type if not pa.types.is_null(args[1].type) else pa.int32()
        lst = cast(lst, pa.list_(t))
    x = cast(coerce_literal(args[1], t), t)
    return udf("list_contains", _contains_kernel, [lst, x], pa.bool_(), "list_contains")


def list_extract(args: list[Expr]) -> Expr:
    """``list_extract(l, i)``: the i-th element, 1-based (negative: from the end)."""
    lst = require_list(args[0], "list_extract")
    return udf("list_extract", _extract_kernel, [lst, cast(args[1], pa.int64())],
               lst.type.value_type, "list_extract")


def list_slice(args: list[Expr]) -> Expr:
    """``list_slice(l, begin, end)``: elements begin..end, 1-based and inclusive."""
    lst = require_list(args[0], "list_slice")
    b, e = (cast(a, pa.int64()) for a in args[1:3])
    return udf("list_slice", _slice_kernel, [lst, b, e], lst.type, "list_slice")


def _fn(name: str, build, lo: int, hi: int | None, aliases: tuple[str, ...] = (),
        doc: str = "") -> None:
    register(Function(name, SCALAR, build, lo, hi, aliases, doc=doc))


_fn("list_value", list_value, 0, None, ("array", "list_pack"), "[a, b, ...]: a list")
_fn("array_length", list_length, 1, 1, ("array_size", "list_length", "cardinality"),
    "elements of a list (also len)")
_fn("list_contains", list_contains, 2, 2, ("array_contains", "list_has", "array_has"),
    "whether the list holds the value")
_fn("list_extract", list_extract, 2, 2, ("list_element", "array_extract"),
    "l[i]: the i-th element, 1-based; NULL out of range")
_fn("list_slice", list_slice, 3, 3, ("array_slice",), "l[a:b]: 1-based, inclusive")
