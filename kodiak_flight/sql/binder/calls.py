"""Function calls in the AST: the name a call uses and its argument list, shared by scalar,
aggregate and window binding (the registry, ``functions.lookup``, resolves the name)."""

from __future__ import annotations

import re

from sqlglot import exp

from ..dialect import Grizzly


def func_args(node: exp.Expression) -> list[exp.Expression]:
    """The argument expressions of a function call, in sqlglot's argument order."""
    if isinstance(node, exp.Anonymous):
        return list(node.expressions)
    out: list[exp.Expression] = []
    for k in type(node).arg_types:
        v = node.args.get(k)
        if isinstance(v, list):
            out.extend(x for x in v if isinstance(x, exp.Expression))
        elif isinstance(v, exp.Expression):
            out.append(v)
    return out


def function_name(node: exp.Expression) -> str:
    """The lower-case name ``node`` calls (sqlglot's name for the functions it parses, which
    the registry knows as aliases)."""
    name = node.name if isinstance(node, exp.Anonymous) else node.sql_name()
    return name.lower()


_CALL = re.compile(r"^\s*([A-Za-z_][A-Za-z_0-9]*)\s*\(")


def typed_name(node: exp.Expression) -> str:
    """The name the user typed for the call ``node``, for messages: sqlglot normalises names
    into its own node classes (strftime is ``TimeToStr``, range ``GenerateSeries``); the
    dialect keeps the typed one in the node's meta. Failing that (functions sqlglot parses
    with a parser of their own), the name our dialect writes the node with."""
    if isinstance(node, exp.Anonymous):
        return node.name.lower()
    typed = node.meta_get(Grizzly.ORIGINAL_NAME_META_KEY)
    if typed:
        return str(typed).lower()
    try:
        m = _CALL.match(node.sql(dialect=Grizzly))
    except Exception:  # a node sqlglot cannot write back: its own name will do
        m = None
    return m.group(1).lower() if m else function_name(node)
