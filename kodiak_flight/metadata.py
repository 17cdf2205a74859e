"""Flight SQL metadata results: exact result schemas and the tables that fill them.

Clients (the ADBC driver in particular) compare these schemas field by field, nullability
included, so every schema here is spelled out rather than inferred.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

import pyarrow as pa

from .proto import FlightSql_pb2 as pb
from .sql.catalog import Relation, Resolver
from .sql.catalog import table_types as catalog_table_types
from .sql.origins import PREFIX as ORIGIN_PREFIX
from .sql.origins import read as read_origin
from .sql.types import sql_name

# What GetTables calls each kind of relation the resolver lists.
_TABLE_TYPE = {"table": "TABLE", "view": "VIEW", "system": "SYSTEM TABLE"}


def _f(name: str, type_: pa.DataType, nullable: bool = True) -> pa.Field:
    return pa.field(name, type_, nullable=nullable)


CATALOGS_SCHEMA = pa.schema([_f("catalog_name", pa.utf8(), False)])

DB_SCHEMAS_SCHEMA = pa.schema([
    _f("catalog_name", pa.utf8()),
    _f("db_schema_name", pa.utf8(), False),
])

TABLES_SCHEMA = pa.schema([
    _f("catalog_name", pa.utf8()),
    _f("db_schema_name", pa.utf8()),
    _f("table_name", pa.utf8(), False),
    _f("table_type", pa.utf8(), False),
])

TABLES_SCHEMA_WITH_SCHEMA = TABLES_SCHEMA.append(_f("table_schema", pa.binary(), False))

TABLE_TYPES_SCHEMA = pa.schema([_f("table_type", pa.utf8(), False)])

# Field order as in the Arrow reference implementations (key_sequence before key_name).
PRIMARY_KEYS_SCHEMA = pa.schema([
    _f("catalog_name", pa.utf8()),
    _f("db_schema_name", pa.utf8()),
    _f("table_name", pa.utf8(), False),
    _f("column_name", pa.utf8(), False),
    _f("key_sequence", pa.int32(), False),
    _f("key_name", pa.utf8()),
])

FOREIGN_KEYS_SCHEMA = pa.schema([
    _f("pk_catalog_name", pa.utf8()),
    _f("pk_db_schema_name", pa.utf8()),
    _f("pk_table_name", pa.utf8(), False),
    _f("pk_column_name", pa.utf8(), False),
    _f("fk_catalog_name", pa.utf8()),
    _f("fk_db_schema_name", pa.utf8()),
    _f("fk_table_name", pa.utf8(), False),
    _f("fk_column_name", pa.utf8(), False),
    _f("key_sequence", pa.int32(), False),
    _f("fk_key_name", pa.utf8()),
    _f("pk_key_name", pa.utf8()),
    _f("update_rule", pa.uint8(), False),
    _f("delete_rule", pa.uint8(), False),
])

SQL_INFO_VALUE_TYPE = pa.dense_union(
    [
        _f("string_value", pa.utf8()),
        _f("bool_value", pa.bool_()),
        _f("bigint_value", pa.int64()),
        _f("int32_bitmask", pa.int32()),
        _f("string_list", pa.list_(pa.utf8())),
        _f("int32_to_int32_list_map", pa.map_(pa.int32(), pa.list_(pa.int32()))),
    ],
    type_codes=[0, 1, 2, 3, 4, 5],
)

SQL_INFO_SCHEMA = pa.schema([
    _f("info_name", pa.uint32(), False),
    _f("value", SQL_INFO_VALUE_TYPE, False),
])

XDBC_TYPE_INFO_SCHEMA = pa.schema([
    _f("type_name", pa.utf8(), False),
    _f("data_type", pa.int32(), False),
    _f("column_size", pa.int32()),
    _f("literal_prefix", pa.utf8()),
    _f("literal_suffix", pa.utf8()),
    _f("create_params", pa.list_(pa.field("item", pa.utf8(), nullable=False))),
    _f("nullable", pa.int32(), False),
    _f("case_sensitive", pa.bool_(), False),
    _f("searchable", pa.int32(), False),
    _f("unsigned_attribute", pa.bool_()),
    _f("fixed_prec_scale", pa.bool_(), False),
    _f("auto_increment", pa.bool_()),
    _f("local_type_name", pa.utf8()),
    _f("minimum_scale", pa.int32()),
    _f("maximum_scale", pa.int32()),
    _f("sql_data_type", pa.int32(), False),
    _f("datetime_subcode", pa.int32()),
    _f("num_prec_radix", pa.int32()),
    _f("interval_precision", pa.int32()),
])


def result_schema(cmd: Any) -> pa.Schema:
    """The result schema of a metadata command (GetFlightInfo / GetSchema)."""
    if isinstance(cmd, pb.CommandGetTables):
        return TABLES_SCHEMA_WITH_SCHEMA if cmd.include_schema else TABLES_SCHEMA
    return {
        pb.CommandGetSqlInfo: SQL_INFO_SCHEMA,
        pb.CommandGetXdbcTypeInfo: XDBC_TYPE_INFO_SCHEMA,
        pb.CommandGetCatalogs: CATALOGS_SCHEMA,
        pb.CommandGetDbSchemas: DB_SCHEMAS_SCHEMA,
        pb.CommandGetTableTypes: TABLE_TYPES_SCHEMA,
        pb.CommandGetPrimaryKeys: PRIMARY_KEYS_SCHEMA,
        pb.CommandGetExportedKeys: FOREIGN_KEYS_SCHEMA,
        pb.CommandGetImportedKeys: FOREIGN_KEYS_SCHEMA,
        pb.CommandGetCrossReference: FOREIGN_KEYS_SCHEMA,
    }[type(cmd)]


# ---------------------------------------------------------------------------------------------
# Filter patterns (SQL LIKE: % any run, _ one character, backslash escapes)

def like(pattern: str) -> re.Pattern[str]:
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if c == "%" else "." if c == "_" else re.escape(c))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def _matches(pattern: str | None, value: str) -> bool:
    return pattern is None or like(pattern).fullmatch(value) is not None


def _opt(cmd: Any, name: str) -> str | None:
    return getattr(cmd, name) if cmd.HasField(name) else None


def _catalog_ok(requested: str | None, catalog: str) -> bool:
    # Omitted: no narrowing. "" means "objects without a catalog": Kodiak has none of those.
    return requested is None or requested == catalog


def catalogs(catalog: str) -> pa.Table:
    return pa.Table.from_pylist([{"catalog_name": catalog}], schema=CATALOGS_SCHEMA)


def db_schemas(resolver: Resolver, catalog: str, cmd: pb.CommandGetDbSchemas) -> pa.Table:
    rows = []
    if _catalog_ok(_opt(cmd, "catalog"), catalog):
        pattern = _opt(cmd, "db_schema_filter_pattern")
        rows = [{"catalog_name": catalog, "db_schema_name": s}
                for s in resolver.schemas() if _matches(pattern, s)]
    return pa.Table.from_pylist(rows, schema=DB_SCHEMAS_SCHEMA)


# Precision (digits, or bits for binary floating point: the radix GetXdbcTypeInfo gives) and
# scale of the types that have them; decimals carry their own.
_PRECISION: list[tuple[Callable[[pa.DataType], bool], int, int | None]] = [
    (pa.types.is_int8, 3, 0), (pa.types.is_uint8, 3, 0),
    (pa.types.is_int16, 5, 0), (pa.types.is_uint16, 5, 0),
    (pa.types.is_int32, 10, 0), (pa.types.is_uint32, 10, 0),
    (pa.types.is_int64, 19, 0), (pa.types.is_uint64, 20, 0),
    (pa.types.is_float32, 24, None), (pa.types.is_float64, 53, None),
    (pa.types.is_date, 10, None), (pa.types.is_time, 15, 6),
    (pa.types.is_timestamp, 26, 6),
]

COLUMN_KEY = "ARROW:FLIGHT:SQL:"


def column_metadata(f: pa.Field) -> dict[bytes, bytes]:
    """The ARROW:FLIGHT:SQL:* facts of a result column that do not depend on where it comes
    from: its SQL type name, precision and scale, nullability, and what JDBC's
    ResultSetMetaData asks (auto increment, case sensitive, read only, searchable)."""
    md = {
        "TYPE_NAME": sql_name(f.type),
        "IS_NULLABLE": "1" if f.nullable else "0",
        "IS_AUTO_INCREMENT": "0",
        "IS_CASE_SENSITIVE": "1" if _is_text(f.type) else "0",
        "IS_READ_ONLY": "0",
        "IS_SEARCHABLE": "1",
    }
    if pa.types.is_decimal(f.type):
        md["PRECISION"], md["SCALE"] = str(f.type.precision), str(f.type.scale)
    else:
        for test, precision, scale in _PRECISION:
            if test(f.type):
                md["PRECISION"] = str(precision)
                if scale is not None:
                    md["SCALE"] = str(scale)
                break
    return {(COLUMN_KEY + k).encode(): v.encode() for k, v in md.items()}


def with_column_metadata(schema: pa.Schema, *, catalog: str | None = None,
                         db_schema: str | None = None, table: str | None = None) -> pa.Schema:
    """``schema`` with the Flight SQL column metadata on every field (kept: what a field
    already carries). ``catalog``/``db_schema``/``table`` name the relation the columns
    belong to, when they all come from one; both the specification's DB_SCHEMA_NAME and the
    JDBC driver's SCHEMA_NAME are written."""
    where = _where(catalog, db_schema, table)
    fields = [f.with_metadata({**column_metadata(f), **(where or _origin(f)), **_own(f)})
              for f in schema]
    return pa.schema(fields, metadata=schema.metadata)


