"""Characters as numbers: ``ascii(s)`` (the code point of the first character) and
``chr(n)`` (the character of a code point), UTF-8 encoded and decoded over whole batches
in numpy."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ExecutionError
from ..expr import Expr, Lit, cast
from .registry import SCALAR, Function, constant, register
from .slices import char_starts
from .strings import to_string
from .substring import value_bytes
from .udf import constant_of, udf

_MAX = 0x10FFFF


def _nulls(arr: pa.Array) -> np.ndarray | None:
    return None if not arr.null_count else arr.is_null().to_numpy(zero_copy_only=False)


def decode(data: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The code points of the UTF-8 characters starting at byte positions ``at``."""
    padded = np.concatenate([data, np.zeros(4, np.uint8)]).astype(np.int64)
    b0, b1, b2, b3 = (padded[at + k] for k in range(4))
    cont = [b & 0x3F for b in (b1, b2, b3)]
    return np.select([b0 < 0x80, b0 < 0xE0, b0 < 0xF0],
                     [b0, ((b0 & 0x1F) << 6) | cont[0],
                      ((b0 & 0x0F) << 12) | (cont[0] << 6) | cont[1]],
                     ((b0 & 0x07) << 18) | (cont[0] << 12) | (cont[1] << 6) | cont[2])


def encode(cp: np.ndarray, present: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The UTF-8 bytes of code points ``cp`` (none where not ``present``): each one's size
    and all the bytes in order."""
    size = np.where(~present, 0, np.select([cp < 0x80, cp < 0x800, cp < 0x10000],
                                           [1, 2, 3], 4))
    lead = np.select([size == 1, size == 2, size == 3],
                     [cp, 0xC0 | (cp >> 6), 0xE0 | (cp >> 12)], 0xF0 | (cp >> 18))
    rest = [0x80 | ((cp >> s) & 0x3F) for s in (12, 6, 0)]
    # the bytes of each code point in order: the lead, then its last size-1 continuations
    table = np.stack([lead, *rest], axis=1)
    order = np.stack([np.zeros(len(cp), np.int64)] +
                     [np.clip(k + 4 - size, 1, 3) for k in (1, 2, 3)], axis=1)
    picked = np.take_along_axis(table, order, axis=1)
    keep = np.arange(4)[None, :] < size[:, None]
    return size, picked[keep].astype(np.uint8)


def _strings(sizes: np.ndarray, data: np.ndarray) -> pa.Array:
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int32)
    return pa.StringArray.from_buffers(len(sizes), pa.py_buffer(offsets.tobytes()),
                                       pa.py_buffer(data.tobytes()))


def _constant(v: pa.Scalar | pa.Array) -> str:
    """A constant argument's text (a scalar, or an array repeating it)."""
    return str(constant_of(v).as_py())


def ascii_kernel(arr: pa.Array) -> pa.Array:
    """The code point of each value's first character (0 for '')."""
    if len(arr) == 0:
        return pa.array([], pa.int32())
    offsets, data = value_bytes(arr)
    cp = decode(data, offsets[:-1])
    return pa.array(np.where(np.diff(offsets) > 0, cp, 0).astype(np.int32), pa.int32(),
                    mask=_nulls(arr))


def chr_kernel(arr: pa.Array) -> pa.Array:
    """The one-character string of each code point (UTF-8 encoded)."""
    n = len(arr)
    valid = ~_nulls(arr) if arr.null_count else np.ones(n, bool)
    cp = pc.fill_null(arr, 0).to_numpy(zero_copy_only=False).astype(np.int64)
    bad = valid & ((cp < 0) | (cp > _MAX) | ((cp >= 0xD800) & (cp <= 0xDFFF)))
    if bad.any():
        raise ExecutionError(f"chr: {int(cp[bad][0])} is not a Unicode code point")
    out = _strings(*encode(cp, valid))
    return out if not arr.null_count else pc.if_else(pa.array(valid), out,
                                                      pa.nulls(n, pa.string()))


def translate_kernel(arr: pa.Array, source: pa.Scalar | pa.Array,
                     target: pa.Scalar | pa.Array) -> pa.Array:
    """Each character of ``source`` replaced by the one at its place in ``target``, or
    dropped where ``target`` is shorter (PostgreSQL's and DuckDB's translate)."""
    rows = len(arr)
    if rows == 0:
        return pa.array([], pa.string())
    src, dst = [ord(c) for c in _constant(source)], [ord(c) for c in _constant(target)]
    firsts = {c: i for i, c in reversed(list(enumerate(src)))}  # a repeated one: its first
    keys = np.array(sorted(firsts), dtype=np.int64)
    places = np.array([firsts[k] for k in keys], dtype=np.int64)
    offsets, data = value_bytes(arr)
    starts = np.flatnonzero(char_starts(data))
    cp = decode(data, starts)
    row = np.searchsorted(offsets, starts, side="right") - 1
    hit = np.searchsorted(keys, cp).clip(0, max(len(keys) - 1, 0))
    found = (keys[hit] == cp) if len(keys) else np.zeros(len(cp), bool)
    place = np.where(found, places[hit] if len(keys) else 0, -1)
    mapped = np.array(dst + [0], dtype=np.int64)[np.where(place < len(dst), place, len(dst))]
    out_cp = np.where(found, mapped, cp)
    keep = ~found | (place < len(dst))
    sizes, out_bytes = encode(out_cp, keep)
    per_row = np.bincount(row, weights=sizes, minlength=rows).astype(np.int64)
    out = _strings(per_row, out_bytes)
    return pc.if_else(arr.is_null(), pa.nulls(rows, pa.string()), out) if arr.null_count \
        else out


def _ascii(args: list[Expr]) -> Expr:
    return udf("ascii", ascii_kernel, [to_string(args[0])], pa.int32())


def _chr(args: list[Expr]) -> Expr:
    return udf("chr", chr_kernel, [cast(args[0], pa.int64())], pa.string())


def _translate(args: list[Expr]) -> Expr:
    source = str(constant(args[1], "translate characters"))
    target = str(constant(args[2], "translate replacements"))
    return udf("translate", translate_kernel,
               [to_string(args[0]), Lit(source, pa.string()), Lit(target, pa.string())],
               pa.string(), scalars=True)


register(Function("ascii", SCALAR, _ascii, 1, 1,
                  doc="the code point of the first character (0 for '')"))
register(Function("chr", SCALAR, _chr, 1, 1, doc="the character of a Unicode code point"))
register(Function("translate", SCALAR, _translate, 3, 3,
                  doc="translate(s, from, to): each character of from replaced by the "
                      "one at its place in to, or dropped"))
