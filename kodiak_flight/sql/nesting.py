"""The nesting guard: deeply nested SQL gets a clear error at every entry point.

sqlglot's parser and our binder recurse about 20 Python frames per level of parentheses, so
text nested far deeper than any real query would exhaust the stack. Two defences, both in the
SQL layer so an embedded ``Session`` is as safe as the server: a scan of the raw text before
parsing (cheap, refuses absurd inputs at once), and :func:`guarded`, which turns any
``RecursionError`` raised while a statement is parsed, bound, planned or run into
:class:`TooComplex`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from .errors import TooComplex

MAX_NESTING = 500  # levels of parentheses; deeper text is refused before parsing


def check_nesting(sql: str, limit: int = MAX_NESTING) -> None:
    """Refuse ``sql`` if its parentheses (outside string literals and quoted names) nest
    deeper than ``limit``."""
    if sql.count("(") <= limit:
        return
    depth = 0
    quote = ""
    for ch in sql:
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
            if depth > limit:
                raise TooComplex(f"the statement is nested too deeply (more than {limit} "
                                 "levels of parentheses)")
        elif ch == ")":
            depth -= 1


@contextlib.contextmanager
def guarded() -> Iterator[None]:
    """Turn a ``RecursionError`` from deep nesting into :class:`TooComplex`."""
    try:
        yield
    except RecursionError:
        raise TooComplex("the statement is nested too deeply or too complex to process") \
            from None