def _where(catalog: str | None, db_schema: str | None, table: str | None
           ) -> dict[bytes, bytes]:
    where: dict[bytes, bytes] = {}
    for key, value in (("CATALOG_NAME", catalog), ("DB_SCHEMA_NAME", db_schema),
                       ("SCHEMA_NAME", db_schema), ("TABLE_NAME", table)):
        if value is not None:
            where[(COLUMN_KEY + key).encode()] = value.encode()
    return where


def _origin(f: pa.Field) -> dict[bytes, bytes]:
    """The Flight SQL names of the table a query's result column is read from (the SQL
    layer's ``kodiak:origin:*`` field metadata); none for a computed column."""
    o = read_origin(f)
    return _where(o.get("catalog"), o.get("schema"), o.get("table")) if o else {}


def _own(f: pa.Field) -> dict[bytes, bytes]:
    """What a field already carries, less the SQL layer's origin keys (said as above)."""
    prefix = ORIGIN_PREFIX.encode()
    return {k: v for k, v in (f.metadata or {}).items() if not k.startswith(prefix)}


def table_schema_with_metadata(arrow_schema: pa.Schema, catalog: str, schema: str, table: str
                               ) -> pa.Schema:
    """A relation's Arrow schema with the ARROW:FLIGHT:SQL:* column metadata JDBC/ODBC use."""
    return with_column_metadata(arrow_schema, catalog=catalog, db_schema=schema, table=table)


