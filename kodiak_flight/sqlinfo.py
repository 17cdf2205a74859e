"""What Kodiak reports about itself through GetSqlInfo: one honest value per SqlInfo id.

Every id of the Flight SQL specification is answered (JDBC's ``DatabaseMetaData`` turns a
missing id into a NullPointerException). Each value travels in the union member the
specification gives it: ``bool``, ``str``, a list of ``str``, a ``dict`` (int32 to int32 list),
:class:`~kodiak_flight.metadata.Int32` for an int32 bitmask or ordinal, and ``int`` for int64.
Limits are 0: Kodiak sets none (the specification's "no limit or not known").

The function lists come from the SQL layer's function registry, so a new function appears
here without an edit.
"""

from __future__ import annotations

import re
from typing import Any

import pyarrow as pa

from .metadata import Int32
from .proto import FlightSql_pb2 as pb
from .sql import functions as fn
from .sql.dialect import Grizzly


def bitmask(*ordinals: int) -> Int32:
    """An int32 bitmask: bit n set for each option ordinal n."""
    return Int32(sum(1 << o for o in set(ordinals)))


# Family of a scalar function, by the module of the registry that builds it; the generic
# one-argument kernels (registered by the registry itself) are numeric except these.
_FAMILY_BY_MODULE = {"math": "numeric", "strings": "string", "dates": "datetime",
                     "conditional": "system", "operators": "system"}
_STRING_KERNELS = {"lower", "upper", "reverse"}
# Special forms the binder handles itself (not in the registry) that JDBC lists.
_SYSTEM_FORMS = ("coalesce", "nullif", "cast", "try_cast")


def _family(f: fn.Function) -> str:
    module = getattr(f.build, "__module__", "").rsplit(".", 1)[-1]
    if module in _FAMILY_BY_MODULE:
        return _FAMILY_BY_MODULE[module]
    return "string" if f.name in _STRING_KERNELS else "numeric"


def function_lists() -> dict[str, list[str]]:
    """Scalar function names (aliases included) by JDBC family: numeric, string, datetime,
    system."""
    out: dict[str, set[str]] = {"numeric": set(), "string": set(), "datetime": set(),
                                "system": set(_SYSTEM_FORMS)}
    for f in fn.functions(fn.SCALAR):
        out[_family(f)].update((f.name, *f.aliases))
    return {k: sorted(v) for k, v in out.items()}


def keywords() -> list[str]:
    """The SQL dialect's keywords (single words), upper case."""
    return sorted({k.upper() for k in Grizzly.Tokenizer.KEYWORDS
                   if re.fullmatch(r"[A-Za-z_]+", k)})


# What CAST converts (JDBC supportsConvert): from each type to these (each pair is tried in
# tests/flight/test_jdbc_contract.py). Decimals and booleans do not convert to each other,
# nor text to TIME.
_INTEGERS = (pb.SQL_CONVERT_BIGINT, pb.SQL_CONVERT_INTEGER, pb.SQL_CONVERT_SMALLINT,
             pb.SQL_CONVERT_TINYINT)
