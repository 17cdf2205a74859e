"""Arrow's errors while running a plan, reported as SQL execution errors."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from ..errors import ExecutionError
from ..interrupt import Interrupt
from ..types import sql_name
from .watch import watched

ARROW_ERRORS = (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError,
                pa.ArrowCapacityError)


# Arrow's messages for a value that does not convert, and SQL's words for them (a ``type``
# group is an Arrow type name, given as its SQL name)
REWORDED = (
    (re.compile(r"Failed to parse string: '(?P<value>.*)' as a scalar of type (?P<type>\w+)"),
     "could not convert string '{value}' to {type}"),
    # a BOOLEAN's (the only cast whose message names no type)
    (re.compile(r"^Failed to parse value: (?P<value>.*)$"),
     "could not convert string '{value}' to BOOLEAN"),
    (re.compile(r"^Empty string cannot be converted to decimal"),
     "could not convert string '' to DECIMAL"),
    (re.compile(r"^The string '(?P<value>.*)' is not a valid decimal\d+ number"),
     "could not convert string '{value}' to DECIMAL"),
    # a number that a DECIMAL's precision does not hold (Arrow writes its magnitude), or
    # NaN/infinity as a DECIMAL
    (re.compile(r"^Cannot convert (?P<value>\S+) to Decimal(?:32|64|128|256)\(precision = "
                r"(?P<p>\d+), scale = (?P<s>\d+)\): overflow"),
     "a value does not fit in DECIMAL({p},{s}) (its magnitude is {value})"),
    (re.compile(r"^Decimal value does not fit in precision (?P<p>\d+)"),
     "a value does not fit in a DECIMAL of precision {p} (rounded to its scale)"),
    (re.compile(r"^Cannot convert (?P<value>-?(?:nan|inf)) to Decimal"),
     "{value} is out of the range of DECIMAL"),
    (re.compile(r"^shift amount must be >= 0 and less than precision of type"),
     "a shift amount must be from 0 to the integer type's width in bits less one"),
    # a text (or binary) result past the 2 GiB one column of a batch holds
    (re.compile(r"^Result might not fit in "
                r"(?:a 32bit (?:utf8|binary)|requested binary/string) array"),
     "a text result is too large: one column of a batch holds at most 2 GiB of text"),
    # a float that no integer of the type holds
    (re.compile(r"^Float value (?P<value>\S+) was truncated converting to (?P<type>\w+)"),
     "{value} is out of the range of {type}"),
)


def execution_error(e: Exception) -> ExecutionError:
    """The SQL error for an Arrow error (its first line; SQL's wording for division and for
    a value that does not convert to the type it is cast to)."""
    msg = str(e).split("\n")[0]
    if msg.lower().endswith("divide by zero"):
        msg = "division by zero"
    for pattern, words in REWORDED:
        if (m := pattern.search(msg)) is not None:
            parts = m.groupdict()
            if len(parts.get("value") or "") > 24:  # 1e300 written out in full
                parts["value"] = _short(parts["value"])
            if "type" in parts:
                parts["type"] = type_name(parts["type"])
            return ExecutionError(words.format(**parts))
    return ExecutionError(msg)


def _short(number: str) -> str:
    """A long number as Arrow writes it, in exponent form."""
    try:
        return f"{float(number):g}"
    except ValueError:
        return number


def type_name(arrow_name: str) -> str:
    """The SQL name of the Arrow type Arrow's messages call ``arrow_name`` (``int32``)."""
    try:
        return sql_name(pa.type_for_alias(arrow_name))
    except ValueError:
        return arrow_name.upper()


def arrow_errors(fn: Any) -> Any:
    """``fn`` raising ``ExecutionError`` where it raised an Arrow error."""
    def wrapped(*a: Any, **k: Any) -> Any:
        try:
            return fn(*a, **k)
        except ARROW_ERRORS as e:
            raise execution_error(e) from None
    return wrapped


def error_mapping_reader(r: pa.RecordBatchReader,
                         interrupt: Interrupt | None = None) -> pa.RecordBatchReader:
    """``r`` (a plan's reader) read by ``watch.watched``, raising ``ExecutionError`` where it
    raised an Arrow error. No frame here keeps ``r``: the plan keeps its error, whose
    traceback keeps the frames it passes, and the cycle through C++ would never be freed."""
    schema = r.schema
    return pa.RecordBatchReader.from_batches(schema, _mapped(watched(r, interrupt), interrupt))


def _mapped(batches: Iterator[pa.RecordBatch], interrupt: Interrupt | None
            ) -> Iterator[pa.RecordBatch]:
    try:
        yield from batches
    except ARROW_ERRORS as e:
        stopped = interrupt.stopped_by() if interrupt is not None else None
        if stopped is not None:  # the plan's stop flag was set: its error is the stop's
            raise copy.copy(stopped) from None
        raise execution_error(e) from None