def tables(resolver: Resolver, schema_of: Callable[[Relation], pa.Schema | None],
           catalog: str, cmd: pb.CommandGetTables) -> pa.Table:
    """GetTables: tables, views and system views; ``schema_of`` gives a relation's columns
    (a view's by binding it) when ``include_schema`` asks for them."""
    schema_out = TABLES_SCHEMA_WITH_SCHEMA if cmd.include_schema else TABLES_SCHEMA
    rows: list[dict[str, Any]] = []
    wanted_types = {t.upper() for t in cmd.table_types}
    if not _catalog_ok(_opt(cmd, "catalog"), catalog):
        return pa.Table.from_pylist(rows, schema=schema_out)
    spattern = _opt(cmd, "db_schema_filter_pattern")
    tpattern = _opt(cmd, "table_name_filter_pattern")
    for rel in resolver.relations():
        kind = _TABLE_TYPE[rel.kind]
        if (wanted_types and kind not in wanted_types) or not _matches(spattern, rel.schema) \
                or not _matches(tpattern, rel.name):
            continue
        row: dict[str, Any] = {"catalog_name": catalog, "db_schema_name": rel.schema,
                               "table_name": rel.name, "table_type": kind}
        if cmd.include_schema:
            columns = schema_of(rel)
            if columns is None:  # a view that no longer binds: listed, without columns
                columns = pa.schema([])
            row["table_schema"] = table_schema_with_metadata(
                columns, catalog, rel.schema, rel.name).serialize().to_pybytes()
        rows.append(row)
    return pa.Table.from_pylist(rows, schema=schema_out)


