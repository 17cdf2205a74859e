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

# a constant is taken out when it follows one of these ...
_COMPARED = {TokenType.EQ, TokenType.NEQ, TokenType.LT, TokenType.LTE, TokenType.GT,
             TokenType.GTE}
# ... and ends the comparison: one of these (or the end of the text) comes next
_ENDS = {TokenType.AND, TokenType.OR, TokenType.R_PAREN, TokenType.GROUP_BY,
         TokenType.ORDER_BY, TokenType.HAVING, TokenType.LIMIT, TokenType.SEMICOLON,
         TokenType.WINDOW, TokenType.QUALIFY, TokenType.WHERE, TokenType.JOIN}
_CONSTANTS = {TokenType.NUMBER, TokenType.STRING}
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
    taken = _taken(tokens)
    if not taken:
        return None
    out, values, last = [], [], 0
    for n, i in enumerate(taken, 1):
        t = tokens[i]
        try:
            values.append(_scalar(t))
        except (SqlError, ValueError, ArithmeticError):
            return None  # the binder's error, when the text is run as written
        out.append(sql[last:t.start])  # a string's span holds its quotes
        out.append(f"${n}")
        last = t.end + 1
    out.append(sql[last:])
    return Shape("".join(out), values)


def _taken(tokens: list[Token]) -> list[int]:
    """Positions of the constants taken out: after a comparison operator, or a BETWEEN's
    bounds, each ending the comparison."""
    taken: list[int] = []
    kinds = [t.token_type for t in tokens]
    for i, kind in enumerate(kinds):
        if kind not in _CONSTANTS or i == 0:
            continue
        before = kinds[i - 1]
        after = kinds[i + 1] if i + 1 < len(kinds) else None
        if before in _COMPARED and (after is None or after in _ENDS):
            taken.append(i)
        elif before == TokenType.BETWEEN and after == TokenType.AND and \
                i + 2 < len(kinds) and kinds[i + 2] in _CONSTANTS and \
                (i + 3 >= len(kinds) or kinds[i + 3] in _ENDS):
            taken.extend((i, i + 2))
    return taken


def _scalar(token: Token) -> pa.Scalar:
    """A constant as the binder types its literal."""
    if token.token_type == TokenType.STRING:
        return pa.scalar(token.text, pa.string())
    found = number_literal(token.text)
    return pa.scalar(found.value, found.type)


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
