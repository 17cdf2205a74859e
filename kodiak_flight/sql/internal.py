"""Python errors that escape a statement are bugs: reported as :class:`InternalError`
naming the statement, never as Python's text; the traceback goes to the log."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import pyarrow as pa
from sqlglot import exp

from .activity import shown_text
from .errors import InternalError

log = logging.getLogger("kodiak_flight.sql")

# what a bug in the layer raises (Arrow's own TypeError / KeyError kinds are data errors)
_BUGS = (AttributeError, TypeError, KeyError, IndexError, AssertionError, NameError)


@contextlib.contextmanager
def reported(stmt: exp.Expression) -> Iterator[None]:
    """Raise an unexpected Python error inside the block as an ``InternalError``."""
    try:
        yield
    except _BUGS as e:
        if isinstance(e, pa.ArrowException):
            raise
        words = _words(stmt)
        log.exception("internal error in statement %s", words)
        raise InternalError(f"internal error while running {words}: this is a bug in "
                            f"Kodiak ({type(e).__name__}, details in the log)") from e


def _words(stmt: exp.Expression, width: int = 80) -> str:
    try:
        text = stmt.sql(dialect="duckdb")
    except Exception:  # noqa: BLE001 - the statement's kind is enough then
        text = stmt.key.upper()
    text = shown_text(text)  # string literals masked in statements about secrets
    return repr(text if len(text) <= width else text[:width - 3] + "...")
