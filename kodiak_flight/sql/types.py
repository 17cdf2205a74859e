"""SQL type names <-> Arrow types, and the implicit promotions SQL expects.

Arrow kernels are strict about operand types where SQL is lenient (``int = bigint``,
``decimal + double``, ``date = '1998-01-01'``); these helpers choose the common type so the
binder can insert explicit casts instead of failing at execution time.
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
from sqlglot import exp

from .errors import NotSupportedError, SqlTypeError

DT = exp.DataType.Type

# The one table of type names. Each row: the Arrow type, the name every surface prints for
# it (SQL errors, EXPLAIN, the CLI and shell, Flight metadata, JDBC type names), and the parsed
# SQL types that mean it (the first row naming a parsed type wins). DuckDB's spellings.
TYPES: tuple[tuple[pa.DataType, str, tuple[DT, ...]], ...] = (
    (pa.bool_(), "BOOLEAN", (DT.BOOLEAN,)),
    (pa.int8(), "TINYINT", (DT.TINYINT,)),
    (pa.int16(), "SMALLINT", (DT.SMALLINT,)),
    (pa.int32(), "INTEGER", (DT.INT,)),
    (pa.int64(), "BIGINT", (DT.BIGINT,)),
    (pa.uint8(), "UTINYINT", (DT.UTINYINT,)),
    (pa.uint16(), "USMALLINT", (DT.USMALLINT,)),
    (pa.uint32(), "UINTEGER", (DT.UINT,)),
    (pa.uint64(), "UBIGINT", (DT.UBIGINT,)),
    (pa.float16(), "FLOAT", ()),
    (pa.float32(), "FLOAT", (DT.FLOAT,)),
    (pa.float64(), "DOUBLE", (DT.DOUBLE,)),
    (pa.string(), "VARCHAR", (DT.VARCHAR, DT.NVARCHAR, DT.CHAR, DT.NCHAR, DT.TEXT, DT.BPCHAR)),
    (pa.large_string(), "VARCHAR", ()),
    (pa.string_view(), "VARCHAR", ()),
    (pa.binary(), "BLOB", (DT.BLOB, DT.VARBINARY, DT.BINARY)),
    (pa.large_binary(), "BLOB", ()),
    (pa.binary_view(), "BLOB", ()),
    (pa.date32(), "DATE", (DT.DATE,)),
    (pa.date64(), "DATE", ()),
    (pa.time64("us"), "TIME", (DT.TIME,)),
    (pa.timestamp("us"), "TIMESTAMP", (DT.TIMESTAMP, DT.TIMESTAMPNTZ, DT.DATETIME)),
    (pa.timestamp("s"), "TIMESTAMP_S", (DT.TIMESTAMP_S,)),
    (pa.timestamp("ms"), "TIMESTAMP_MS", (DT.TIMESTAMP_MS,)),
    (pa.timestamp("ns"), "TIMESTAMP_NS", (DT.TIMESTAMP_NS,)),
    (pa.timestamp("us", tz="UTC"), "TIMESTAMPTZ", (DT.TIMESTAMPTZ, DT.TIMESTAMPLTZ)),
    (pa.month_day_nano_interval(), "INTERVAL", (DT.INTERVAL,)),
    (pa.decimal128(38, 0), "HUGEINT", (DT.INT128,)),
    (pa.null(), "NULL", (DT.NULL,)),
)

# a user type's struct names it in its first field's metadata (``pl/types.py``)
USER_TYPE_KEY = b"kodiak:type"
UserTypes = Callable[[str], pa.DataType]  # a user type name to its Arrow type (or raises)

_SIMPLE: dict[DT, pa.DataType] = {}
for _arrow, _name, _parsed in TYPES:
    for _dt in _parsed:
        _SIMPLE.setdefault(_dt, _arrow)
_NAMES: dict[pa.DataType, str] = {}
for _arrow, _name, _parsed in TYPES:
    _NAMES.setdefault(_arrow, _name)


def from_sql(dt: exp.DataType, user: UserTypes | None = None) -> pa.DataType:
    """Arrow type for a parsed SQL type (DuckDB spellings; DECIMAL defaults to (18,3));
    ``user`` resolves the names of user types (``CREATE TYPE``)."""
    t = dt.this
    if t == DT.USERDEFINED and user is not None:
        return user(str(dt.args.get("kind") or ""))
    if t == DT.FLOAT and dt.expressions:
        return _float(dt)
    if t in _SIMPLE:
        return _SIMPLE[t]
    if t in (DT.DECIMAL, DT.BIGDECIMAL):
        return _decimal(dt)
    if t == DT.ARRAY and dt.expressions:
        size = dt.args.get("values")
        if size:
            return pa.list_(from_sql(dt.expressions[0], user), int(size[0].name))
        return pa.list_(from_sql(dt.expressions[0], user))
    if t == DT.MAP and len(dt.expressions) == 2:
        return pa.map_(from_sql(dt.expressions[0], user), from_sql(dt.expressions[1], user))
    if t == DT.STRUCT and dt.expressions:
        return pa.struct([pa.field(c.name, from_sql(c.args["kind"], user))
                          for c in dt.expressions])
    raise NotSupportedError(f"type {dt.sql(dialect='duckdb')} is not supported")


def _float(dt: exp.DataType) -> pa.DataType:
    """The standard's FLOAT(p): binary digits of precision, 1-24 a FLOAT, 25-53 a DOUBLE."""
    text = dt.expressions[0].this
    bits = int(text.this) if isinstance(text, exp.Literal) and text.this.isdigit() else 0
    if not 1 <= bits <= 53 or len(dt.expressions) > 1:
        spelled = ", ".join(e.sql() for e in dt.expressions)
        raise SqlTypeError(f"FLOAT({spelled}): the precision must be 1 to 53 bits")
    return pa.float32() if bits <= 24 else pa.float64()


