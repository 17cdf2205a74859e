"""Function calls in the AST: the name a call uses and its argument list, shared by scalar,
aggregate and window binding (the registry, ``functions.lookup``, resolves the name)."""

from __future__ import annotations

from sqlglot import exp


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
