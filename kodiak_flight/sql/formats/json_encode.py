"""Arrow data as JSON text, a column at a time (no loop over rows in Python).

Each Arrow type maps to the JSON that ``json.dumps`` of its Python value would give, with
the mapping ``kodiak export`` has always used for what JSON has no type for: decimals as
strings (their digits kept), dates, times and timestamps as ISO 8601 strings, binary as
base64, durations as seconds, NaN and infinities as null. Objects are written compactly
(``{"a":1,"b":"x"}``), non-ASCII text as it is.
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .errors import FormatError

_B64 = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
                     np.uint8)
# What json.dumps(..., ensure_ascii=False) escapes besides backslash and double quote.
_CONTROL = {0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r"}
_SECONDS = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}


def lit(value: str | float | None, type_: pa.DataType | None = None) -> pa.Scalar:
    """A constant as an Arrow scalar, built from buffers: pyarrow's conversion of Python
    values loads pandas, which would make ``kodiak sql --format json`` slow to start."""
    if value is None:
        return pa.nulls(1, type_ or pa.string())[0]
    if isinstance(value, str):
        data = value.encode()
        offsets = np.array([0, len(data)], np.int32)
        return pa.StringArray.from_buffers(1, pa.py_buffer(offsets), pa.py_buffer(data))[0]
    return numeric(np.array([value], np.float64))[0]


def numeric(values: np.ndarray) -> pa.Array:
    """A numpy array of numbers as an Arrow array without nulls (see :func:`lit`)."""
    values = np.ascontiguousarray(values)
    return pa.Array.from_buffers(pa.from_numpy_dtype(values.dtype), len(values),
                                 [None, pa.py_buffer(values)])


def rows_json(batch: pa.RecordBatch) -> pa.Array:
    """One JSON object per row of ``batch`` (a string array without nulls)."""
    return encode(pa.StructArray.from_arrays(batch.columns, names=batch.schema.names))


def encode(arr: pa.Array) -> pa.Array:
    """The JSON text of every value of ``arr`` ("null" for nulls)."""
    text = _text(arr)
    if text.null_count == 0:
        return text
    return pc.coalesce(text, lit("null"))


def _text(arr: pa.Array) -> pa.Array:
    t = arr.type
    if pa.types.is_dictionary(t):
        return _text(arr.dictionary_decode())
    if isinstance(t, pa.ExtensionType):
        return _text(arr.storage)
    if pa.types.is_null(t):
        return pa.nulls(len(arr), pa.string())
    if pa.types.is_boolean(t) or pa.types.is_integer(t):
        return arr.cast(pa.string())
    if pa.types.is_floating(t):
        return floats(arr)
    if pa.types.is_decimal(t) or pa.types.is_date(t):
        return quote(arr.cast(pa.string()))
    if pa.types.is_timestamp(t):
        return quote(timestamps(arr))
    if pa.types.is_time(t):
        return quote(times(arr))
    if pa.types.is_duration(t):
        return floats(pc.divide(arr.cast(pa.int64()), lit(_SECONDS[t.unit])))
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return quote(escape(arr.cast(pa.string())))
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or \
            pa.types.is_fixed_size_binary(t) or pa.types.is_binary_view(t):
        return quote(base64(arr))
    if pa.types.is_struct(t):
        return struct(arr)
    if pa.types.is_map(t):
        return _map(arr)
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t) \
            or pa.types.is_list_view(t) or pa.types.is_large_list_view(t):
        return lists(arr)
    try:
        return quote(escape(arr.cast(pa.string())))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise FormatError(f"cannot write {t} values as JSON") from None


def join(*parts: pa.Array | str) -> pa.Array:
    """Element-wise concatenation of string arrays and constants (null if any part is)."""
    return pc.binary_join_element_wise(*[lit(p) if isinstance(p, str) else p for p in parts],
                                       lit(""))


def quote(s: pa.Array) -> pa.Array:
    return join('"', s, '"')


def escape(s: pa.Array) -> pa.Array:
    """Strings as the inside of JSON string literals."""
    s = pc.replace_substring(s, "\\", "\\\\")
    s = pc.replace_substring(s, '"', '\\"')
    if pc.any(pc.match_substring_regex(s, "[\\x00-\\x1f]")).as_py():
        for c in range(0x20):
            s = pc.replace_substring(s, chr(c), _CONTROL.get(c, f"\\u{c:04x}"))
    return s


def floats(arr: pa.Array) -> pa.Array:
    """Python's ``repr`` of each float (what json.dumps writes); null for NaN and inf.

    Arrow's shortest round-trip text has the same digits; it differs from ``repr`` only by
    a missing ``.0`` on whole numbers and in when it uses an exponent, so those few values
    below 1e-4 or from 1e16 on go through numpy, whose ``str`` is ``repr``."""
    f = arr.cast(pa.float64())
    text = f.cast(pa.string())
    mag = pc.abs(f)
    plain = pc.and_(pc.invert(pc.match_substring(text, "e")),
                    pc.or_(pc.equal(mag, lit(0.0)),
                           pc.and_(pc.greater_equal(mag, lit(1e-4)),
                                   pc.less(mag, lit(1e16)))))
    whole = pc.and_(plain, pc.invert(pc.match_substring(text, ".")))
    text = pc.if_else(whole, join(text, ".0"), text)
    odd = pc.and_(pc.is_finite(f), pc.invert(plain))
    if pc.any(odd).as_py():
        values = f.filter(odd).to_numpy(zero_copy_only=False)
        text = pc.replace_with_mask(text, odd, pa.array(values.astype(str), pa.string()))
    return pc.if_else(pc.is_finite(f), text, lit(None))


def timestamps(arr: pa.Array) -> pa.Array:
    """``datetime.isoformat()``: no fraction when it is zero, ``+HH:MM`` when zoned."""
    t = arr.type
    if t.unit in ("s", "ms"):
        arr = arr.cast(pa.timestamp("us", t.tz))
    s = pc.strftime(arr, format="%Y-%m-%dT%H:%M:%S" + ("%z" if t.tz else ""))
    s = _drop_zero_fraction(s, t.unit)
    if t.tz:
        s = pc.replace_substring_regex(s, r"([+-]\d\d)(\d\d)$", r"\1:\2")
    return s


def times(arr: pa.Array) -> pa.Array:
    """``time.isoformat()``."""
    t = arr.type
    if t.unit in ("s", "ms"):
        arr = arr.cast(pa.time64("us"))
    return _drop_zero_fraction(arr.cast(pa.string()), t.unit)


def _drop_zero_fraction(s: pa.Array, unit: str) -> pa.Array:
    s = pc.replace_substring_regex(s, r"\.0+($|[+-])", r"\1")
    if unit == "ns":  # nanoseconds that are whole microseconds show six digits
        s = pc.replace_substring_regex(s, r"(\.\d{6})000($|[+-])", r"\1\2")
    return s


def base64(arr: pa.Array) -> pa.Array:
    """Standard base64 of each binary value, computed with numpy over the whole array."""
    if not pa.types.is_binary(arr.type):
        arr = arr.cast(pa.binary())
    n = len(arr)
    bufs = arr.buffers()
    offsets = np.frombuffer(bufs[1], np.int32)[arr.offset:arr.offset + n + 1].astype(np.int64)
    data = np.frombuffer(bufs[2], np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    lengths = np.diff(offsets)
    groups = (lengths + 2) // 3
    starts = np.concatenate([[0], np.cumsum(groups * 3)])
    padded = np.zeros(int(starts[-1]), np.uint8)
    total = int(lengths.sum())
    if total:
        owner = np.repeat(np.arange(n), lengths)
        within = np.arange(total) - np.repeat(offsets[:-1] - offsets[0], lengths)
        padded[starts[:-1][owner] + within] = data[offsets[0]:offsets[-1]]
    g = padded.reshape(-1, 3).astype(np.uint32)
    v = (g[:, 0] << 16) | (g[:, 1] << 8) | g[:, 2]
    out = _B64[np.stack([(v >> 18) & 63, (v >> 12) & 63, (v >> 6) & 63, v & 63], axis=1)]
    out = out.reshape(-1)
    ends = np.cumsum(groups * 4)
    rem = lengths % 3
    out[ends[rem == 1] - 2] = ord("=")
    out[ends[rem != 0] - 1] = ord("=")
    out_offsets = np.concatenate([[0], ends]).astype(np.int64)
    text = pa.LargeStringArray.from_buffers(n, pa.py_buffer(out_offsets), pa.py_buffer(out))
    return pc.if_else(arr.is_null(), lit(None, pa.large_string()), text).cast(pa.string())


def struct(arr: pa.StructArray) -> pa.Array:
    """``{"name":value,...}`` per struct; null where the struct is."""
    t = arr.type
    fields = arr.flatten()
    parts = [join(json.dumps(t.field(i).name, ensure_ascii=False) + ":", encode(fields[i]))
             for i in range(t.num_fields)]
    if not parts:
        return pc.if_else(arr.is_valid(), lit("{}"), lit(None))
    body = pc.binary_join_element_wise(*parts, lit(",")) if len(parts) > 1 else parts[0]
    text = join("{", body, "}")
    return pc.if_else(arr.is_null(), lit(None), text)


def lists(arr: pa.Array) -> pa.Array:
    """``[value,...]`` per list (of any list layout); null where the list is."""
    return _join_items(arr, encode(pc.list_flatten(arr)))


def _map(arr: pa.MapArray) -> pa.Array:
    """A map as its Python value, a list of ``[key,value]`` pairs."""
    t = arr.type  # list_flatten has no kernel for maps: view as the list it is stored as
    as_list = arr.view(pa.list_(pa.field("entries", pa.struct([t.key_field, t.item_field]),
                                         nullable=False)))
    entries = pc.list_flatten(as_list)
    pairs = join("[", encode(entries.field(0)), ",", encode(entries.field(1)), "]")
    return _join_items(as_list, pairs)


def _join_items(arr: pa.Array, items: pa.Array) -> pa.Array:
    """``items`` (the lists' values, in order) joined back into one text per list."""
    zero = numeric(np.zeros(1, np.int64))
    lengths = pc.coalesce(pc.list_value_length(arr).cast(pa.int64()), zero[0])
    offsets = pa.concat_arrays([zero, pc.cumulative_sum(lengths)])
    text = join("[", pc.binary_join(pa.LargeListArray.from_arrays(offsets, items), lit(",")), "]")
    return pc.if_else(arr.is_null(), lit(None), text)
