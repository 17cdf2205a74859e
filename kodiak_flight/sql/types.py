"""SQL type names <-> Arrow types, and the implicit promotions SQL expects.

Arrow kernels are strict about operand types where SQL is lenient (``int = bigint``,
``decimal + double``, ``date = '1998-01-01'``); these helpers choose the common type so the
binder can insert explicit casts instead of failing at execution time.
"""

from __future__ import annotations

import pyarrow as pa
from sqlglot import exp

from .errors import NotSupportedError, SqlTypeError

DT = exp.DataType.Type

_SIMPLE: dict[DT, pa.DataType] = {
    DT.BOOLEAN: pa.bool_(),
    DT.TINYINT: pa.int8(),
    DT.SMALLINT: pa.int16(),
    DT.INT: pa.int32(),
    DT.BIGINT: pa.int64(),
    DT.UTINYINT: pa.uint8(),
    DT.USMALLINT: pa.uint16(),
    DT.UINT: pa.uint32(),
    DT.UBIGINT: pa.uint64(),
    DT.INT128: pa.decimal128(38, 0),
    DT.BPCHAR: pa.string(),
    DT.FLOAT: pa.float32(),
    DT.DOUBLE: pa.float64(),
    DT.VARCHAR: pa.string(),
    DT.NVARCHAR: pa.string(),
    DT.CHAR: pa.string(),
    DT.NCHAR: pa.string(),
    DT.TEXT: pa.string(),
    DT.DATE: pa.date32(),
    DT.TIME: pa.time64("us"),
    DT.TIMESTAMP: pa.timestamp("us"),
    DT.TIMESTAMPNTZ: pa.timestamp("us"),
    DT.TIMESTAMPLTZ: pa.timestamp("us", tz="UTC"),
    DT.DATETIME: pa.timestamp("us"),
    DT.TIMESTAMPTZ: pa.timestamp("us", tz="UTC"),
    DT.TIMESTAMP_S: pa.timestamp("s"),
    DT.TIMESTAMP_MS: pa.timestamp("ms"),
    DT.TIMESTAMP_NS: pa.timestamp("ns"),
    DT.BLOB: pa.binary(),
    DT.VARBINARY: pa.binary(),
    DT.BINARY: pa.binary(),
    DT.INTERVAL: pa.month_day_nano_interval(),
    DT.NULL: pa.null(),
}


def from_sql(dt: exp.DataType) -> pa.DataType:
    """Arrow type for a parsed SQL type (DuckDB spellings; DECIMAL defaults to (18,3))."""
    t = dt.this
    if t in _SIMPLE:
        return _SIMPLE[t]
    if t in (DT.DECIMAL, DT.BIGDECIMAL):
        params = [int(p.this.this) for p in dt.expressions]
        prec = params[0] if params else 18
        scale = params[1] if len(params) > 1 else (3 if not params else 0)
        return pa.decimal128(prec, scale)
    if t == DT.ARRAY and dt.expressions:
        return pa.list_(from_sql(dt.expressions[0]))
    raise NotSupportedError(f"type {dt.sql(dialect='duckdb')} is not supported")


def sql_name(t: pa.DataType) -> str:
    """DuckDB-style name of an Arrow type, for error messages and EXPLAIN."""
    names = {
        pa.bool_(): "BOOLEAN", pa.int8(): "TINYINT", pa.int16(): "SMALLINT",
        pa.int32(): "INTEGER", pa.int64(): "BIGINT", pa.float32(): "FLOAT",
        pa.float64(): "DOUBLE", pa.string(): "VARCHAR", pa.large_string(): "VARCHAR",
        pa.string_view(): "VARCHAR", pa.date32(): "DATE", pa.null(): "NULL",
        pa.binary(): "BLOB", pa.month_day_nano_interval(): "INTERVAL",
    }
    if t in names:
        return names[t]
    if pa.types.is_decimal(t):
        return f"DECIMAL({t.precision},{t.scale})"
    if pa.types.is_timestamp(t):
        return "TIMESTAMP" if t.tz is None else "TIMESTAMPTZ"
    return str(t).upper()


def is_string(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def is_numeric(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)


def is_temporal(t: pa.DataType) -> bool:
    return pa.types.is_date(t) or pa.types.is_timestamp(t) or pa.types.is_time(t)


def normalize(t: pa.DataType) -> pa.DataType:
    """The type the executor computes in: view/large strings become plain utf8."""
    if pa.types.is_string_view(t) or pa.types.is_large_string(t):
        return pa.string()
    if pa.types.is_binary_view(t) or pa.types.is_large_binary(t):
        return pa.binary()
    if pa.types.is_dictionary(t):
        return normalize(t.value_type)
    return t


def _int_rank(t: pa.DataType) -> int:
    return t.bit_width


def _decimal_for_int(t: pa.DataType) -> pa.DataType:
    digits = {8: 3, 16: 5, 32: 10, 64: 19}[t.bit_width]
    return pa.decimal128(digits, 0)


def common_type(a: pa.DataType, b: pa.DataType, what: str = "values") -> pa.DataType:
    """Smallest type both ``a`` and ``b`` convert to without loss (as far as SQL cares)."""
    if a == b:
        return a
    if pa.types.is_null(a):
        return b
    if pa.types.is_null(b):
        return a
    if is_string(a) and is_string(b):
        return pa.string()
    if pa.types.is_integer(a) and pa.types.is_integer(b):
        signed = pa.types.is_signed_integer(a) or pa.types.is_signed_integer(b)
        width = max(_int_rank(a), _int_rank(b))
        if signed and not (pa.types.is_signed_integer(a) and pa.types.is_signed_integer(b)):
            width = min(64, width * 2)
        return {8: pa.int8(), 16: pa.int16(), 32: pa.int32(), 64: pa.int64()}[width] \
            if signed else {8: pa.uint8(), 16: pa.uint16(), 32: pa.uint32(), 64: pa.uint64()}[width]
    if pa.types.is_floating(a) or pa.types.is_floating(b):
        if is_numeric(a) and is_numeric(b):
            return pa.float64()
    if pa.types.is_decimal(a) or pa.types.is_decimal(b):
        if is_numeric(a) and is_numeric(b):
            da = a if pa.types.is_decimal(a) else _decimal_for_int(a)
            db = b if pa.types.is_decimal(b) else _decimal_for_int(b)
            scale = max(da.scale, db.scale)
            whole = max(da.precision - da.scale, db.precision - db.scale)
            if whole + scale > 38:
                return pa.float64()
            return pa.decimal128(whole + scale, scale)
    if pa.types.is_date(a) and pa.types.is_timestamp(b):
        return b
    if pa.types.is_timestamp(a) and pa.types.is_date(b):
        return a
    if pa.types.is_timestamp(a) and pa.types.is_timestamp(b):
        return pa.timestamp("us", tz=a.tz or b.tz)
    if pa.types.is_boolean(a) and pa.types.is_boolean(b):
        return a
    if pa.types.is_binary(a) and pa.types.is_binary(b):
        return a
    raise SqlTypeError(f"cannot combine {what} of types {sql_name(a)} and {sql_name(b)}")
