"""``MATCH expr { pattern => result, ... }``: a value match, compiled to ``CASE`` while parsing.

Patterns: a value (``1``, ``'a'``, ``null``, any constant expression), alternatives
(``2 | 3``), an inclusive range (``4..10``: 4 <= x <= 10; also of strings ``'a'..'m'`` and
dates ``date '2024-01-01'..date '2024-06-30'``, any constants), the wildcard ``_``, and a
name that binds the subject (``x if x > 100``); any arm may take a guard ``if <condition>``.
Arms are tried in order and the first that holds gives the result; with no arm holding the
value is NULL (as CASE without ELSE). Because it becomes a CASE, a MATCH runs vectorised
wherever an expression may stand; the subject is evaluated once per pattern that needs it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp
from sqlglot.errors import ParseError as GlotParseError
from sqlglot.tokens import TokenType


@dataclass
class Arm:
    """One ``patterns [if guard] => result`` arm."""

    conds: list[exp.Expression] = field(default_factory=list)  # OR-ed; empty: always
    binding: str | None = None
    guard: exp.Expression | None = None
    result: exp.Expression | None = None


def parse_match(p: Any) -> exp.Expression | None:
    """Called by the dialect after the word MATCH; None (and back before MATCH) when no
    ``{`` follows the subject: then ``match`` is an ordinary name."""
    start, errors = p._index - 1, len(p.errors)
    brace = _subject_end(p)
    if brace is None:
        p._retreat(start)
        return None
    size, p._tokens_size = p._tokens_size, brace  # the subject ends at the brace
    try:
        subject = p._parse_bitwise()
    except GlotParseError:
        subject = None
    finally:
        p._tokens_size = size
    p._advance(0)
    if subject is None or not p._match(TokenType.L_BRACE):
        del p.errors[errors:]
        p._retreat(start)
        return None
    arms: list[Arm] = []
    while True:
        arms.append(_arm(p, subject))
        if p._match(TokenType.COMMA):
            if p._match(TokenType.R_BRACE):  # a trailing comma
                break
            continue
        if not p._match(TokenType.R_BRACE):
            p.raise_error("expected ',' or '}' after a MATCH arm")
        break
    return _case(p, arms)


_ENDS = {TokenType.COMMA, TokenType.SEMICOLON, TokenType.FROM, TokenType.R_BRACE,
         TokenType.R_BRACKET}


def _subject_end(p: Any) -> int | None:
    """The index of the ``{`` after the subject (outside parentheses), or None when the
    expression ends first (``select match from t``): sqlglot would read ``x {...}`` as a
    struct literal, so the subject is parsed with the tokens cut at the brace."""
    depth = 0
    for i in range(p._index, len(p._tokens)):
        tt = p._tokens[i].token_type
        if tt == TokenType.L_PAREN:
            depth += 1
        elif tt == TokenType.R_PAREN:
            depth -= 1
            if depth < 0:
                return None
        elif depth == 0 and tt == TokenType.L_BRACE:
            return i if i > p._index else None
        elif depth == 0 and tt in _ENDS:
            return None
    return None


def _arm(p: Any, subject: exp.Expression) -> Arm:
    arm = Arm()
    tok = p._curr
    if tok and tok.token_type == TokenType.VAR and _binds(p):
        p._advance()
        if tok.text != "_":
            arm.binding = tok.text
    else:
        while True:
            arm.conds.append(_pattern(p, subject))
            if not p._match(TokenType.PIPE):
                break
    if p._curr and p._curr.text.upper() == "IF" and p._curr.token_type != TokenType.STRING:
        p._advance()
        arm.guard = p._parse_disjunction()
    if not p._match(TokenType.FARROW):
        p.raise_error("expected '=>' in a MATCH arm")
    arm.result = p._parse_disjunction()
    if arm.binding is not None:
        arm.guard = _bind(arm.guard, arm.binding, subject)
        arm.result = _bind(arm.result, arm.binding, subject)
    return arm


def _binds(p: Any) -> bool:
    """A bare name (or ``_``) followed by ``if`` or ``=>``: a binding, not a value."""
    nxt = p._next
    return nxt is not None and (nxt.token_type == TokenType.FARROW or
                                (nxt.text.upper() == "IF" and nxt.token_type != TokenType.STRING))


def _pattern(p: Any, subject: exp.Expression) -> exp.Expression:
    """One pattern as a condition on the subject."""
    lo = _range_start(p)
    if lo is not None:
        hi = p._parse_term()
        if hi is None:
            p.raise_error("expected the upper bound of a MATCH range")
        return exp.Between(this=subject.copy(), low=lo, high=hi)
    value = p._parse_term()
    if value is None:
        p.raise_error("expected a MATCH pattern")
    if isinstance(value, exp.Null):
        return exp.Is(this=subject.copy(), expression=exp.Null())
    return exp.EQ(this=subject.copy(), expression=value)


def _range_start(p: Any) -> exp.Expression | None:
    """The lower bound of a range with its ``..`` consumed: a number (``[-]n..``), or any
    other constant before ``..`` (``'a'..``, ``date '2024-01-01'..``); None, having consumed
    nothing, when the pattern is no range."""
    number = _number_start(p)
    if number is not None:
        return number
    dots = _dots_ahead(p)
    if dots is None:
        return None
    start, errors = p._index, len(p.errors)
    size, p._tokens_size = p._tokens_size, dots  # the bound ends at the ``..``
    try:
        lo = p._parse_term()
    except GlotParseError:
        lo = None
    finally:
        p._tokens_size = size
    p._advance(0)
    if lo is None or p._index != dots:
        del p.errors[errors:]
        p._retreat(start)
        return None
    p._advance(2)
    return lo


_ARM_ENDS = {TokenType.FARROW, TokenType.PIPE, TokenType.COMMA, TokenType.R_BRACE}


def _dots_ahead(p: Any) -> int | None:
    """The index of a ``..`` (two adjacent dots, outside parentheses) before the pattern
    ends, or None."""
    depth = 0
    toks = p._tokens
    for i in range(p._index, len(toks) - 1):
        tt = toks[i].token_type
        if tt in (TokenType.L_PAREN, TokenType.L_BRACKET):
            depth += 1
        elif tt in (TokenType.R_PAREN, TokenType.R_BRACKET):
            depth -= 1
            if depth < 0:
                return None
        elif depth == 0 and tt in _ARM_ENDS:
            return None
        elif depth == 0 and tt == TokenType.DOT and toks[i + 1].token_type == TokenType.DOT \
                and toks[i + 1].start == toks[i].end + 1:
            return i if i > p._index else None
    return None


def _number_start(p: Any) -> exp.Expression | None:
    """``[-]n..`` (the tokenizer reads ``4..10`` as ``4.`` ``.`` ``10``)."""
    i = p._index
    neg = p._curr is not None and p._curr.token_type == TokenType.DASH
    if neg:
        p._advance()
    tok = p._curr
    if tok is None or tok.token_type != TokenType.NUMBER:
        p._retreat(i)
        return None
    text = tok.text
    dots = 1 if text.endswith(".") else 2
    if not all(p._tokens[p._index + k].token_type == TokenType.DOT
               for k in range(1, dots + 1) if p._index + k < len(p._tokens)) or \
            p._index + dots >= len(p._tokens):
        p._retreat(i)
        return None
    p._advance(1 + dots)
    value: exp.Expression = exp.Literal.number(text.rstrip("."))
    return exp.Neg(this=value) if neg else value


def _bind(node: exp.Expression | None, name: str, subject: exp.Expression
          ) -> exp.Expression | None:
    """``node`` with the bound name (an unqualified column) read as the subject."""
    if node is None:
        return None

    def swap(n: exp.Expression) -> exp.Expression:
        if isinstance(n, exp.Column) and not n.table and n.name.lower() == name.lower():
            return exp.Paren(this=subject.copy())
        return n
    return node.transform(swap)


def _case(p: Any, arms: list[Arm]) -> exp.Expression:
    ifs: list[exp.If] = []
    default: exp.Expression | None = None
    for i, arm in enumerate(arms):
        cond: exp.Expression | None = None
        for c in arm.conds:
            cond = c if cond is None else exp.Or(this=cond, expression=c)
        if arm.guard is not None:
            guard = exp.Paren(this=arm.guard)
            cond = guard if cond is None else exp.And(this=exp.Paren(this=cond), expression=guard)
        if cond is None:
            if i != len(arms) - 1:
                p.raise_error("a MATCH arm after one that always matches is never reached")
            default = arm.result
            break
        ifs.append(exp.If(this=cond, true=arm.result))
    if not ifs:
        return default if default is not None else exp.Null()
    return exp.Case(ifs=ifs, default=default)
