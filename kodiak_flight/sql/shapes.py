"""Query texts that differ only in the constants they compare share one plan.

Tools send lookups as text with the key written in (``... where id = 42``, a JDBC
``Statement``, an npm client without parameters), so each lookup is a new text that is
parsed, bound and optimised again: about 1 ms embedded, against 0.15 ms for the same query
prepared. A constant compared in a condition (``x = 42``, ``x < 'b'``, ``x between 1 and
9``) is taken out of the text here: the text with ``$n`` in its place is the query's
*shape*, which ``Session.execute`` keeps as a prepared statement and runs with the
constants as parameters of the types the binder gives the literals.

A literal and a parameter of its type do not always bind alike (a string compared with a
date column is cast while binding), so the session uses a shape only after checking it,
the second time it is seen: the plan of the text as written and the plan of the shape with
its values must be the same (``plancache.same_plan``), output names and types included;
else the shape is refused and its texts run as written. The check is per shape *and*
types of the values, and only constants in the positions below are taken out, so what
the check saw is what later texts of the shape do.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from sqlglot.errors import TokenError
from sqlglot.tokens import Token, TokenType

from .binder.literals import number_literal
from .dialect import tokenize
from .errors import SqlError
from .expr import Lit, cast

# a constant is taken out when it follows one of these ...
_COMPARED = {TokenType.EQ, TokenType.NEQ, TokenType.LT, TokenType.LTE, TokenType.GT,
             TokenType.GTE}
# ... and ends the comparison: one of these (or the end of the text) comes next
_ENDS = {TokenType.AND, TokenType.OR, TokenType.R_PAREN, TokenType.GROUP_BY,
         TokenType.ORDER_BY, TokenType.HAVING, TokenType.LIMIT, TokenType.SEMICOLON,
         TokenType.WINDOW, TokenType.QUALIFY, TokenType.WHERE, TokenType.JOIN}
_CONSTANTS = {TokenType.NUMBER, TokenType.STRING}
_TWO_TOKEN_CONSTANTS = {(TokenType.DASH, TokenType.NUMBER), (TokenType.DATE, TokenType.STRING)}
# texts naming parameters or variables keep them as they are
_PARAMETERS = {TokenType.PLACEHOLDER, TokenType.PARAMETER}
_QUERIES = {TokenType.SELECT, TokenType.WITH}


@dataclass(frozen=True)
class Shape:
    """A query text with its compared constants as ``$1``, ``$2``...: ``text``; the
    constants as typed scalars, ``values``; ``key`` tells shapes and their types apart."""

    text: str
    values: list[pa.Scalar]

    @property
    def key(self) -> tuple[str, tuple[pa.DataType, ...]]:
        return self.text, tuple(v.type for v in self.values)


def literal_shape(sql: str) -> Shape | None:
    """The shape of query ``sql``; None when it is not a query, names parameters or
    variables, or compares no constant."""
    try:
        tokens = tokenize(sql)
    except TokenError:
        return None  # parsing says what is wrong
    if not tokens or tokens[0].token_type not in _QUERIES or \
            any(t.token_type in _PARAMETERS for t in tokens):
        return None
    spans = _taken([t.token_type for t in tokens])
    if not spans:
        return None
    out, values, last = [], [], 0
    for n, (first, end) in enumerate(spans, 1):
        try:
            values.append(_scalar(tokens[first:end + 1]))
        except (SqlError, ValueError, ArithmeticError, pa.ArrowException):
            return None  # the binder's error, when the text is run as written
        out.append(sql[last:tokens[first].start])  # a string's span holds its quotes
        out.append(f"${n}")
        last = tokens[end].end + 1
    out.append(sql[last:])
    return Shape("".join(out), values)


def _taken(kinds: list[TokenType]) -> list[tuple[int, int]]:
    """(first, last) token positions of the constants taken out: after a comparison
    operator, or a BETWEEN's bounds, each ending the comparison."""
    taken: list[tuple[int, int]] = []
    i = 1
    while i < len(kinds):
        end = _constant(kinds, i)
        if end is None:
            i += 1
            continue
        before, after = kinds[i - 1], _kind(kinds, end + 1)
        upper = _constant(kinds, end + 2) if after == TokenType.AND else None
        if before in _COMPARED and (after is None or after in _ENDS):
            taken.append((i, end))
        elif before == TokenType.BETWEEN and upper is not None and \
                (_kind(kinds, upper + 1) is None or _kind(kinds, upper + 1) in _ENDS):
            taken.extend(((i, end), (end + 2, upper)))
            end = upper
        i = end + 1
    return taken


def _constant(kinds: list[TokenType], i: int) -> int | None:
    """The last position of a constant starting at ``i``: a number or string, a negative
    number (``-5``), a date (``date '1998-12-01'``); None if none starts there."""
    kind, then = _kind(kinds, i), _kind(kinds, i + 1)
    if kind in _CONSTANTS:
        return i
    if (kind, then) in _TWO_TOKEN_CONSTANTS:
        return i + 1
    return None


def _kind(kinds: list[TokenType], i: int) -> TokenType | None:
    return kinds[i] if i < len(kinds) else None


def _scalar(tokens: list[Token]) -> pa.Scalar:
    """A constant as the binder types its literal (its folded cast, its negation)."""
    first, last = tokens[0], tokens[-1]
    if first.token_type == TokenType.DATE:
        found = cast(Lit(last.text, pa.string()), pa.date32())
        if not isinstance(found, Lit):
            raise ValueError("not a constant date")
        return pa.scalar(found.value, found.type)
    if last.token_type == TokenType.STRING:
        return pa.scalar(last.text, pa.string())
    found = number_literal(last.text)
    value = -found.value if first.token_type == TokenType.DASH else found.value
    return pa.scalar(value, found.type)


class ShapedQuery:
    """What ``Session.prepare`` gives for text ``sql`` of a kept ``shape``: it takes no
    parameters, and running it runs the shape's prepared statement (``shaped``) with the
    text's constants; as written if the shape is no longer kept by then."""

    def __init__(self, session: Any, sql: str, shape: Shape, shaped: Any) -> None:
        self.session = session
        self.text = sql
        self.shape = shape
        self.stmt = shaped.stmt
        self.is_update = False
        self.dataset_schema: pa.Schema | None = shaped.dataset_schema
        self.parameter_schema = pa.schema([])

    def execute(self, params: pa.RecordBatch | pa.Table | None = None, *,
                interrupt: Any = None) -> Any:
        done = None if params is not None else \
            self.session.run_shaped(self.text, self.shape, interrupt)
        return done if done is not None else \
            self.session.execute(self.text, params, interrupt=interrupt)


class Shapes:
    """What a session knows of the shapes it has run: ``SEEN`` once, ``REFUSED``, or the
    prepared statement that runs it; each for as long as the catalog key it was found
    under holds, the least recently used forgotten past ``size``."""

    SEEN = "seen"
    REFUSED = "refused"

    def __init__(self, size: int) -> None:
        self.size = size
        self._kept: OrderedDict[Any, tuple[Any, Any]] = OrderedDict()

    def get(self, key: Any, version: Any) -> Any:
        hit = self._kept.get(key)
        if hit is None or hit[0] != version:
            return None
        self._kept.move_to_end(key)
        return hit[1]

    def put(self, key: Any, version: Any, what: Any) -> None:
        self._kept[key] = (version, what)
        self._kept.move_to_end(key)
        if len(self._kept) > self.size:
            self._kept.popitem(last=False)
