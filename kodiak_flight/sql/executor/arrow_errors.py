"""Arrow's errors while running a plan, reported as SQL execution errors."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from ..errors import ExecutionError

ARROW_ERRORS = (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError)


def execution_error(e: Exception) -> ExecutionError:
    """The SQL error for an Arrow error (its first line; SQL's wording for division)."""
    msg = str(e).split("\n")[0]
    if msg.lower().endswith("divide by zero"):
        msg = "division by zero"
    return ExecutionError(msg)


def arrow_errors(fn: Any) -> Any:
    """``fn`` raising ``ExecutionError`` where it raised an Arrow error."""
    def wrapped(*a: Any, **k: Any) -> Any:
        try:
            return fn(*a, **k)
        except ARROW_ERRORS as e:
            raise execution_error(e) from None
    return wrapped


def error_mapping_reader(r: pa.RecordBatchReader) -> pa.RecordBatchReader:
    """``r`` raising ``ExecutionError`` where it raised an Arrow error."""
    def gen() -> Iterator[pa.RecordBatch]:
        try:
            for b in r:  # noqa: UP028 (``yield from`` would close r with the error in flight)
                yield b
        except ARROW_ERRORS as e:
            raise execution_error(e) from None
        finally:
            # a reader closed early stops its plan; a scan interrupted meanwhile reports
            # QueryCancelled there, which the consumer, already gone, has no use for
            with contextlib.suppress(Exception):
                r.close()
    return pa.RecordBatchReader.from_batches(r.schema, gen())
