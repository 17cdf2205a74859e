"""PEP 249's module-level globals, type objects and constructors for embedded Kodiak.

Parameters are positional: ``?`` (qmark), or ``$1``, ``$2``... as PL-Grizzly numbers them; the
SQL layer rewrites each ``?`` as ``$N`` by position, so both bind the same way. Values are bound
as Arrow parameters, never spliced into the SQL text.

A column's ``type_code`` in ``cursor.description`` is its Arrow ``DataType`` (exact, and what
pandas and Polars convert from); it compares equal to the type object of its family
(``description[0][1] == NUMBER``).
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable

import pyarrow as pa

apilevel = "2.0"
threadsafety = 1  # threads may share the module, not a connection (one per thread)
paramstyle = "qmark"


class DBAPITypeObject:
    """A PEP 249 type object: equal to the Arrow types of one family."""

    def __init__(self, name: str, test: Callable[[pa.DataType], bool]) -> None:
        self.name = name
        self._test = test

    def __eq__(self, other: object) -> bool:
        if isinstance(other, DBAPITypeObject):
            return other is self
        return isinstance(other, pa.DataType) and self._test(other)

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return self.name


def _is_string(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def _is_binary(t: pa.DataType) -> bool:
    return (pa.types.is_binary(t) or pa.types.is_large_binary(t)
            or pa.types.is_fixed_size_binary(t) or pa.types.is_binary_view(t))


def _is_number(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)


def _is_datetime(t: pa.DataType) -> bool:
    return pa.types.is_temporal(t)


STRING = DBAPITypeObject("STRING", _is_string)
BINARY = DBAPITypeObject("BINARY", _is_binary)
NUMBER = DBAPITypeObject("NUMBER", _is_number)
DATETIME = DBAPITypeObject("DATETIME", _is_datetime)
ROWID = DBAPITypeObject("ROWID", lambda t: False)  # Kodiak tables have no row ids

Date = datetime.date
Time = datetime.time
Timestamp = datetime.datetime
Binary = bytes


def DateFromTicks(ticks: float) -> datetime.date:  # noqa: N802 - PEP 249's name
    return Date(*time.localtime(ticks)[:3])


def TimeFromTicks(ticks: float) -> datetime.time:  # noqa: N802 - PEP 249's name
    return Time(*time.localtime(ticks)[3:6])


def TimestampFromTicks(ticks: float) -> datetime.datetime:  # noqa: N802 - PEP 249's name
    return Timestamp(*time.localtime(ticks)[:6])


def describe(schema: pa.Schema) -> list[tuple] | None:
    """``cursor.description`` for a result schema: (name, type_code, display_size,
    internal_size, precision, scale, null_ok) per column; None when there is no result set."""
    if len(schema) == 0:
        return None
    out = []
    for f in schema:
        precision = scale = None
        if pa.types.is_decimal(f.type):
            precision, scale = f.type.precision, f.type.scale
        out.append((f.name, f.type, None, None, precision, scale, f.nullable))
    return out