def _decimal(dt: exp.DataType) -> pa.DataType:
    """DECIMAL(p, s) with 1 <= p <= 38 and 0 <= s <= p, as PostgreSQL and DuckDB take it."""
    spelled = dt.sql(dialect="duckdb")
    texts = [p.this.this if isinstance(p.this, exp.Literal) else None for p in dt.expressions]
    if len(texts) > 2 or not all(isinstance(x, str) and x.isdigit() for x in texts):
        raise SqlTypeError(f"{spelled}: DECIMAL takes a precision and a scale, whole numbers")
    params = [int(x) for x in texts]
    prec = params[0] if params else 18
    scale = params[1] if len(params) > 1 else (3 if not params else 0)
    if not 1 <= prec <= 38 or scale > prec:
        raise SqlTypeError(f"{spelled}: a DECIMAL's precision must be 1 to 38 and its "
                           "scale 0 to the precision")
    return pa.decimal128(prec, scale)


def sql_name(t: pa.DataType) -> str:
    """The name of an Arrow type, from :data:`TYPES`; nested and parametrised types are
    spelled the DuckDB way (``DECIMAL(12,2)``, ``INTEGER[]``, ``STRUCT(a INTEGER)``)."""
    if t in _NAMES and not pa.types.is_decimal(t):
        return _NAMES[t]
    if pa.types.is_decimal(t):
        return f"DECIMAL({t.precision},{t.scale})"
    if pa.types.is_timestamp(t):
        return "TIMESTAMPTZ" if t.tz is not None else _NAMES[pa.timestamp(t.unit)]
    if pa.types.is_time(t):
        return "TIME"
    if pa.types.is_dictionary(t):
        return sql_name(t.value_type)
    return _nested_name(t)


def _nested_name(t: pa.DataType) -> str:
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_list_view(t):
        return f"{sql_name(t.value_type)}[]"
    if pa.types.is_fixed_size_list(t):
        return f"{sql_name(t.value_type)}[{t.list_size}]"
    if pa.types.is_map(t):
        return f"MAP({sql_name(t.key_type)}, {sql_name(t.item_type)})"
    if pa.types.is_struct(t):
        tag = (t.field(0).metadata or {}).get(USER_TYPE_KEY) if t.num_fields else None
        if tag:  # a user type: its name
            return tag.decode().rsplit(".", 1)[-1]
        fields = ", ".join(f"{_ident(f.name)} {sql_name(f.type)}" for f in t)
        return f"STRUCT({fields})"
    if pa.types.is_fixed_size_binary(t):
        return "BLOB"
    if pa.types.is_duration(t) or pa.types.is_interval(t):
        return "INTERVAL"
    if pa.types.is_union(t):
        return "UNION(" + ", ".join(f"{_ident(f.name)} {sql_name(f.type)}" for f in t) + ")"
    return str(t).upper()


