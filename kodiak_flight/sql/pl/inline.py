"""Expression functions compiled into the calling query's expression tree.

A call ``f(x, 1)`` of a user function whose body is one expression binds the body once, over a
scope holding only its parameters (and ``self`` for a receiver), then substitutes each
parameter by the bound argument cast to the parameter's type, and casts the result to the
declared return type. What runs is therefore the same vectorised Arrow expression as if the
body had been written inline. Overloads are chosen by the argument types (the binder's
implicit casts: an exact type beats a widening, which beats a string literal read as another
type); a tie is an error naming the candidates. An expression function cannot call itself
(inlining would never end), and nesting of calls is limited to :data:`MAX_DEPTH`.
"""

from __future__ import annotations

import contextvars
import functools
import itertools
from typing import Any

import pyarrow as pa
from sqlglot import exp

from .. import functions as F
from ..errors import BindError, NotSupportedError, SqlError, SqlTypeError, suggest
from ..expr import Expr, Lit, cast, fold, is_const, substitute
from ..scope import ColInfo, Scope
from ..types import common_type, normalize, sql_name
from .functions import UserFunction, find_functions, find_methods, scalar_only, search_path

MAX_DEPTH = 32  # nested user-function calls inlined into one expression
_stack: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar(
    "pl_inline_stack", default=())
_ids = itertools.count(1)

EXACT, WIDEN, LITERAL = 0, 1, 4  # the cost of passing an argument to a parameter


def block_error(fn: UserFunction) -> NotSupportedError:
    return NotSupportedError(
        f"function {fn.name} has a block body; call it with CALL, or write it as a single "
        f"expression to use it in a query")


def bind_call(b: Any, node: exp.Anonymous, scope: Scope, agg: Any) -> Expr:
    """The call ``node`` of a user function (no built-in has its name)."""
    name = node.name.lower()
    cands: list[UserFunction] = []
    for schema in search_path(b.ctx.schema):
        cands = find_functions(b.ctx.snap, schema, name)
        if cands:
            break
    if not cands:
        raise _unknown(b, name)
    return _call(b, name, cands, node.expressions, scope, agg, None)


def bind_method(b: Any, node: exp.Dot, scope: Scope, agg: Any) -> Expr:
    """``value.f(args)``: a receiver function called on ``value``; ``schema.f(args)`` when
    ``value`` is not a column but names a schema holding ``f``."""
    call = node.expression
    name = call.name.lower() if isinstance(call, exp.Anonymous) else \
        call.sql_name().lower()
    target = _as_column(node.this)
    try:
        recv = b.expr(target, scope, agg)
    except BindError:
        if isinstance(node.this, exp.Identifier) and isinstance(call, exp.Anonymous):
            cands = find_functions(b.ctx.snap, node.this.name.lower(), name)
            if cands:
                return _call(b, name, cands, call.expressions, scope, agg, None)
        raise
    if not isinstance(call, exp.Anonymous):
        raise BindError(f"no function {name}() can be called on a value of type "
                        f"{sql_name(recv.type)}")
    cands = [f for s in search_path(b.ctx.schema) for f in find_methods(b.ctx.snap, s, name)]
    fitting = [f for f in cands if f.receiver_type is not None
               and _cost(recv, f.receiver_type) is not None]
    builtin = F.lookup(name)
    if not cands and builtin is not None and builtin.kind == F.SCALAR:
        # DuckDB's chaining: s.lower() is lower(s), the value the first argument
        args = [recv, *(b.expr(a, scope, agg) for a in call.expressions)]
        F.check_arity(builtin, len(args), name)
        return b.call_function(builtin, args, name)
    if not fitting:
        known = ", ".join(sorted({f"[{f.receiver}]" for f in cands}))
        raise BindError(f"no function {name}() for a receiver of type {sql_name(recv.type)}"
                        + (f" (there is {name}() for {known})" if known else ""))
    return _call(b, name, fitting, call.expressions, scope, agg, recv)


def _as_column(node: exp.Expression) -> exp.Expression:
    """``p`` / ``t.p`` / ``t.p.q`` (identifiers joined by dots) as a column reference."""
    parts: list[exp.Identifier] = []
    n = node
    while isinstance(n, exp.Dot) and isinstance(n.expression, exp.Identifier):
        parts.insert(0, n.expression)
        n = n.this
    if not isinstance(n, exp.Identifier):
        return node
    parts.insert(0, n)
    if len(parts) == 1:
        return exp.Column(this=parts[0])
    if len(parts) == 2:
        return exp.Column(this=parts[1], table=parts[0])
    return exp.Column(this=parts[-1], table=parts[-2], db=parts[-3]) if len(parts) == 3 \
        else exp.Column(this=parts[-1], table=parts[-2], db=parts[-3], catalog=parts[-4])