def table_types() -> pa.Table:
    return pa.Table.from_pylist([{"table_type": t} for t in catalog_table_types()],
                                schema=TABLE_TYPES_SCHEMA)


def primary_keys(resolver: Resolver, catalog: str, cmd: pb.CommandGetPrimaryKeys) -> pa.Table:
    rows: list[dict[str, Any]] = []
    if _catalog_ok(_opt(cmd, "catalog"), catalog):
        requested = _opt(cmd, "db_schema")
        for rel in resolver.relations(requested):
            if rel.kind != "table" or rel.name != cmd.table.lower():
                continue
            for seq, column in enumerate(rel.table.primary_key, start=1):
                rows.append({"catalog_name": catalog, "db_schema_name": rel.schema,
                             "table_name": rel.name, "column_name": column,
                             "key_sequence": seq, "key_name": None})
    return pa.Table.from_pylist(rows, schema=PRIMARY_KEYS_SCHEMA)


def foreign_keys() -> pa.Table:
    """Kodiak has no foreign keys: exported/imported keys and cross references are empty."""
    return FOREIGN_KEYS_SCHEMA.empty_table()


# ---------------------------------------------------------------------------------------------
# SqlInfo

def sql_info(values: dict[int, Any], requested: Iterable[int]) -> pa.Table:
    """The GetSqlInfo answer for ``requested`` ids (all known ids if empty); unknown ids are
    left out, as the specification allows."""
    ids = [i for i in (list(requested) or sorted(values)) if i in values]
    type_ids: list[int] = []
    offsets: list[int] = []
    children: list[list[Any]] = [[] for _ in range(6)]
    for i in ids:
        v = values[i]
        if isinstance(v, bool):
            code = 1
        elif isinstance(v, str):
            code = 0
        elif isinstance(v, Int32):
            code, v = 3, int(v)
        elif isinstance(v, int):
            code = 2
        elif isinstance(v, list | tuple):
            code, v = 4, list(v)
        elif isinstance(v, dict):
            code, v = 5, list(v.items())
        else:  # pragma: no cover - programming error
            raise TypeError(f"unsupported SqlInfo value {v!r}")
        type_ids.append(code)
        offsets.append(len(children[code]))
        children[code].append(v)
    child_arrays = [pa.array(vals, type=field.type)
                    for vals, field in zip(children, SQL_INFO_VALUE_TYPE, strict=True)]
    union = pa.UnionArray.from_dense(
        pa.array(type_ids, type=pa.int8()),
        pa.array(offsets, type=pa.int32()),
        child_arrays,
        [f.name for f in SQL_INFO_VALUE_TYPE],
        [0, 1, 2, 3, 4, 5],
    )
    return pa.Table.from_arrays([pa.array(ids, type=pa.uint32()), union],
                                schema=SQL_INFO_SCHEMA)


class Int32(int):
    """Marks an SqlInfo value that travels as ``int32_bitmask`` (int32) rather than int64.
    The values themselves are in ``kodiak_flight.sqlinfo``."""


# ---------------------------------------------------------------------------------------------
# Types

