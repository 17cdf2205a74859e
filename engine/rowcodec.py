"""A lean encoding of a few rows for the WAL: what a single-row commit logs.

An Arrow IPC stream carries its schema and costs tens of microseconds to write for one row,
which dominated a small durable commit. Rows put into the write buffer are Python tuples
anyway (``TableData.put_tuples``), so this encodes those tuples directly: one tag byte per
value, then its bytes. Replay decodes the very values the live transaction stored, and the
catalog (replayed in order before it) supplies the schema.

Only columns whose Python values are plain ``None``/``bool``/``int``/``float``/``str``/
``bytes`` qualify (``lean_type``); a table with any other column type (decimal, temporal,
nested …) keeps logging Arrow IPC, which is exact for every type.

Group layout (little-endian)::

    u32 byte length of what follows | u32 table id | u32 rows | u16 columns | u8 flags
    [i64 first row id, if flags & KEYLESS] | values, row by row, each a tag byte + payload
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from typing import Any

import pyarrow as pa

from .errors import CorruptionError

KEYLESS = 1
_HEAD = struct.Struct("<IIIHB")
_ROWID = struct.Struct("<q")
_I64 = struct.Struct("<q")
_U64 = struct.Struct("<Q")
_F64 = struct.Struct("<d")
_LEN = struct.Struct("<I")

# Tags. A value's tag says how its payload is laid out.
NONE, FALSE, TRUE, INT, UINT, FLOAT, STR, BYTES = range(8)
_FIXED = {NONE: None, FALSE: False, TRUE: True}
_NONE_B, _FALSE_B, _TRUE_B = bytes([NONE]), bytes([FALSE]), bytes([TRUE])
# tag and payload (or length) packed in one call: the encoder runs once per value
_T_INT = struct.Struct("<Bq").pack
_T_UINT = struct.Struct("<BQ").pack
_T_FLOAT = struct.Struct("<Bd").pack
_T_LEN = struct.Struct("<BI").pack
_I64_MIN, _I64_MAX = -(1 << 63), (1 << 63) - 1


def lean_type(t: pa.DataType) -> bool:
    """Whether ``to_pylist`` of a column of stored type ``t`` yields only values this
    codec round-trips exactly."""
    return (pa.types.is_boolean(t) or pa.types.is_integer(t) or pa.types.is_null(t)
            or pa.types.is_float32(t) or pa.types.is_float64(t)
            or pa.types.is_string(t) or pa.types.is_large_string(t)
            or pa.types.is_binary(t) or pa.types.is_large_binary(t)
            or pa.types.is_fixed_size_binary(t))


def encode_group(table_id: int, tuples: Sequence[tuple], ncols: int,
                 first_rowid: int | None = None) -> bytes:
    """One table's rows (tuples of ``ncols`` values, table column order) as a group."""
    parts: list[bytes] = []
    add = parts.append
    for row in tuples:
        for v in row:
            t = type(v)
            if t is int:
                if _I64_MIN <= v <= _I64_MAX:
                    add(_T_INT(INT, v))
                else:  # uint64 above the int64 range
                    add(_T_UINT(UINT, v))
            elif t is str:
                b = v.encode()
                add(_T_LEN(STR, len(b)))
                add(b)
            elif t is float:
                add(_T_FLOAT(FLOAT, v))
            elif v is None:
                add(_NONE_B)
            elif t is bool:
                add(_TRUE_B if v else _FALSE_B)
            elif t is bytes:
                add(_T_LEN(BYTES, len(v)))
                add(v)
            else:
                raise TypeError(f"row codec cannot encode {t.__name__} values")
    flags = 0
    if first_rowid is not None:
        flags = KEYLESS
        parts.insert(0, _ROWID.pack(first_rowid))
    body = b"".join(parts)
    return _HEAD.pack(len(body) + _HEAD.size - 4, table_id, len(tuples), ncols, flags) + body


