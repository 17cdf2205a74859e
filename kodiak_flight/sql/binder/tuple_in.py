"""``(a, b) IN (SELECT x, y ...)``: a row of values against a subquery's rows, rewritten
into EXISTS subqueries before binding (the IN paths compare one value).

SQL's three values hold: the test is TRUE where some row equals the left side in every
column, else NULL where some row could (every comparison TRUE or NULL), else FALSE. As a
WHERE conjunct, where NULL and FALSE both drop the row, the first EXISTS alone is the test.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from ..errors import BindError
from .aggregates import is_aggregate

Qualify = Callable[[exp.Column], exp.Column | None]


def is_tuple_in(node: exp.Expression) -> bool:
    return isinstance(node, exp.In) and isinstance(node.this, exp.Tuple) and \
        node.args.get("query") is not None


def rewrite(node: exp.In, where: bool, qualify: Qualify) -> exp.Expression:
    """``node`` (``is_tuple_in``) as EXISTS tests; ``where``: as a WHERE conjunct.
    ``qualify`` gives a left-side column its table's name, or None."""
    left = list(node.this.expressions)
    q = node.args["query"]
    inner = q.this if isinstance(q, exp.Subquery) else q
    width = _width(inner)
    if width is not None and width != len(left):
        raise BindError(f"subquery in IN returns {width} columns; the left side has "
                        f"{len(left)}")
    plain = _plain(inner)
    outside = _outside(left, plain, qualify) if plain is not None else None
    if plain is not None and outside is not None:
        # its FROM and WHERE kept (a correlated subquery stays one level deep), the left
        # side's columns named by their tables, which the subquery's FROM does not name
        left = outside
        cols = [e.this if isinstance(e, exp.Alias) else e for e in plain.expressions]
    else:
        names = [f"__tin{i}" for i in range(len(left))]
        cols = [exp.column(n, "__tin") for n in names]
    equal = [exp.EQ(this=c.copy(), expression=a.copy()) for c, a in zip(cols, left, strict=True)]

    def exists(tests: list[exp.Expression]) -> exp.Exists:
        if plain is not None and outside is not None:
            sel = plain.copy()
            sel.set("expressions", [exp.Literal.number(1)])
            where = sel.args.get("where")
            both = [where.this.copy()] + tests if where is not None else tests
            sel.set("where", exp.Where(this=exp.and_(*both)))
            return exp.Exists(this=sel)
        alias = exp.TableAlias(this=exp.to_identifier("__tin"),
                               columns=[exp.to_identifier(n) for n in names])
        rows = exp.Subquery(this=inner.copy(), alias=alias)
        return exp.Exists(this=exp.select("1").from_(rows).where(exp.and_(*tests)))

    match = exists(equal)
    if where:
        return match
    maybe = exists([exp.func("coalesce", e, exp.true()) for e in equal])
    return exp.Case(ifs=[exp.If(this=match, true=exp.true()),
                         exp.If(this=maybe, true=exp.Null())], default=exp.false())


def _outside(left: list[exp.Expression], inner: exp.Select, qualify: Qualify
             ) -> list[exp.Expression] | None:
    """``left`` with every column qualified by its table, where none of those tables'
    names is one the subquery names (its columns could not capture them); else None."""
    named = {t.alias_or_name.lower() for t in inner.find_all(exp.Table, exp.Subquery)}
    found: list[exp.Column | None] = []

    def qualified(n: exp.Expression) -> exp.Expression:
        if not isinstance(n, exp.Column):
            return n
        q = qualify(n)
        found.append(q if q is not None and q.table.lower() not in named else None)
        return q or n

    out = [e.transform(qualified) for e in left]
    return None if any(q is None for q in found) else out


def _plain(inner: exp.Expression) -> exp.Select | None:
    """``inner`` where it is one SELECT whose rows are its FROM's rows filtered (no
    grouping, aggregate, window, DISTINCT, LIMIT or WITH): its items can be tested in its
    own WHERE."""
    if not isinstance(inner, exp.Select) or inner.args.get("from_") is None:
        return None
    if any(inner.args.get(k) for k in ("group", "having", "distinct", "limit", "offset",
                                        "qualify", "with_", "order")):
        return None
    for e in inner.expressions:
        if any(is_aggregate(n) or isinstance(n, (exp.Window, exp.Star)) for n in e.walk()):
            return None
    return inner


def _width(inner: exp.Expression) -> int | None:
    """The subquery's column count where its text tells (no ``*``)."""
    while isinstance(inner, exp.Subquery):
        inner = inner.this
    if isinstance(inner, exp.SetOperation):
        return _width(inner.this)
    if isinstance(inner, exp.Select) and not any(isinstance(e, exp.Star) or
                                                  (isinstance(e, exp.Column) and
                                                   isinstance(e.this, exp.Star))
                                                  for e in inner.expressions):
        return len(inner.expressions)
    return None
