"""Why a record failed, as a category a known-failures list can name.

Errors are sorted by what raised them: Kodiak's own errors (``SqlError``, the engine's
``KodiakError``) by class, anything else (a Python exception escaping the SQL layer, or an
error whose text is Python's) as an *internal error*, which is a bug and never a known
failure. A wrong or failing query is re-run with SQLite's division (``a / b`` as
``a // NULLIF(b, 0)``: integers divide truncating, a zero divisor gives NULL, likewise for
``%``): if that answers right, the failure is the dialect difference, not a bug.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sqlglot import exp

from engine.errors import KodiakError
from kodiak_flight.sql import errors as E
from kodiak_flight.sql.dialect import Grizzly, parse

from .parser import Query

INTERNAL = "internal error"
INTEGER_DIVISION = "integer division (dialect difference)"
ZERO_DIVISOR = "division by zero gives NULL (dialect difference)"
CORRELATED = "correlated subquery"

# Text of Python's own exceptions: a message like this reaching the user is a bug.
_PYTHON_TEXT = re.compile(
    r"object has no attribute|'NoneType'|not subscriptable|unhashable type|"
    r"positional argument|list index out of range|object is not (callable|iterable)|"
    r"unsupported operand type|KeyError|Traceback|missing \d+ required|"
    r"cannot unpack|too many values to unpack|not enough values to unpack")

_CLASS_CATEGORY = {
    E.ParseError: "parse error",
    E.BindError: "bind error",
    E.SqlTypeError: "type error",
    E.ExecutionError: "execution error",
    E.QueryTimedOut: "timeout",
    E.TooComplex: "too complex",
}


def is_internal(category: str) -> bool:
    return category.startswith(INTERNAL)


def error(e: BaseException, sql: str = "") -> tuple[str, str]:
    """(reason, category) for an exception the record ``sql`` raised."""
    text = str(e).strip() or type(e).__name__
    if not isinstance(e, (E.SqlError, KodiakError)):
        return f"{type(e).__module__}.{type(e).__name__}: {text}", \
            f"{INTERNAL} ({type(e).__name__})"
    if _PYTHON_TEXT.search(text):
        return f"{type(e).__name__}: {text}", f"{INTERNAL} (Python text in {type(e).__name__})"
    reason = f"{type(e).__name__}: {text}"
    if "correlat" in text.lower():
        return reason, CORRELATED
    if isinstance(e, E.NotSupportedError):
        if re.match(r"statement .+ is not supported", text):  # name it as the user wrote it
            return reason, f"not supported: {_statement_name(sql)}"
        return reason, f"not supported: {_gist(text)}"
    if isinstance(e, KodiakError):
        return reason, f"engine error ({type(e).__name__})"
    for cls, name in _CLASS_CATEGORY.items():
        if isinstance(e, cls):
            return reason, name
    return reason, f"error ({type(e).__name__})"


def _statement_name(sql: str) -> str:
    words = sql.upper().split()
    return " ".join(words[:2] if words and words[0] in ("CREATE", "DROP", "ALTER") else words[:1])


def _gist(text: str) -> str:
    """The message without the user's names and numbers, to group alike failures."""
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "...", text.split("\n")[0])
    return re.sub(r"\d+", "N", text)[:80]


def explainable(category: str) -> bool:
    """Whether a failing query might pass with SQLite's division (a zero divisor raising)."""
    return category in ("execution error", "wrong result")


def sqlite_division(sql: str, integer: bool = True) -> str | None:
    """``sql`` with SQLite's ``/`` and ``%`` (a zero divisor gives NULL; with ``integer``,
    ``/`` truncates as integer division), or None when it has neither."""
    try:
        trees = parse(sql)
    except Exception:  # noqa: BLE001 - unparseable text cannot be rewritten
        return None
    if len(trees) != 1 or not any(trees[0].find_all(exp.Div, exp.Mod)):
        return None

    def rewrite(node: exp.Expression) -> exp.Expression:
        if isinstance(node, (exp.Div, exp.Mod)):
            divisor = exp.Nullif(this=node.expression.copy(), expression=exp.Literal.number(0))
            cls = exp.IntDiv if isinstance(node, exp.Div) and integer else type(node)
            return cls(this=node.this.copy(), expression=divisor)
        return node

    return trees[0].transform(rewrite).sql(dialect=Grizzly)


def dialect(session: Any, rec: Query, compare: Callable[[Query, Any], str | None],
            timeout: float | None) -> str | None:
    """The dialect difference that explains ``rec``'s failure, or None."""
    from .runner import query_table  # the runner imports this module

    for integer, category in ((False, ZERO_DIVISOR), (True, INTEGER_DIVISION)):
        sql = sqlite_division(rec.sql, integer)
        if sql is None:
            return None
        try:
            table = query_table(session, sql, timeout)
        except Exception:  # noqa: BLE001 - the rewrite did not help
            continue
        if compare(rec, table) is None:
            return category
    return None