_FLOATS = (pb.SQL_CONVERT_FLOAT, pb.SQL_CONVERT_REAL)
_DECIMALS = (pb.SQL_CONVERT_DECIMAL, pb.SQL_CONVERT_NUMERIC)
_NUMERIC = (*_INTEGERS, *_DECIMALS, *_FLOATS)
_TEXT = (pb.SQL_CONVERT_VARCHAR, pb.SQL_CONVERT_CHAR, pb.SQL_CONVERT_LONGVARCHAR)
_BINARY = (pb.SQL_CONVERT_VARBINARY, pb.SQL_CONVERT_BINARY, pb.SQL_CONVERT_LONGVARBINARY)
_TO_BIT = (*_INTEGERS, *_FLOATS, *_TEXT, pb.SQL_CONVERT_BIT)
CONVERSIONS: dict[int, list[int]] = {
    **{t: [*_NUMERIC, *_TEXT, pb.SQL_CONVERT_BIT] for t in (*_INTEGERS, *_FLOATS)},
    **{t: [*_NUMERIC, *_TEXT] for t in _DECIMALS},
    pb.SQL_CONVERT_BIT: list(_TO_BIT),
    **{t: [*_NUMERIC, *_TEXT, pb.SQL_CONVERT_BIT, pb.SQL_CONVERT_DATE,
           pb.SQL_CONVERT_TIMESTAMP] for t in _TEXT},
    pb.SQL_CONVERT_DATE: [*_TEXT, pb.SQL_CONVERT_DATE, pb.SQL_CONVERT_TIMESTAMP],
    pb.SQL_CONVERT_TIME: [*_TEXT, pb.SQL_CONVERT_TIME],
    pb.SQL_CONVERT_TIMESTAMP: [*_TEXT, pb.SQL_CONVERT_DATE, pb.SQL_CONVERT_TIME,
                               pb.SQL_CONVERT_TIMESTAMP],
    **{t: list(_BINARY) for t in _BINARY},
}


def _server(server_version: str, ingest_transactions: bool, savepoints: bool,
            statement_timeout_ms: int) -> dict[int, Any]:
    return {
        pb.FLIGHT_SQL_SERVER_NAME: "Kodiak",
        pb.FLIGHT_SQL_SERVER_VERSION: server_version,
        pb.FLIGHT_SQL_SERVER_ARROW_VERSION: pa.__version__,
        pb.FLIGHT_SQL_SERVER_READ_ONLY: False,
        pb.FLIGHT_SQL_SERVER_SQL: True,
        pb.FLIGHT_SQL_SERVER_SUBSTRAIT: False,
        # Substrait is not served: no version of it either
        pb.FLIGHT_SQL_SERVER_SUBSTRAIT_MIN_VERSION: "",
        pb.FLIGHT_SQL_SERVER_SUBSTRAIT_MAX_VERSION: "",
        pb.FLIGHT_SQL_SERVER_TRANSACTION: Int32(pb.SQL_SUPPORTED_TRANSACTION_SAVEPOINT
                                                if savepoints
                                                else pb.SQL_SUPPORTED_TRANSACTION_TRANSACTION),
        pb.FLIGHT_SQL_SERVER_CANCEL: True,
        pb.FLIGHT_SQL_SERVER_BULK_INGESTION: True,
        pb.FLIGHT_SQL_SERVER_INGEST_TRANSACTIONS_SUPPORTED: ingest_transactions,
        pb.FLIGHT_SQL_SERVER_STATEMENT_TIMEOUT: Int32(statement_timeout_ms),
        # an idle transaction expires (transaction_idle_timeout); a busy one never does
        pb.FLIGHT_SQL_SERVER_TRANSACTION_TIMEOUT: Int32(0),
    }


