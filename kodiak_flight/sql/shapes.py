"""Query texts that differ only in the constants they compare share one plan.

Tools send lookups as text with the key written in (``... where id = 42``, a JDBC
``Statement``, an npm client without parameters), so each lookup is a new text that is
parsed, bound and optimised again: about 1 ms embedded, against 0.15 ms for the same query
prepared. A constant compared in a condition (``x = 42``, ``x < 'b'``, ``x between 1 and
9``, ``x in (1, 2, 3)``) is taken out of the text here: the text with ``$n`` in its place
is the query's *shape*, which ``Session.execute`` keeps as a prepared statement and runs
with the constants as parameters of the types the binder gives the literals.

A literal and a parameter of its type do not always bind alike (a string compared with a
date column is cast while binding), so the session uses a shape only after checking it,
the second time it is seen: the plan of the text as written and the plan of the shape with
its values must be the same (``plancache.same_plan``), output names and types included;
else the shape is refused and its texts run as written. The check is per shape *and*
types of the values, and only constants in the positions below are taken out, so what
the check saw is what later texts of the shape do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pyarrow as pa
from sqlglot.errors import TokenError
from sqlglot.tokens import Token, TokenType

from .binder.literals import number_literal
from .dialect import parse, tokenize
from .errors import SqlError
from .expr import Lit, cast
from .functions.operators import MAX_PARAM_IN
from .internal import reported
from .kept import Kept
from .nesting import guarded
from .plancache import plain, planned, same_plan
from .types import holds

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
# a text that may be a query: SELECT or WITH first, after blanks and comments
_QUERY_START = re.compile(r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*(?:select|with)\b",
                          re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Shape:
    """A query text with its compared constants as ``$1``, ``$2``...: ``text``; the
    constants as typed scalars, ``values``; ``key`` tells shapes and their types apart."""

    text: str
    values: list[pa.Scalar]
    kind: str = ""  # "" as the binder types the constants, else the variant's marker

    @property
    def key(self) -> tuple[str, tuple[pa.DataType, ...], str]:
        # (the kind apart: a constant too wide for TINYINT and SMALLINT keeps its INTEGER
        # type as a small-integer variant, and must not find the plain shape's marker)
        return self.text, tuple(v.type for v in self.values), self.kind

    def narrowed(self) -> Shape:
        """This shape with its integer constants as the narrowest DECIMAL holding each
        (``functions.operators.narrow_int_literal``'s types)."""
        return Shape(self.text, [_narrow(v) for v in self.values], _NARROWED)

    def small_ints(self) -> Shape:
        """This shape with its integer constants as the narrowest integer type holding each:
        a constant compared with a SMALLINT column binds as a SMALLINT when it fits
        (``functions.operators.fit_int_literal``), and a TINYINT parameter widened to
        SMALLINT plans the same with its value put in."""
        return Shape(self.text, [_small(v) for v in self.values], _SMALL_INTS)

    def variant(self, kind: str) -> Shape:
        return self.narrowed() if kind == _NARROWED else self.small_ints()


def _narrow(v: pa.Scalar) -> pa.Scalar:
    if not pa.types.is_integer(v.type) or not v.is_valid:
        return v
    digits = len(str(abs(v.as_py())))
    return pa.scalar(Decimal(v.as_py()), pa.decimal128(digits, 0))


def _small(v: pa.Scalar) -> pa.Scalar:
    if not pa.types.is_integer(v.type) or not v.is_valid:
        return v
    x = v.as_py()
    return next((pa.scalar(x, t) for t in (pa.int8(), pa.int16(), pa.int32())
                 if holds(t, x)), v)


def literal_shape(sql: str) -> Shape | None:
    """The shape of query ``sql``; None when it is not a query, names parameters or
    variables, or compares no constant."""
    if not _QUERY_START.match(sql):  # an INSERT's text (maybe megabytes) is not tokenized
        return None
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
    operator, a BETWEEN's bounds or an IN list's items, each ending the comparison."""
    taken: list[tuple[int, int]] = []
    i = 1
    while i < len(kinds):
        listed = _in_list(kinds, i)
        if listed is not None:
            taken += listed
            i = listed[-1][1] + 2
            continue
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


def _in_list(kinds: list[TokenType], i: int) -> list[tuple[int, int]] | None:
    """The constants of ``IN (c1, c2, ...)`` starting at ``i`` (the IN), when every item is
    one, there are at most ``MAX_PARAM_IN`` (a longer list of parameters is bound per
    value anyway) and the comparison ends after it; else None."""
    if kinds[i] != TokenType.IN or _kind(kinds, i + 1) != TokenType.L_PAREN:
        return None
    items: list[tuple[int, int]] = []
    j = i + 2
    while (end := _constant(kinds, j)) is not None and len(items) < MAX_PARAM_IN:
        items.append((j, end))
        after = _kind(kinds, end + 1)
        if after == TokenType.R_PAREN:
            follows = _kind(kinds, end + 2)
            return items if follows is None or follows in _ENDS else None
        if after != TokenType.COMMA:
            return None
        j = end + 2
    return None


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
    """What a session knows of the query shapes it has run, each under the catalog key it
    was found at: seen once, refused, narrowed (see :meth:`learn`), or the prepared
    statement that runs it; past ``size`` the least recently used is forgotten."""

    def __init__(self, session: Any, size: int) -> None:
        self.session = session
        self._known = Kept(size)

    def kept(self, shape: Shape, version: Any) -> tuple[Any, Shape] | None:
        """The prepared statement that runs ``shape`` at catalog key ``version``, and the
        shape to run it with (its integers narrowed where that is how it was kept)."""
        found = self._get(shape, version)
        if found in _VARIANTS:
            shape = shape.variant(found)
            found = self._get(shape, version)
        return None if isinstance(found, str) or found is None else (found, shape)

    def learn(self, shape: Shape, written: Any, version: Any) -> None:
        """Note ``shape`` seen; the second time, keep it if it plans as the text as
        written (``written``, a prepared statement) does, else refuse it. A refused shape
        with integer constants is tried again with them as the narrowest DECIMALs holding
        them, which is how an integer compared with a DECIMAL column binds, then as the
        narrowest integers (a SMALLINT column's); each count of digits, or each integer
        width, is then a shape of its own."""
        known = self._get(shape, version)
        if known in _VARIANTS:
            self.learn(shape.variant(known), written, version)
        elif known is None:
            self._put(shape, version, _SEEN)
        elif known is _SEEN:
            kept = self._checked(shape, written)
            for kind in _VARIANTS if kept is None else ():
                variant = shape.variant(kind)
                same = variant.values == shape.values and \
                    [v.type for v in variant.values] == [v.type for v in shape.values]
                found = None if same else self._checked(variant, written)
                if found is not None:
                    self._put(variant, version, found)
                    kept = kind
                    break
            self._put(shape, version, _REFUSED if kept is None else kept)

    def _checked(self, shape: Shape, written: Any) -> Any | None:
        """The prepared statement of ``shape`` if it plans as ``written`` with its values."""
        session = self.session
        snap = session.snapshot()
        try:
            with guarded(), reported(written.stmt):
                shaped = session.prepare_parsed(parse(shape.text, session.max_nesting)[0])
                tpl, values = shaped.bound(shape.values)
                first, none = written.bound([])
                if not (tpl.kept and first.kept) or tpl.names != first.names:
                    return None
                a, b = planned(first, plain(none), snap), planned(tpl, plain(values), snap)
                fa = first.result_fields(a, session.catalog)
                fb = tpl.result_fields(b, session.catalog)
        except (SqlError, pa.ArrowException):
            return None  # the shape does not bind as the text does
        if not same_plan(a, b) or not pa.schema(fa).equals(pa.schema(fb), check_metadata=True):
            return None
        shaped.dataset_schema = pa.schema(fb)  # what ``prepare`` describes it with
        return shaped

    def _get(self, shape: Shape, version: Any) -> Any:
        return self._known.get((shape.key, self.session.schema), version)

    def _put(self, shape: Shape, version: Any, what: Any) -> None:
        self._known.put((shape.key, self.session.schema), version, what)


_SEEN, _REFUSED, _NARROWED, _SMALL_INTS = "seen", "refused", "narrowed", "small integers"
_VARIANTS = (_NARROWED, _SMALL_INTS)