def _ident(name: str) -> str:
    plain = name.isidentifier() and name.lower() == name
    return name if plain else '"' + name.replace('"', '""') + '"'


def is_string(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def is_numeric(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)


def is_temporal(t: pa.DataType) -> bool:
    return pa.types.is_date(t) or pa.types.is_timestamp(t) or pa.types.is_time(t)


def int_bounds(t: pa.DataType) -> tuple[int, int]:
    """The least and the greatest value of the integer type ``t``."""
    bits = t.bit_width
    if pa.types.is_unsigned_integer(t):
        return 0, 2**bits - 1
    return -2**(bits - 1), 2**(bits - 1) - 1


def holds(t: pa.DataType, value: int) -> bool:
    """Whether the integer type ``t`` holds the Python int ``value``."""
    least, most = int_bounds(t)
    return least <= value <= most


def normalize(t: pa.DataType) -> pa.DataType:
    """The type the executor computes in: view/large strings become plain utf8, half floats
    FLOAT (Arrow has no comparison, sort or min/max kernels for them; DuckDB reads them
    as FLOAT too)."""
    if pa.types.is_float16(t):
        return pa.float32()
    if pa.types.is_string_view(t) or pa.types.is_large_string(t):
        return pa.string()
    if pa.types.is_binary_view(t) or pa.types.is_large_binary(t):
        return pa.binary()
    if pa.types.is_dictionary(t):
        return normalize(t.value_type)
    return t


def declared_schema(schema: pa.Schema) -> pa.Schema:
    """The schema a table created for data of ``schema`` declares: its half-float columns
    as FLOAT (``normalize``), stored so every path reads a type Arrow's kernels take."""
    return pa.schema([f.with_type(pa.float32()) if pa.types.is_float16(f.type) else f
                      for f in schema], metadata=schema.metadata)


def sortable(t: pa.DataType) -> bool:
    """Whether values of ``t`` have an order to sort by: not lists, structs, maps or
    intervals (a month is not a fixed number of days)."""
    t = normalize(t)
    return not (pa.types.is_nested(t) or pa.types.is_interval(t))


def groupable(t: pa.DataType) -> bool:
    """Whether values of ``t`` can be grouped (hashed): not lists, structs or maps."""
    return not pa.types.is_nested(normalize(t))


def listable(t: pa.DataType) -> bool:
    """Whether Acero's ``hash_list`` gathers values of ``t`` per group (the aggregates
    finished from value lists: list, string_agg, mode, arg_min ...): not durations,
    intervals or nested values."""
    t = normalize(t)
    return not (pa.types.is_nested(t) or pa.types.is_interval(t) or pa.types.is_duration(t))


def check_key(t: pa.DataType, clause: str, *, order: bool) -> None:
    """Refuse ``clause`` (ORDER BY, GROUP BY, DISTINCT, PARTITION BY ...) over values of a
    type it cannot order (``order``) or group, in SQL's words, before anything runs."""
    if sortable(t) if order else groupable(t):
        return
    why = "have no order" if order else "cannot be compared as keys"
    raise SqlTypeError(f"{clause} is not supported on values of type {sql_name(t)}: "
                       f"{_kind(t)} {why}")


def _kind(t: pa.DataType) -> str:
    if pa.types.is_interval(t):
        return "intervals"
    if pa.types.is_struct(t):
        return "structs"
    if pa.types.is_map(t):
        return "maps"
    return "lists" if pa.types.is_nested(t) else "its values"


def _int_rank(t: pa.DataType) -> int:
    return t.bit_width


def _decimal_for_int(t: pa.DataType) -> pa.DataType:
    digits = {8: 3, 16: 5, 32: 10, 64: 19}[t.bit_width]
    return pa.decimal128(digits, 0)


def float_type(a: pa.DataType, b: pa.DataType) -> pa.DataType:
    """DuckDB's combination rule for numbers where one is floating: DOUBLE if either is
    DOUBLE, else FLOAT (so ``real_col = 89.2`` casts the literal to FLOAT, the column's
    type, and a FLOAT holding 89.2 equals it)."""
    if pa.types.is_float64(a) or pa.types.is_float64(b):
        return pa.float64()
    return pa.float32()


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
            return float_type(a, b)
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