def _syntax() -> dict[int, Any]:
    lists = function_lists()
    return {
        pb.SQL_DDL_CATALOG: False,
        pb.SQL_DDL_SCHEMA: True,
        pb.SQL_DDL_TABLE: True,
        # names match whatever their case, quoted or not ("MiXed" is found as mixed)
        pb.SQL_IDENTIFIER_CASE: Int32(pb.SQL_CASE_SENSITIVITY_CASE_INSENSITIVE),
        pb.SQL_IDENTIFIER_QUOTE_CHAR: '"',
        pb.SQL_QUOTED_IDENTIFIER_CASE: Int32(pb.SQL_CASE_SENSITIVITY_CASE_INSENSITIVE),
        pb.SQL_ALL_TABLES_ARE_SELECTABLE: True,
        # NULLs last, ascending and descending alike
        pb.SQL_NULL_ORDERING: Int32(pb.SQL_NULLS_SORTED_AT_END),
        pb.SQL_KEYWORDS: keywords(),
        pb.SQL_NUMERIC_FUNCTIONS: lists["numeric"],
        pb.SQL_STRING_FUNCTIONS: lists["string"],
        pb.SQL_SYSTEM_FUNCTIONS: lists["system"],
        pb.SQL_DATETIME_FUNCTIONS: lists["datetime"],
        pb.SQL_SEARCH_STRING_ESCAPE: "\\",
        pb.SQL_EXTRA_NAME_CHARACTERS: "",
        pb.SQL_SUPPORTS_COLUMN_ALIASING: True,
        pb.SQL_NULL_PLUS_NULL_IS_NULL: True,
        pb.SQL_SUPPORTS_CONVERT: CONVERSIONS,
        pb.SQL_SUPPORTS_TABLE_CORRELATION_NAMES: True,
        pb.SQL_SUPPORTS_DIFFERENT_TABLE_CORRELATION_NAMES: False,
        pb.SQL_SUPPORTS_EXPRESSIONS_IN_ORDER_BY: True,
        pb.SQL_SUPPORTS_ORDER_BY_UNRELATED: True,
        pb.SQL_SUPPORTED_GROUP_BY: bitmask(pb.SQL_GROUP_BY_UNRELATED,
                                           pb.SQL_GROUP_BY_BEYOND_SELECT),
        pb.SQL_SUPPORTS_LIKE_ESCAPE_CLAUSE: True,
        pb.SQL_SUPPORTS_NON_NULLABLE_COLUMNS: True,
        pb.SQL_SUPPORTED_GRAMMAR: bitmask(pb.SQL_MINIMUM_GRAMMAR, pb.SQL_CORE_GRAMMAR),
        pb.SQL_ANSI92_SUPPORTED_LEVEL: bitmask(pb.ANSI92_ENTRY_SQL),
        pb.SQL_SUPPORTS_INTEGRITY_ENHANCEMENT_FACILITY: False,  # no foreign keys, no CHECK
        # A bitmask, not the ordinal the specification's comment says: the JDBC driver (and
        # the Java reference server) treat it as one (supportsFullOuterJoins tests bit 2).
        pb.SQL_OUTER_JOINS_SUPPORT_LEVEL: bitmask(pb.SQL_LIMITED_OUTER_JOINS,
                                                  pb.SQL_FULL_OUTER_JOINS),
        pb.SQL_SCHEMA_TERM: "schema",
        pb.SQL_PROCEDURE_TERM: "procedure",
        pb.SQL_CATALOG_TERM: "catalog",
        pb.SQL_CATALOG_AT_START: True,
        pb.SQL_SCHEMAS_SUPPORTED_ACTIONS: bitmask(pb.SQL_ELEMENT_IN_INDEX_DEFINITIONS),
        pb.SQL_CATALOGS_SUPPORTED_ACTIONS: bitmask(),
        pb.SQL_SUPPORTED_POSITIONED_COMMANDS: bitmask(),
        pb.SQL_SELECT_FOR_UPDATE_SUPPORTED: False,
        pb.SQL_STORED_PROCEDURES_SUPPORTED: False,
        pb.SQL_SUPPORTED_SUBQUERIES: bitmask(pb.SQL_SUBQUERIES_IN_COMPARISONS,
                                             pb.SQL_SUBQUERIES_IN_EXISTS,
                                             pb.SQL_SUBQUERIES_IN_INS,
                                             pb.SQL_SUBQUERIES_IN_QUANTIFIEDS),
        pb.SQL_CORRELATED_SUBQUERIES_SUPPORTED: True,
        pb.SQL_SUPPORTED_UNIONS: bitmask(pb.SQL_UNION, pb.SQL_UNION_ALL),
    }


