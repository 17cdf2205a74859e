"""``substring(s, start, length)`` where start or length is a column: Arrow's slice takes
constants only, so the characters' byte positions are found for the whole batch at once
(a character starts at every byte that is not a UTF-8 continuation byte) and each row's
bytes gathered in one take. The semantics are ``strings.substring``'s: 1-based, a start of
0 or less shortens the length, a negative start counts from the end, a negative length
takes the characters before the start (DuckDB's)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .substring import value_bytes


def char_starts(data: np.ndarray) -> np.ndarray:
    """Whether each byte of UTF-8 text begins a character (is no continuation byte)."""
    return (data & 0xC0) != 0x80


def chars_before(data: np.ndarray) -> np.ndarray:
    """The characters before each byte position of UTF-8 text (one more entry, the total)."""
    return np.concatenate([[0], np.cumsum(char_starts(data))])


def _bounds(n: np.ndarray, start: np.ndarray, length: np.ndarray | None
            ) -> tuple[np.ndarray, np.ndarray]:
    """Each row's first and last-plus-one character, clamped to 0..n. The start is 1-based
    (0 is just before the first character, a negative one counts from the end); a negative
    length takes the characters before the start, as DuckDB does."""
    at = np.where(start > 0, start - 1, np.where(start == 0, -1, n + start))
    if length is None:
        begin, end = at, n
    else:
        begin = np.where(length >= 0, at, at + length)
        end = np.where(length >= 0, at + length, at)
    begin = np.clip(begin, 0, n)
    return begin, np.clip(end, begin, n)


def substring_kernel(s: pa.Array, start: pa.Array, length: pa.Array | None = None
                     ) -> pa.Array:
    """The registered kernel: ``s``'s characters from ``start`` for ``length``."""
    rows = len(s)
    if rows == 0:
        return pa.array([], pa.string())
    offsets, data = value_bytes(s)
    char_off = chars_before(data)[offsets]
    n = np.diff(char_off)
    where = np.append(np.flatnonzero(char_starts(data)), len(data))  # each character's byte
    st = pc.fill_null(start, 1).to_numpy(zero_copy_only=False).astype(np.int64)
    ln = pc.fill_null(length, 0).to_numpy(zero_copy_only=False).astype(np.int64) \
        if length is not None else None
    b, e = _bounds(n, st, ln)
    byte_b, byte_e = where[char_off[:-1] + b], where[char_off[:-1] + e]
    sizes = byte_e - byte_b
    out_offsets = np.concatenate([[0], np.cumsum(sizes)])
    take = np.repeat(byte_b - out_offsets[:-1], sizes) + np.arange(out_offsets[-1])
    out = pa.StringArray.from_buffers(rows, pa.py_buffer(out_offsets.astype(np.int32)),
                                      pa.py_buffer(data[take].tobytes()))
    missing = s.is_null()
    for a in (start, length):
        if a is not None and a.null_count:
            missing = pc.or_(missing, a.is_null())
    return pc.if_else(missing, pa.nulls(rows, pa.string()), out) if missing.true_count \
        else out


def characters_kernel(s: pa.Array) -> pa.Array:
    """Each value as the list of its characters (``string_split(s, '')``, DuckDB's): the
    characters' byte positions are the offsets of one string array over the same bytes."""
    rows = len(s)
    if rows == 0:
        return pa.array([], pa.list_(pa.string()))
    offsets, data = value_bytes(s)
    char_off = chars_before(data)[offsets]
    starts = np.append(np.flatnonzero(char_starts(data)), len(data)).astype(np.int32)
    chars = pa.StringArray.from_buffers(len(starts) - 1, pa.py_buffer(starts),
                                        pa.py_buffer(data.tobytes()))
    lists = pa.ListArray.from_arrays(pa.array(char_off.astype(np.int32)), chars)
    return pc.if_else(s.is_null(), pa.nulls(rows, lists.type), lists) if s.null_count \
        else lists


def char_index_kernel(s: pa.Array, byte_index: pa.Array) -> pa.Array:
    """Byte positions within each value (``find_substring``'s, -1 for none) as character
    positions: the characters starting before that byte."""
    rows = len(s)
    if rows == 0:
        return pa.array([], pa.int32())
    offsets, data = value_bytes(s)
    idx = pc.fill_null(byte_index, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    if not len(data) or data.max() < 0x80:  # ASCII: bytes are characters
        chars = idx
    else:
        before = chars_before(data)
        at = offsets[:-1] + np.maximum(idx, 0)
        chars = np.where(idx < 0, -1, before[at] - before[offsets[:-1]])
    mask = None if not byte_index.null_count else \
        byte_index.is_null().to_numpy(zero_copy_only=False)
    return pa.array(chars.astype(np.int32), pa.int32(), mask=mask)
