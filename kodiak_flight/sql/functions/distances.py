"""String distances: ``levenshtein(a, b)`` (edits: insert, delete, replace a character) and
``hamming(a, b)`` / ``mismatches`` (positions that differ, equal lengths). The Levenshtein
table is filled one cell position at a time for every row of a batch at once (numpy over
rows), so the work is the longest pair's length squared in vector steps, never a Python loop
over rows."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ExecutionError
from ..expr import Expr
from .registry import SCALAR, Function, register
from .strings import to_string
from .udf import udf

_MAX_CHARS = 2_000  # a longer value makes the table too large to fill per batch


def _code_points(a: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Each value's characters as a row of code points (0-padded) and its length."""
    text = pc.fill_null(a, "")
    lengths = pc.utf8_length(text).to_numpy(zero_copy_only=False).astype(np.int64)
    width = int(lengths.max()) if len(lengths) else 0
    if width > _MAX_CHARS:
        raise ExecutionError(f"levenshtein: a value of {width} characters is longer than "
                             f"{_MAX_CHARS}")
    table = np.zeros((len(lengths), width), dtype=np.uint32)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    chars = _all_code_points(text)
    rows = np.repeat(np.arange(len(lengths)), lengths)
    cols = np.arange(offsets[-1]) - np.repeat(offsets[:-1], lengths)
    table[rows, cols] = chars
    return table, lengths


def _all_code_points(text: pa.Array) -> np.ndarray:
    """The code points of every value, one after another (UTF-8 decoded in numpy)."""
    data = np.frombuffer(text.buffers()[2], dtype=np.uint8) if text.buffers()[2] is not None \
        else np.zeros(0, np.uint8)
    offs = np.frombuffer(text.buffers()[1], dtype=np.int32)
    offs = offs[text.offset:text.offset + len(text) + 1]
    data = data[offs[0]:offs[-1]].astype(np.uint32)
    starts = np.flatnonzero((data & 0xC0) != 0x80)
    lead = data[starts]
    n = np.where(lead < 0x80, 1, np.where(lead < 0xE0, 2, np.where(lead < 0xF0, 3, 4)))
    cp = np.where(n == 1, lead, np.where(n == 2, lead & 0x1F, np.where(n == 3, lead & 0x0F,
                                                                       lead & 0x07)))
    for k in (1, 2, 3):
        more = n > k
        idx = np.minimum(starts + k, len(data) - 1)
        cp = np.where(more, (cp << 6) | (data[idx] & 0x3F), cp)
    return cp.astype(np.uint32)


def levenshtein_kernel(a: pa.Array, b: pa.Array) -> pa.Array:
    x, lx = _code_points(a)
    y, ly = _code_points(b)
    n = len(lx)
    prev = np.tile(np.arange(y.shape[1] + 1, dtype=np.int64), (n, 1))
    for i in range(x.shape[1]):
        cur = np.empty_like(prev)
        cur[:, 0] = i + 1
        cost = (x[:, i:i + 1] != y).astype(np.int64)
        for j in range(y.shape[1]):
            cur[:, j + 1] = np.minimum(np.minimum(prev[:, j + 1] + 1, cur[:, j] + 1),
                                       prev[:, j] + cost[:, j])
        # rows whose first value is shorter keep their last full row
        prev = np.where((i < lx)[:, None], cur, prev)
    out = prev[np.arange(n), ly] if n else np.zeros(0, np.int64)
    nulls = pc.or_(a.is_null(), b.is_null()).to_numpy(zero_copy_only=False)
    return pa.array(out, pa.int64(), mask=nulls)


def hamming_kernel(a: pa.Array, b: pa.Array) -> pa.Array:
    x, lx = _code_points(a)
    y, ly = _code_points(b)
    nulls = pc.or_(a.is_null(), b.is_null()).to_numpy(zero_copy_only=False)
    if (~nulls & (lx != ly)).any():
        raise ExecutionError("hamming: the two values must have the same length")
    width = max(x.shape[1], y.shape[1])
    x = np.pad(x, ((0, 0), (0, width - x.shape[1])))
    y = np.pad(y, ((0, 0), (0, width - y.shape[1])))
    return pa.array((x != y).sum(axis=1).astype(np.int64), pa.int64(), mask=nulls)


def _levenshtein(args: list[Expr]) -> Expr:
    return udf("levenshtein", levenshtein_kernel, [to_string(a) for a in args], pa.int64())


register(Function("levenshtein", SCALAR, _levenshtein, 2, 2, aliases=("editdist3",),
                  doc="levenshtein(a, b): the fewest single-character edits from a to b"))
register(Function("hamming", SCALAR,
                  lambda a: udf("hamming", hamming_kernel, [to_string(x) for x in a],
                                pa.int64()),
                  2, 2, aliases=("mismatches",),
                  doc="hamming(a, b): the positions where two equally long values differ"))