def row_encoder(types: Sequence[pa.DataType], prefix: bytes = b""
                ) -> Callable[[int, tuple], bytes | None] | None:
    """``prefix + encode_group(table_id, [row], len(types))`` for one row of a table with
    columns of ``types``, generated per table (as ``collections.namedtuple`` generates its
    class) so a single-row commit packs its values in one or a few ``struct`` calls instead
    of dispatching on each value's type. The function answers None when a value is not of
    its column's plain type (None, say): the caller then uses ``encode_group``. None instead
    of a function when some column type is not covered (uint64, null, float32 …)."""
    # The row as struct packs with raw bytes between them: [(bytes before, format, args)]
    segs: list[tuple[str | None, str, list[str]]] = [
        (None, _HEAD.format, ["table_id", "1", str(len(types)), "0"])]
    tests: list[str] = []
    encodes: list[str] = []  # the variable-length values as bytes
    for i, t in enumerate(types):
        v = f"v{i}"
        raw, fmt, args = segs[-1]
        if pa.types.is_signed_integer(t) or t in (pa.uint8(), pa.uint16(), pa.uint32()):
            tests.append(f"type({v}) is int")
            segs[-1] = (raw, fmt + "Bq", [*args, str(INT), v])
        elif t == pa.float64():
            tests.append(f"type({v}) is float")
            segs[-1] = (raw, fmt + "Bd", [*args, str(FLOAT), v])
        elif t == pa.bool_():
            tests.append(f"type({v}) is bool")
            segs[-1] = (raw, fmt + "B", [*args, f"({TRUE} if {v} else {FALSE})"])
        elif t in (pa.string(), pa.large_string(), pa.binary(), pa.large_binary()):
            text = t in (pa.string(), pa.large_string())
            tests.append(f"type({v}) is {'str' if text else 'bytes'}")
            segs[-1] = (raw, fmt + "BI", [*args, str(STR if text else BYTES), f"len(b{i})"])
            encodes.append(f"b{i} = {v}.encode()" if text else f"b{i} = {v}")
            segs.append((f"b{i}", "<", []))
        else:
            return None
    names = [f"v{i}" for i in range(len(types))]
    lines = ["def encode_row(table_id, row):"]
    if names:
        lines.append(f"    {', '.join(names)}, = row")
    lines.append(f"    if not ({' and '.join(tests) or 'True'}):")
    lines.append("        return None")
    lines += [f"    {x}" for x in encodes]
    fixed = sum(struct.calcsize(fmt) for _, fmt, _ in segs)
    length = " + ".join([str(fixed - 4), *(f"len({raw})" for raw, _, _ in segs[1:])])
    segs[0][2].insert(0, length)  # the head's length field: what follows it
    scope: dict[str, Any] = {"prefix": prefix}
    pieces = ["prefix"]
    for j, (raw, fmt, args) in enumerate(segs):
        if raw is not None:
            pieces.append(raw)
        if args:
            scope[f"p{j}"] = struct.Struct(fmt).pack
            pieces.append(f"p{j}({', '.join(args)})")
    lines.append(f"    return b''.join(({', '.join(pieces)},))")
    exec("\n".join(lines), scope)  # noqa: S102 - source built above from fixed templates
    return scope["encode_row"]


def group_size(buf: bytes | memoryview, pos: int) -> int:
    """Total bytes of the group starting at ``pos`` (for splitting a record into groups)."""
    if pos + _HEAD.size > len(buf):
        raise CorruptionError("truncated row group header")
    return 4 + _LEN.unpack_from(buf, pos)[0]


def decode_group(buf: bytes | memoryview) -> tuple[int, int | None, int, list[tuple]]:
    """(table id, first row id or None, columns, rows) of one encoded group."""
    try:
        return _decode(buf)
    except (struct.error, IndexError, UnicodeDecodeError) as exc:
        raise CorruptionError(f"undecodable row group: {exc}") from exc


def _decode(buf: bytes | memoryview) -> tuple[int, int | None, int, list[tuple]]:
    size, table_id, nrows, ncols, flags = _HEAD.unpack_from(buf, 0)
    if size + 4 != len(buf):
        raise CorruptionError(f"row group of {len(buf)} bytes says it has {size + 4}")
    pos = _HEAD.size
    first = None
    if flags & KEYLESS:
        (first,) = _ROWID.unpack_from(buf, pos)
        pos += 8
    data = bytes(buf) if isinstance(buf, memoryview) else buf
    rows: list[tuple] = []
    for _ in range(nrows):
        row: list[Any] = []
        for _ in range(ncols):
            tag = data[pos]
            pos += 1
            if tag == INT:
                row.append(_I64.unpack_from(data, pos)[0])
                pos += 8
            elif tag == STR or tag == BYTES:
                (n,) = _LEN.unpack_from(data, pos)
                pos += 4
                raw = data[pos:pos + n]
                if len(raw) != n:
                    raise CorruptionError("row group value runs past its end")
                row.append(raw.decode() if tag == STR else raw)
                pos += n
            elif tag == FLOAT:
                row.append(_F64.unpack_from(data, pos)[0])
                pos += 8
            elif tag in _FIXED:
                row.append(_FIXED[tag])
            elif tag == UINT:
                row.append(_U64.unpack_from(data, pos)[0])
                pos += 8
            else:
                raise CorruptionError(f"unknown value tag {tag} in row group")
        rows.append(tuple(row))
    if pos != len(data):
        raise CorruptionError(f"row group has {len(data) - pos} bytes after its last row")
    return table_id, first, ncols, rows