def _unknown(b: Any, name: str) -> BindError:
    builtin = [f.name for f in F.functions() if f.kind in (F.SCALAR, F.AGGREGATE)]
    mine = [f.name for s in search_path(b.ctx.schema)
            for f in _all_plain(b.ctx.snap, s)]
    return BindError(f"unknown function {name}()" + suggest(name, builtin + mine))


def _all_plain(snap: Any, schema: str) -> list[UserFunction]:
    from .functions import all_functions
    return [f for f in all_functions(snap, schema) if f.receiver is None]


# ---------------------------------------------------------------- overloads


def _split_args(name: str, items: list[exp.Expression]
                ) -> tuple[list[exp.Expression], dict[str, exp.Expression]]:
    positional: list[exp.Expression] = []
    named: dict[str, exp.Expression] = {}
    for a in items:
        if isinstance(a, (exp.Kwarg, exp.PropertyEQ)):
            key = a.this.name.lower()
            if key in named:
                raise BindError(f"argument {key!r} of {name}() is given twice")
            named[key] = a.expression
        else:
            if named:
                raise BindError(f"in {name}(), a positional argument follows a named one")
            positional.append(a)
    return positional, named


def _call(b: Any, name: str, cands: list[UserFunction], items: list[exp.Expression],
          scope: Scope, agg: Any, recv: Expr | None) -> Expr:
    cands = scalar_only(name, cands)
    positional, named = _split_args(name, items)
    pos = [b.expr(a, scope, agg) for a in positional]
    kw = {k: b.expr(v, scope, agg) for k, v in named.items()}
    best: list[tuple[int, UserFunction, list[Expr | None]]] = []
    for fn in cands:
        fit = _fit(fn, pos, kw)
        if fit is None:
            continue
        cost = fit[0] + (_cost(recv, fn.receiver_type) or 0 if recv is not None and
                         fn.receiver_type is not None else 0)
        best.append((cost, fn, fit[1]))
    if not best:
        shown = ", ".join([sql_name(a.type) for a in pos] +
                          [f"{k} => {sql_name(v.type)}" for k, v in kw.items()])
        sigs = "; ".join(f"{f.name}({f.parameters()})" for f in cands)
        raise BindError(f"no overload of {name}() takes ({shown}); it is defined as {sigs}")
    best.sort(key=lambda t: t[0])
    tied = [t for t in best if t[0] == best[0][0]]
    if len(tied) > 1:
        sigs = ", ".join(t[1].signature() for t in tied)
        raise BindError(f"call of {name}() is ambiguous: it fits {sigs} equally well; "
                        f"cast the arguments to choose one")
    _, fn, args = best[0]
    b.ctx.rights.require("execute", "function", f"{fn.schema}.{fn.name}")
    return inline(b, fn, args, recv)


def _fit(fn: UserFunction, pos: list[Expr], kw: dict[str, Expr]
         ) -> tuple[int, list[Expr | None]] | None:
    """(cost, argument per parameter, None where its default applies), or None if the call
    does not fit ``fn``."""
    if len(pos) > len(fn.params):
        return None
    slots: list[Expr | None] = list(pos) + [None] * (len(fn.params) - len(pos))
    names = [p.name.lower() for p in fn.params]
    for k, v in kw.items():
        if k not in names or slots[names.index(k)] is not None:
            return None
        slots[names.index(k)] = v
    total = 0
    for p, a in zip(fn.params, slots, strict=True):
        if a is None:
            if p.default is None:
                return None
            continue
        c = _cost(a, p.type)
        if c is None:
            return None
        total += c
    return total, slots


def _cost(a: Expr, to: pa.DataType) -> int | None:
    """What passing ``a`` where ``to`` is declared costs under the implicit casts; None if
    it cannot be passed without an explicit cast."""
    have, want = normalize(a.type), normalize(to)
    if have == want:
        return EXACT
    if pa.types.is_null(have):
        return WIDEN
    try:
        if common_type(have, want) == want:
            return WIDEN if _family(have) == _family(want) else WIDEN + 1
    except SqlTypeError:
        pass
    if is_const(a) and isinstance(a.value, int) and pa.types.is_integer(want):
        try:
            pa.scalar(a.value, want)
            return WIDEN + 2
        except (pa.ArrowInvalid, OverflowError):
            return None
    if is_const(a) and pa.types.is_string(have):
        return LITERAL
    return None