# No limit on any of these (0: "no limit or not known").
_LIMITS = (
    pb.SQL_MAX_BINARY_LITERAL_LENGTH, pb.SQL_MAX_CHAR_LITERAL_LENGTH,
    pb.SQL_MAX_COLUMN_NAME_LENGTH, pb.SQL_MAX_COLUMNS_IN_GROUP_BY, pb.SQL_MAX_COLUMNS_IN_INDEX,
    pb.SQL_MAX_COLUMNS_IN_ORDER_BY, pb.SQL_MAX_COLUMNS_IN_SELECT, pb.SQL_MAX_COLUMNS_IN_TABLE,
    pb.SQL_MAX_CONNECTIONS, pb.SQL_MAX_CURSOR_NAME_LENGTH, pb.SQL_MAX_INDEX_LENGTH,
    pb.SQL_DB_SCHEMA_NAME_LENGTH, pb.SQL_MAX_PROCEDURE_NAME_LENGTH,
    pb.SQL_MAX_CATALOG_NAME_LENGTH, pb.SQL_MAX_ROW_SIZE, pb.SQL_MAX_STATEMENT_LENGTH,
    pb.SQL_MAX_STATEMENTS, pb.SQL_MAX_TABLE_NAME_LENGTH, pb.SQL_MAX_TABLES_IN_SELECT,
    pb.SQL_MAX_USERNAME_LENGTH,
)


def _transactions(savepoints: bool) -> dict[int, Any]:
    read_only = bitmask(pb.SQL_RESULT_SET_CONCURRENCY_READ_ONLY)
    return {
        pb.SQL_MAX_ROW_SIZE_INCLUDES_BLOBS: False,
        # An int64, not the int32 the specification's comment says: the JDBC driver (and the
        # Java reference server) read and write this one as int64, and fail on an int32.
        # READ COMMITTED is the floor: a Flight SQL transaction takes the writer lock at its
        # first write, so reads before it see the latest committed data; a SQL BEGIN holds
        # the lock from the start (serializable).
        pb.SQL_DEFAULT_TRANSACTION_ISOLATION: int(pb.SQL_TRANSACTION_READ_COMMITTED),
        pb.SQL_TRANSACTIONS_SUPPORTED: True,
        pb.SQL_SUPPORTED_TRANSACTIONS_ISOLATION_LEVELS: bitmask(
            pb.SQL_TRANSACTION_READ_COMMITTED, pb.SQL_TRANSACTION_SERIALIZABLE),
        pb.SQL_DATA_DEFINITION_CAUSES_TRANSACTION_COMMIT: False,
        pb.SQL_DATA_DEFINITIONS_IN_TRANSACTIONS_IGNORED: False,
        pb.SQL_SUPPORTED_RESULT_SET_TYPES: bitmask(pb.SQL_RESULT_SET_TYPE_FORWARD_ONLY),
        pb.SQL_SUPPORTED_CONCURRENCIES_FOR_RESULT_SET_UNSPECIFIED: read_only,
        pb.SQL_SUPPORTED_CONCURRENCIES_FOR_RESULT_SET_FORWARD_ONLY: read_only,
        pb.SQL_SUPPORTED_CONCURRENCIES_FOR_RESULT_SET_SCROLL_SENSITIVE: bitmask(),
        pb.SQL_SUPPORTED_CONCURRENCIES_FOR_RESULT_SET_SCROLL_INSENSITIVE: bitmask(),
        pb.SQL_BATCH_UPDATES_SUPPORTED: True,
        pb.SQL_SAVEPOINTS_SUPPORTED: savepoints,
        pb.SQL_NAMED_PARAMETERS_SUPPORTED: False,
        pb.SQL_LOCATORS_UPDATE_COPY: False,
        pb.SQL_STORED_FUNCTIONS_USING_CALL_SYNTAX_SUPPORTED: False,
    }


def default_sql_info(*, server_version: str, ingest_transactions: bool,
                     savepoints: bool = False, statement_timeout: float | None = None
                     ) -> dict[int, Any]:
    """Every SqlInfo id's value; ``statement_timeout`` in seconds (None: no limit)."""
    timeout_ms = 0 if statement_timeout is None else max(1, round(statement_timeout * 1000))
    return {
        **_server(server_version, ingest_transactions, savepoints, min(timeout_ms, 2**31 - 1)),
        **_syntax(),
        **dict.fromkeys(_LIMITS, 0),
        **_transactions(savepoints),
    }
