"""User table functions (``RETURNS TABLE``): their check at CREATE, and their expansion where
they are called, in FROM (``FROM top_n(orders, 5)``) or by ``|> CALL top_n(5)`` (which the
dialect writes as ``FROM top_n(<the pipe so far>, 5)``).

A call is expanded like a DuckDB table macro, on the AST, never on SQL text: in a copy of the
body, each table reference naming a TABLE parameter becomes the argument relation (a table
name or a parenthesised query, aliased by the parameter's name so ``t.col`` still reads it),
and each unqualified column reference naming a scalar parameter becomes the caller's argument
expression (parameters win over columns of the same name). The result is bound as a derived
table named by the function (or the caller's alias).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Any, TypeVar

from sqlglot import exp

from ..dialect import parse
from ..errors import BindError, NotSupportedError, ParseError, suggest
from .functions import TABLE, UserFunction, all_functions, builtin_type, find_functions, search_path
from .inline import parse_body

_stack: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar(
    "pl_table_function_stack", default=())
T = TypeVar("T")
PIPE_CTE = "__tmp"  # how sqlglot names the CTEs of query pipe syntax


def check_create(fn: UserFunction) -> None:
    """A table function's body is one parenthesised query that does not call the function
    itself; TABLE parameters belong to table functions and take no default. The body binds
    only at a call, once its TABLE arguments are known."""
    if not fn.is_table:
        raise BindError(f"function {fn.name}: a TABLE parameter needs RETURNS TABLE")
    for p in fn.params:
        if p.type_name == TABLE and p.default is not None:
            raise BindError(f"function {fn.name}: TABLE parameter {p.name} cannot have "
                            f"a DEFAULT")
    if fn.block:
        raise NotSupportedError(f"function {fn.name}: a RETURNS TABLE function's body is "
                                f"one query in parentheses, not a BEGIN ... END block")
    body = _body(fn)
    if any(isinstance(t.this, exp.Anonymous) and t.this.name.lower() == fn.name
           for t in body.find_all(exp.Table)):
        raise NotSupportedError(f"table function {fn.name} calls itself; recursion is not "
                                f"supported (use WITH RECURSIVE in its body)")


def _body(fn: UserFunction) -> exp.Query:
    try:
        stmts = parse(fn.body)
    except ParseError as e:
        raise BindError(f"function {fn.name}: its body is not a query ({e})") from None
    body = stmts[0] if len(stmts) == 1 else None
    if not isinstance(body, exp.Subquery) or not isinstance(body.this, exp.Query):
        raise BindError(f"function {fn.name}: a RETURNS TABLE body is one query in "
                        f"parentheses, as in AS (SELECT * FROM t)")
    return body.this


def bind_call(b: Any, item: exp.Table, alias: str | None,
              bind: Callable[[exp.Expression], T]) -> T:
    """Bind the FROM item ``item`` (a call of a user table function) with ``bind``, given
    the expanded derived table; refuses unknown names and scalar functions by name."""
    call = item.this
    name = call.name.lower()
    schemas = [item.text("db").lower()] if item.text("db") else search_path(b.ctx.schema)
    cands: list[UserFunction] = []
    for s in schemas:
        cands = find_functions(b.ctx.snap, s, name)
        if cands:
            break
    if not cands:
        known = [f.name for s in schemas for f in all_functions(b.ctx.snap, s) if f.is_table]
        raise NotSupportedError(f"table function {name}() is not supported: no built-in or "
                                f"user table function has that name" + suggest(name, known))
    tables = [f for f in cands if f.is_table]
    if not tables:
        raise BindError(f"{name} is not a table function (it returns {cands[0].returns}); "
                        f"call it in an expression")
    fn, args = _choose(name, tables, list(call.expressions))
    b.ctx.rights.require("execute", "function", f"{fn.schema}.{fn.name}")
    if fn.object_name in _stack.get():
        raise NotSupportedError(f"table function {name} calls itself; recursion is not "
                                f"supported")
    token = _stack.set((*_stack.get(), fn.object_name))
    try:
        return bind(expand(fn, args, alias or name, item.args.get("alias")))
    except BindError as e:  # the body is bound here, at the call: say whose body it is
        if str(e).startswith("in table function "):
            raise
        raise BindError(f"in table function {name}(): {e}") from None
    finally:
        _stack.reset(token)


def _choose(name: str, cands: list[UserFunction], items: list[exp.Expression]
            ) -> tuple[UserFunction, list[exp.Expression | None]]:
    """The overload fitting the call's arguments (by count and names), and the argument per
    parameter (None where its default applies)."""
    pos = [a for a in items if not isinstance(a, (exp.Kwarg, exp.PropertyEQ))]
    named = {a.this.name.lower(): a.expression for a in items
             if isinstance(a, (exp.Kwarg, exp.PropertyEQ))}
    if len(pos) + len(named) != len(items):
        raise BindError(f"in {name}(), a positional argument follows a named one")
    fits = []
    for fn in cands:
        names = [p.name.lower() for p in fn.params]
        if len(pos) > len(names) or any(k not in names[len(pos):] for k in named):
            continue
        slots: list[exp.Expression | None] = [*pos, *[named.get(n) for n in names[len(pos):]]]
        if all(s is not None or p.default is not None for s, p in zip(slots, fn.params,
                                                                       strict=True)):
            fits.append((fn, slots))
    if len(fits) == 1:
        return fits[0]
    sigs = "; ".join(f"{f.name}({f.parameters()})" for f in cands)
    if not fits:
        raise BindError(f"{name}() does not take {len(items)} argument"
                        f"{'' if len(items) == 1 else 's'} like that; it is defined as {sigs}")
    raise BindError(f"call of {name}() is ambiguous: it fits {sigs}")


def expand(fn: UserFunction, args: list[exp.Expression | None], alias: str,
           caller_alias: exp.TableAlias | None) -> exp.Subquery:
    """The body with its parameters replaced by ``args``, as a derived table."""
    tables: dict[str, exp.Expression] = {}
    values: dict[str, exp.Expression] = {}
    for p, a in zip(fn.params, args, strict=True):
        if p.type_name == TABLE:
            tables[p.name.lower()] = _relation(fn, p.name, a)
        else:
            values[p.name.lower()] = _value(fn, p, a)

    def swap(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Table) and isinstance(node.this, exp.Identifier) and \
                not node.text("db") and node.name.lower() in tables:
            qual = node.alias or node.name
            rel = tables[node.name.lower()].copy()
            rel.set("alias", exp.TableAlias(this=exp.to_identifier(qual)))
            return rel
        if isinstance(node, exp.Column) and not node.table and \
                node.name.lower() in values:
            return values[node.name.lower()].copy()
        return node

    body = _body(fn).transform(swap, copy=False)
    out = exp.Subquery(this=body)
    out.set("alias", caller_alias.copy() if caller_alias is not None
            else exp.TableAlias(this=exp.to_identifier(alias)))
    return out


def _relation(fn: UserFunction, param: str, arg: exp.Expression | None) -> exp.Expression:
    """A TABLE argument as a FROM item: a (schema-qualified) name or a subquery."""
    if isinstance(arg, exp.Subquery) and isinstance(arg.this, exp.Query):
        return exp.Subquery(this=arg.this.copy())
    if isinstance(arg, exp.Column) and not arg.args.get("catalog"):
        return exp.Table(this=arg.this.copy(), db=arg.args["table"].copy()
                         if arg.args.get("table") else None)
    shown = arg.sql(dialect="duckdb") if arg is not None else "nothing"
    raise BindError(f"{fn.name}(): parameter {param} is a TABLE; pass a table, view or CTE "
                    f"name or a parenthesised query, not {shown}")


def _value(fn: UserFunction, p: Any, arg: exp.Expression | None) -> exp.Expression:
    """A scalar argument (or the parameter's default), cast to the parameter's type."""
    if arg is None:
        arg = parse_body(p.default)
    elif isinstance(arg, exp.Column) and arg.name.startswith(PIPE_CTE):
        raise BindError(f"|> CALL passes the pipe's rows as the first argument of "
                        f"{fn.name}(), but its parameter {p.name} is {p.type_name}, not TABLE")
    elif isinstance(arg, exp.Column):
        raise BindError(f"{fn.name}(): parameter {p.name} takes a {p.type_name} value, not "
                        f"the name {arg.sql(dialect='duckdb')} (a table goes to a TABLE "
                        f"parameter)")
    if builtin_type(p.type_name) is None:
        return arg
    return exp.Cast(this=arg, to=exp.DataType.build(p.type_name, dialect="duckdb"))
