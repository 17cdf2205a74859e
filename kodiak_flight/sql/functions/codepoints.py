"""Characters as numbers: ``ascii(s)`` (the code point of the first character) and
``chr(n)`` (the character of a code point), UTF-8 encoded and decoded over whole batches
in numpy."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ExecutionError
from ..expr import Expr, cast
from .registry import SCALAR, Function, register
from .strings import to_string
from .substring import value_bytes
from .udf import udf

_MAX = 0x10FFFF


def _nulls(arr: pa.Array) -> np.ndarray | None:
    return None if not arr.null_count else arr.is_null().to_numpy(zero_copy_only=False)


def ascii_kernel(arr: pa.Array) -> pa.Array:
    """The code point of each value's first character (0 for '')."""
    n = len(arr)
    if n == 0:
        return pa.array([], pa.int32())
    offsets, data = value_bytes(arr)
    size = np.diff(offsets)
    padded = np.concatenate([data, np.zeros(4, np.uint8)]).astype(np.int64)
    at = offsets[:-1]
    b0, b1, b2, b3 = (padded[at + k] for k in range(4))
    cont = [b & 0x3F for b in (b1, b2, b3)]
    cp = np.select([b0 < 0x80, b0 < 0xE0, b0 < 0xF0],
                   [b0, ((b0 & 0x1F) << 6) | cont[0],
                    ((b0 & 0x0F) << 12) | (cont[0] << 6) | cont[1]],
                   ((b0 & 0x07) << 18) | (cont[0] << 12) | (cont[1] << 6) | cont[2])
    return pa.array(np.where(size > 0, cp, 0).astype(np.int32), pa.int32(), mask=_nulls(arr))


def chr_kernel(arr: pa.Array) -> pa.Array:
    """The one-character string of each code point (UTF-8 encoded)."""
    n = len(arr)
    valid = ~_nulls(arr) if arr.null_count else np.ones(n, bool)
    cp = pc.fill_null(arr, 0).to_numpy(zero_copy_only=False).astype(np.int64)
    bad = valid & ((cp < 0) | (cp > _MAX) | ((cp >= 0xD800) & (cp <= 0xDFFF)))
    if bad.any():
        raise ExecutionError(f"chr: {int(cp[bad][0])} is not a Unicode code point")
    size = np.where(~valid, 0, np.select([cp < 0x80, cp < 0x800, cp < 0x10000], [1, 2, 3], 4))
    lead = np.select([size == 1, size == 2, size == 3],
                     [cp, 0xC0 | (cp >> 6), 0xE0 | (cp >> 12)], 0xF0 | (cp >> 18))
    rest = [0x80 | ((cp >> s) & 0x3F) for s in (12, 6, 0)]
    # the bytes of each code point in order: the lead, then its last size-1 continuations
    table = np.stack([lead, *rest], axis=1)
    order = np.stack([np.zeros(n, np.int64)] + [np.clip(k + 4 - size, 1, 3) for k in (1, 2, 3)],
                     axis=1)
    picked = np.take_along_axis(table, order, axis=1)
    keep = np.arange(4)[None, :] < size[:, None]
    data = picked[keep].astype(np.uint8)
    offsets = np.concatenate([[0], np.cumsum(size)]).astype(np.int32)
    out = pa.StringArray.from_buffers(n, pa.py_buffer(offsets.tobytes()),
                                      pa.py_buffer(data.tobytes()))
    return out if not arr.null_count else pc.if_else(pa.array(valid), out,
                                                      pa.nulls(n, pa.string()))


def _ascii(args: list[Expr]) -> Expr:
    return udf("ascii", ascii_kernel, [to_string(args[0])], pa.int32())


def _chr(args: list[Expr]) -> Expr:
    return udf("chr", chr_kernel, [cast(args[0], pa.int64())], pa.string())


register(Function("ascii", SCALAR, _ascii, 1, 1,
                  doc="the code point of the first character (0 for '')"))
register(Function("chr", SCALAR, _chr, 1, 1, doc="the character of a Unicode code point"))