def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


# (type_name, xdbc data_type, column_size, literal_prefix, literal_suffix, create_params,
#  case_sensitive, searchable, unsigned, fixed_prec_scale, min_scale, max_scale, subcode, radix)
_XDBC_TYPES: list[tuple[Any, ...]] = [
    ("BOOLEAN", pb.XDBC_BIT, 1, None, None, None, False, 2, None, False, None, None, None, None),
    ("TINYINT", pb.XDBC_TINYINT, 3, None, None, None, False, 2, False, True, 0, 0, None, 10),
    ("SMALLINT", pb.XDBC_SMALLINT, 5, None, None, None, False, 2, False, True, 0, 0, None, 10),
    ("INTEGER", pb.XDBC_INTEGER, 10, None, None, None, False, 2, False, True, 0, 0, None, 10),
    ("BIGINT", pb.XDBC_BIGINT, 19, None, None, None, False, 2, False, True, 0, 0, None, 10),
    ("DECIMAL", pb.XDBC_DECIMAL, 38, None, None, ["precision", "scale"], False, 2, False,
     True, 0, 38, None, 10),
    ("FLOAT", pb.XDBC_REAL, 24, None, None, None, False, 2, False, False, None, None, None, 2),
    ("DOUBLE", pb.XDBC_DOUBLE, 53, None, None, None, False, 2, False, False, None, None, None,
     2),
    ("VARCHAR", pb.XDBC_VARCHAR, None, "'", "'", None, True, 3, None, False, None, None, None,
     None),
    ("BLOB", pb.XDBC_VARBINARY, None, "'", "'::BLOB", None, False, 2, None, False, None, None,
     None, None),
    ("DATE", pb.XDBC_DATE, 10, "DATE '", "'", None, False, 2, None, False, None, None, 1,
     None),
    ("TIME", pb.XDBC_TIME, 15, "TIME '", "'", None, False, 2, None, False, 0, 6, 2, None),
    ("TIMESTAMP", pb.XDBC_TIMESTAMP, 26, "TIMESTAMP '", "'", None, False, 2, None, False, 0,
     6, 3, None),
    ("TIMESTAMPTZ", pb.XDBC_TIMESTAMP, 32, "TIMESTAMPTZ '", "'", None, False, 2, None, False,
     0, 6, 5, None),
    ("INTERVAL", pb.XDBC_INTERVAL, None, "INTERVAL '", "'", None, False, 2, None, False,
     None, None, None, None),
]

_SQL_DATA_TYPE = {pb.XDBC_DATE: pb.XDBC_DATETIME, pb.XDBC_TIME: pb.XDBC_DATETIME,
                  pb.XDBC_TIMESTAMP: pb.XDBC_DATETIME}


def xdbc_type_info(cmd: pb.CommandGetXdbcTypeInfo) -> pa.Table:
    wanted = cmd.data_type if cmd.HasField("data_type") else None
    rows = []
    for (name, code, size, prefix, suffix, params, case_sensitive, searchable, unsigned, fixed,
         min_scale, max_scale, subcode, radix) in _XDBC_TYPES:
        if wanted is not None and code != wanted:
            continue
        rows.append({
            "type_name": name, "data_type": code, "column_size": size,
            "literal_prefix": prefix, "literal_suffix": suffix, "create_params": params,
            "nullable": 1,  # NULLABILITY_NULLABLE
            "case_sensitive": case_sensitive, "searchable": searchable,
            "unsigned_attribute": unsigned, "fixed_prec_scale": fixed, "auto_increment": False,
            "local_type_name": name, "minimum_scale": min_scale, "maximum_scale": max_scale,
            "sql_data_type": _SQL_DATA_TYPE.get(code, code), "datetime_subcode": subcode,
            "num_prec_radix": radix, "interval_precision": None,
        })
    rows.sort(key=lambda r: (r["data_type"], r["type_name"]))
    return pa.Table.from_pylist(rows, schema=XDBC_TYPE_INFO_SCHEMA)
