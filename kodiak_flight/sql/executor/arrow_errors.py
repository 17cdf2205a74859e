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

ARROW_ERRORS = (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError)


# Arrow's message for a string that does not convert: "Failed to parse string: 'x' as a
# scalar of type int32"
UNPARSED = re.compile(r"Failed to parse string: '(?P<value>.*)' as a scalar of type "
                      r"(?P<type>\w+)")
# ... for a decimal: "The string 'x' is not a valid decimal128 number"
UNPARSED_DECIMAL = re.compile(r"^The string '(?P<value>.*)' is not a valid decimal\d+ number")
# ... a float that no integer of the type holds: "Float value inf was truncated converting
# to int32"
FLOAT_OUT = re.compile(r"^Float value (?P<value>\S+) was truncated converting to (?P<type>\w+)")
# ... and for a BOOLEAN (the only cast whose message names no type): "Failed to parse value: t"
UNPARSED_BOOL = re.compile(r"^Failed to parse value: (?P<value>.*)$")


def execution_error(e: Exception) -> ExecutionError:
    """The SQL error for an Arrow error (its first line; SQL's wording for division and for
    a string that is no value of the type it is cast to)."""
    msg = str(e).split("\n")[0]
    if msg.lower().endswith("divide by zero"):
        msg = "division by zero"
    m = UNPARSED.search(msg)
    if m:
        msg = f"could not convert string '{m['value']}' to {type_name(m['type'])}"
    m = UNPARSED_BOOL.search(msg)
    if m:
        msg = f"could not convert string '{m['value']}' to BOOLEAN"
    if msg.startswith("Empty string cannot be converted to decimal"):
        msg = "could not convert string '' to DECIMAL"
    m = UNPARSED_DECIMAL.search(msg)
    if m:
        msg = f"could not convert string '{m['value']}' to DECIMAL"
    m = FLOAT_OUT.search(msg)
    if m:
        msg = f"{m['value']} is out of the range of {type_name(m['type'])}"
    return ExecutionError(msg)


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