def _family(t: pa.DataType) -> str:
    """Integers, floats, decimals, strings...: widening inside a family is cheaper than
    across (an INTEGER argument prefers BIGINT to DOUBLE)."""
    for name, test in (("int", pa.types.is_integer), ("float", pa.types.is_floating),
                       ("decimal", pa.types.is_decimal), ("string", pa.types.is_string),
                       ("temporal", pa.types.is_temporal)):
        if test(t):
            return name
    return str(t)


# ---------------------------------------------------------------- inlining


@functools.lru_cache(maxsize=256)
def _parse_body(text: str) -> exp.Expression:
    from ..dialect import parse
    stmt = parse("SELECT " + text)[0]
    if not isinstance(stmt, exp.Select) or len(stmt.expressions) != 1 or \
            any(stmt.args.get(k) for k in ("from_", "where", "group", "having", "order",
                                             "limit")):
        raise BindError("a function's body must be one expression (or BEGIN ... END)")
    body = stmt.expressions[0]
    if isinstance(body, exp.Alias):
        raise BindError("a function's body must be one expression, without an alias")
    if any(True for _ in body.find_all(exp.Select, exp.Subquery, exp.Exists)):
        raise NotSupportedError("an expression function cannot contain a subquery")
    if any(True for _ in body.find_all(exp.Placeholder, exp.Parameter)):
        raise BindError("an expression function cannot contain a parameter")
    return body


def parse_body(text: str) -> exp.Expression:
    """The body of an expression function as a fresh sqlglot expression."""
    return _parse_body(text).copy()


def body_scope(fn: UserFunction) -> tuple[Scope, list[str], str | None]:
    """A scope holding only ``fn``'s parameters (and ``self``), with their column ids."""
    cols = [ColInfo(p.name, f"fparam{next(_ids)}", normalize(p.type)) for p in fn.params]
    self_id = None
    if fn.receiver_type is not None:
        self_id = f"fparam{next(_ids)}"
        cols.append(ColInfo("self", self_id, normalize(fn.receiver_type)))
    return Scope(cols), [c.id for c in cols[:len(fn.params)]], self_id


def bind_body(b: Any, fn: UserFunction) -> tuple[Expr, list[str], str | None]:
    """``fn``'s body bound over its parameters (ids returned), its result cast to RETURNS;
    errors name the function."""
    if fn.block:
        raise block_error(fn)
    stack = _stack.get()
    key = f"{fn.schema}.{fn.signature()}"
    if key in stack:
        chain = " -> ".join([s.split(".", 1)[1] for s in stack] + [fn.signature()])
        raise NotSupportedError(
            f"function {fn.name} calls itself ({chain}); an expression function is compiled "
            f"into the query, so it cannot be recursive: write it with a BEGIN ... END body "
            f"and CALL it")
    if len(stack) >= MAX_DEPTH:
        raise NotSupportedError(f"user functions nest deeper than {MAX_DEPTH} calls "
                                f"(at {fn.signature()})")
    scope, ids, self_id = body_scope(fn)
    token = _stack.set(stack + (key,))
    try:
        body = b.expr(parse_body(fn.body), scope, None)
        out = cast(body, normalize(fn.return_type))
    except SqlError as e:
        raise _in_function(fn, e) from None
    finally:
        _stack.reset(token)
    return out, ids, self_id


def inline(b: Any, fn: UserFunction, args: list[Expr | None], recv: Expr | None) -> Expr:
    """``fn`` applied to ``args`` (None: the parameter's default) as one expression."""
    body, ids, self_id = bind_body(b, fn)
    mapping: dict[str, Expr] = {}
    for pid, p, a in zip(ids, fn.params, args, strict=True):
        if a is None:
            a = _default(b, fn, p.default or "NULL")
        try:
            mapping[pid] = cast(a, normalize(p.type))
        except SqlError as e:
            raise _in_function(fn, e) from None
    if self_id is not None and recv is not None:
        mapping[self_id] = cast(recv, normalize(fn.receiver_type or recv.type))
    out = substitute(body, mapping)
    return fold(out) if all(isinstance(v, Lit) for v in mapping.values()) else out


def _default(b: Any, fn: UserFunction, text: str) -> Expr:
    try:
        return b.expr(parse_body(text), Scope([]), None)
    except SqlError as e:
        raise _in_function(fn, e) from None


def _in_function(fn: UserFunction, e: SqlError) -> SqlError:
    msg = f"in function {fn.signature()}: {e}"
    if str(e).startswith("in function "):
        msg = str(e)
    try:
        return type(e)(msg)
    except TypeError:
        return BindError(msg)
