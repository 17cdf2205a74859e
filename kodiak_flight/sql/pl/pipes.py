"""Value pipes: ``expr |> f(y)`` means ``f(expr, y)``, chainable (``x |> f() |> g(1)``).

The dialect calls :func:`value_pipes` after each operand at the level of ``||`` and the
bitwise operators, so ``a + b |> f()`` is ``f(a + b)`` and ``x |> f() + 1`` is ``f(x) + 1``.
A ``|>`` is a value pipe only when a function call follows it (a name and ``(``) whose name
is not a query pipe operator: ``FROM t |> WHERE x > 1 |> SELECT ...`` keeps its meaning.

The piped value is spliced into the call's argument list as a placeholder token before the
call is parsed, so the call is parsed, checked and built exactly as if written ``f(expr, y)``
(built-in functions sqlglot parses into their own nodes included); the placeholder is then
replaced by the piped expression.
"""

from __future__ import annotations

import itertools
from typing import Any

from sqlglot import exp
from sqlglot.tokens import Token, TokenType

# words after |> that begin a query pipe operator, never a value pipe
QUERY_OPERATORS = frozenset({
    "SELECT", "EXTEND", "SET", "DROP", "RENAME", "AS", "WHERE", "AGGREGATE", "ORDER",
    "LIMIT", "JOIN", "UNION", "INTERSECT", "EXCEPT", "PIVOT", "UNPIVOT", "TABLESAMPLE",
    "CALL", "LEFT", "RIGHT", "INNER", "FULL", "CROSS", "WITH", "DISTINCT"})

_placeholders = itertools.count(1)


def is_value_pipe(p: Any) -> bool:
    """At ``|> name(``, with ``name`` not a query pipe operator."""
    if p._curr is None or p._curr.token_type != TokenType.PIPE_GT:
        return False
    i = p._index
    toks = p._tokens
    if i + 2 >= len(toks) or toks[i + 2].token_type != TokenType.L_PAREN:
        return False
    name = toks[i + 1]
    if name.text.upper() in QUERY_OPERATORS or \
            name.text.upper() in p.PIPE_SYNTAX_TRANSFORM_PARSERS:
        return False
    return name.token_type == TokenType.VAR or name.token_type in p.FUNC_TOKENS


def value_pipes(p: Any, this: exp.Expression | None, operand: Any) -> exp.Expression | None:
    """``this`` followed by any number of ``|> f(...)``; ``operand`` parses what follows
    a pipe (the dialect's bitwise level, so chains nest)."""
    while this is not None and is_value_pipe(p):
        p._advance()  # past |>
        marker = f"|>{next(_placeholders)}"
        _splice(p, marker)
        rhs = operand()
        this = _substitute(rhs, marker, this)
    return this


def _splice(p: Any, marker: str) -> None:
    """Put the placeholder (and a comma when more arguments follow) after the ``(``."""
    i = p._index + 2  # name, (, then here
    paren = p._tokens[i - 1]
    new = [Token(TokenType.VAR, marker, paren.line, paren.col, paren.start, paren.end)]
    if i < len(p._tokens) and p._tokens[i].token_type != TokenType.R_PAREN:
        new.append(Token(TokenType.COMMA, ",", paren.line, paren.col, paren.start, paren.end))
    p._tokens[i:i] = new
    p._tokens_size = len(p._tokens)
    p._advance(0)


def _substitute(rhs: exp.Expression | None, marker: str, value: exp.Expression
                ) -> exp.Expression | None:
    if rhs is None:
        return None
    found = []

    def swap(n: exp.Expression) -> exp.Expression:
        if isinstance(n, exp.Column) and n.name == marker and not n.table:
            found.append(n)
            return value.copy() if not isinstance(value, exp.Binary) else exp.Paren(
                this=value.copy())
        return n
    out = rhs.transform(swap)
    for node in out.walk():  # the call's text as typed no longer names what it computes
        if isinstance(node, exp.Func):
            node.meta.pop("call", None)
    return out
