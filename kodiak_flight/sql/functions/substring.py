"""``s LIKE '%needle%'`` over whole buffers: the needle's bytes compared along the batch's
value bytes, not string by string.

Arrow's substring kernel walks each string on its own: 80-100 ms for 1 M URLs (47 MB) that
mostly do not hold the needle, where DuckDB's whole query takes about 11. Here the needle's
two rarest bytes (counted in the first 64 KiB of the batch) are compared along the values
buffer at their offsets in the needle (numpy, no Python per row); the few candidate
positions left are found and checked against the rest of the needle a byte at a time, and a
match counts only when it lies inside one value (it may not start in one string and end in
the next). Where the two bytes leave many candidates (``'%http%'`` over URLs: one a
string), finding them costs more than Arrow's walk, which then stops early in most strings:
the batch goes to Arrow's kernel (``DENSE``).
"""

from __future__ import annotations

import threading

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .udf import constant_of

SAMPLE_BYTES = 1 << 16
DENSE = 1 / 128  # candidates per position above which Arrow's kernel is used
KEPT_BYTES = 16 << 20  # scratch kept per thread up to this size
_local = threading.local()


def contains_kernel(arr: pa.Array, needle: pa.Scalar | pa.Array) -> pa.Array:
    """The registered kernel (``functions/udf.py``): ``needle`` is the LIKE pattern's
    constant middle, a scalar (or, when Arrow folds a call of constants, an array of it)."""
    return contains(arr, constant_of(needle).as_py().encode())


def value_bytes(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """A non-empty ``string``/``large_string`` (or binary) array's offsets, as int64 from 0,
    and the bytes of its values (no copy)."""
    width = np.int64 if pa.types.is_large_string(arr.type) or \
        pa.types.is_large_binary(arr.type) else np.int32
    offsets = np.frombuffer(arr.buffers()[1], width, count=len(arr) + 1,
                            offset=arr.offset * np.dtype(width).itemsize).astype(np.int64)
    first, last = int(offsets[0]), int(offsets[-1])
    data = arr.buffers()[2]
    values = np.frombuffer(data, np.uint8, count=last - first, offset=first) \
        if data is not None else np.empty(0, np.uint8)
    return offsets - first, values


def contains(arr: pa.Array, needle: bytes) -> pa.Array:
    """Whether each value of the ``string``/``large_string`` (or binary) array ``arr``
    holds ``needle``; NULL stays NULL."""
    n = len(arr)
    if n == 0:
        return pa.array([], pa.bool_())
    offsets, values = value_bytes(arr)
    if not needle:
        hit = np.ones(n, np.bool_)
    elif len(values) < len(needle):
        hit = np.zeros(n, np.bool_)
    else:
        hit = _hits(values, offsets, np.frombuffer(needle, np.uint8))
        if hit is None:
            return pc.match_substring(arr, needle.decode())
    out = pa.array(hit)
    if arr.null_count:
        out = pc.if_else(arr.is_valid(), out, pa.scalar(None, pa.bool_()))
    return out


def _hits(values: np.ndarray, offsets: np.ndarray, needle: np.ndarray) -> np.ndarray | None:
    """Per string (``offsets`` from 0), whether ``needle`` lies inside it; None where
    Arrow's kernel is the faster (``DENSE``)."""
    k = len(needle)
    order = _by_rarity(values[:SAMPLE_BYTES], needle)
    span = len(values) - k + 1  # positions where a match can start
    found = _scratch(span)
    np.equal(values[order[0]:span + order[0]], needle[order[0]], out=found[:span])
    _narrow(found, values, needle, order[1:2], span)
    if np.count_nonzero(found) > span * DENSE:
        return None
    starts = _positions(found)
    for i in order[2:]:
        starts = starts[values[starts + i] == needle[i]]
    hit = np.zeros(len(offsets) - 1, np.bool_)
    if len(starts):
        rows = np.searchsorted(offsets, starts, side="right") - 1
        hit[rows[starts + k <= offsets[rows + 1]]] = True
    return hit


def _narrow(found: np.ndarray, values: np.ndarray, needle: np.ndarray, at: list[int],
            span: int) -> None:
    """Clear in ``found`` each start position whose byte ``at[i]`` on differs from the
    needle's. numpy's ops with ``out``: an in-place ``&=`` of a fresh mask took ten times
    as long here (new pages)."""
    other = _scratch(span, 1)
    for i in at:
        np.equal(values[i:span + i], needle[i], out=other[:span])
        np.logical_and(found[:span], other[:span], out=found[:span])


def _positions(found: np.ndarray) -> np.ndarray:
    """The set positions of ``found`` (padded with False to whole 8-byte words): the words
    holding one found first, then the bytes of those. ``flatnonzero`` over the mask costs
    about what the comparisons cost; over its words' "any", an eighth of that."""
    words = np.flatnonzero(found.view(np.uint64) != 0)
    rows, cols = np.nonzero(found.reshape(-1, 8)[words])
    return words[rows] * 8 + cols


def _scratch(span: int, which: int = 0) -> np.ndarray:
    """A boolean buffer of ``span`` padded to whole 8-byte words (the padding False), kept
    per thread up to ``KEPT_BYTES``: a fresh allocation of a few MiB is new pages from the
    kernel each time (glibc trims what was freed), and their page faults took longer than
    the search (3.5 ms against 0.6 for a 65,536-row batch of URLs)."""
    size = (span + 7) // 8 * 8
    if size > KEPT_BYTES:
        buf = np.empty(size, np.bool_)
    else:
        kept = getattr(_local, "buffers", None)
        if kept is None or len(kept[0]) < size:
            kept = _local.buffers = (np.empty(size, np.bool_), np.empty(size, np.bool_))
        buf = kept[which][:size]
    buf[span:] = False
    return buf


def _by_rarity(sample: np.ndarray, needle: np.ndarray) -> list[int]:
    """The needle's positions, its rarest bytes in ``sample`` first."""
    counts = np.bincount(sample, minlength=256)
    return sorted(range(len(needle)), key=lambda i: (counts[needle[i]], i))
