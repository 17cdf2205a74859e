"""Quantified comparisons, ``x op ANY (subquery)`` and ``x op ALL (subquery)``, rewritten
into what the binder already runs: ``= ANY`` is IN and ``<> ALL`` is NOT IN; every other
operator compares ``x`` with the subquery's MIN or MAX, with SQL's three-valued answer for an
empty subquery, a NULL ``x`` and NULLs among the values. Correlated subqueries go through the
same decorrelation as any other (``correlated.py``)."""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from ..errors import NotSupportedError

COMPARISONS = (exp.EQ, exp.NEQ, exp.LT, exp.LTE, exp.GT, exp.GTE)

# x op ANY (q) is true when some value makes it true: against which of MIN/MAX to compare
SOME_TRUE = {exp.GT: ("min", exp.GT), exp.GTE: ("min", exp.GTE), exp.LT: ("max", exp.LT),
             exp.LTE: ("max", exp.LTE)}
# x op ALL (q) is false when some value makes it false: that comparison, against MIN/MAX
SOME_FALSE = {exp.GT: ("max", exp.LTE), exp.GTE: ("max", exp.LT), exp.LT: ("min", exp.GTE),
              exp.LTE: ("min", exp.GT)}


def is_quantified(node: exp.Expression) -> bool:
    return isinstance(node, COMPARISONS) and isinstance(node.expression, (exp.Any, exp.All))


def rewrite(node: exp.Expression) -> exp.Expression:
    """The plain SQL ``node`` (a comparison with ANY or ALL) means."""
    x, quant = node.this, node.expression
    query = quant.this.this if isinstance(quant.this, exp.Subquery) else quant.this
    if not isinstance(query, exp.Query):
        words = "ANY" if isinstance(quant, exp.Any) else "ALL"
        raise NotSupportedError(f"{words} needs a subquery: write IN (...) for a list")
    if isinstance(quant, exp.Any) and isinstance(node, exp.EQ):
        return exp.In(this=x.copy(), query=exp.Subquery(this=query.copy()))
    if isinstance(quant, exp.All) and isinstance(node, exp.NEQ):
        return exp.Not(this=exp.In(this=x.copy(), query=exp.Subquery(this=query.copy())))
    if isinstance(quant, exp.Any):
        decided = some_value(x, query, type(node), SOME_TRUE)
        return answer(x, query, empty=False, decided=decided, when_decided=True)
    decided = some_value(x, query, type(node), SOME_FALSE)
    return answer(x, query, empty=True, decided=decided, when_decided=False)


def some_value(x: exp.Expression, query: exp.Query, op: type,
               table: dict[type, tuple[str, type]]) -> exp.Expression:
    """Whether some non-NULL value of ``query`` decides the answer (`=`/`<>`: one that is
    not ``x``, i.e. ``x`` differs from the MIN or the MAX)."""
    if op in (exp.EQ, exp.NEQ):  # = ALL is false, <> ANY true, when some value is not x
        return exp.or_(exp.NEQ(this=x.copy(), expression=aggregate("min", query)),
                       exp.NEQ(this=x.copy(), expression=aggregate("max", query)))
    fn, cmp = table[op]
    return cmp(this=x.copy(), expression=aggregate(fn, query))


def answer(x: exp.Expression, query: exp.Query, *, empty: bool, decided: exp.Expression,
           when_decided: bool) -> exp.Expression:
    """CASE: no rows -> ``empty``; ``decided`` -> ``when_decided``; a NULL ``x`` or a NULL
    value -> NULL; otherwise the opposite of ``when_decided``."""
    has_rows = exp.Exists(this=query.copy())
    has_null = exp.Exists(this=with_value(query, lambda v: exp.Literal.number(1),
                                          extra=lambda v: exp.Is(this=v, expression=exp.Null())))
    return exp.Case(ifs=[
        exp.If(this=exp.not_(has_rows), true=exp.Boolean(this=empty)),
        exp.If(this=exp.Is(this=x.copy(), expression=exp.Null()), true=exp.Null()),
        exp.If(this=decided, true=exp.Boolean(this=when_decided)),
        exp.If(this=has_null, true=exp.Null()),
    ], default=exp.Boolean(this=not when_decided))


def aggregate(fn: str, query: exp.Query) -> exp.Expression:
    """``(SELECT fn(v) ...)`` over the values of ``query``."""
    agg = exp.Min if fn == "min" else exp.Max
    return exp.Subquery(this=with_value(query, lambda v: agg(this=v)))


def with_value(query: exp.Query, select: Callable[[exp.Expression], exp.Expression],
               extra: Callable[[exp.Expression], exp.Expression] | None = None) -> exp.Query:
    """``query`` selecting ``select(v)`` of its value ``v`` instead (and filtered by
    ``extra(v)``). A plain SELECT is changed in place, so that a correlated one stays
    correlated as written; any other (grouped, limited, a set operation) is read as a
    derived table ``(query) AS __q(__v)``."""
    if plain(query) and not query.selects[0].find(exp.Star):  # (SELECT * reads as a table)
        q = query.copy()
        v = q.selects[0].unalias() if isinstance(q.selects[0], exp.Alias) else q.selects[0]
        q.set("expressions", [select(v.copy())])
        q.set("distinct", None)
        return q.where(extra(v.copy())) if extra is not None else q
    v = exp.column("__v", table="__q")
    q = exp.select(select(v)).from_(derived(query))
    return q.where(extra(v.copy())) if extra is not None else q


def plain(query: exp.Query) -> bool:
    """A single SELECT whose value is per row: no grouping, aggregate, window or limit."""
    if not isinstance(query, exp.Select) or len(query.selects) != 1:
        return False
    if any(query.args.get(k) for k in ("group", "having", "limit", "offset", "qualify",
                                       "windows", "order")):
        return False
    value = query.selects[0]
    return not value.find(exp.AggFunc, exp.Window)


def derived(query: exp.Query) -> exp.Expression:
    """``(query) AS __q(__v)``: its single column named ``__v``."""
    if len(query.selects) != 1:
        raise NotSupportedError("a subquery compared with ANY or ALL must return one column")
    alias = exp.TableAlias(this=exp.to_identifier("__q"), columns=[exp.to_identifier("__v")])
    alias.meta["exact_columns"] = "a subquery compared with ANY or ALL must return one column"
    return exp.Subquery(this=query.copy(), alias=alias)
