"""``FETCH FIRST n ROWS WITH TIES`` and ``LIMIT p%``: the two LIMIT forms that are not a
plain row count.

WITH TIES keeps every row whose ORDER BY keys equal those of the n-th row: exactly the rows
whose ``rank() OVER (ORDER BY keys)`` is at most n, which is how the block is rewritten
(a QUALIFY, before the projection). A percentage is a :class:`plan.PercentLimit`.
"""

from __future__ import annotations

from sqlglot import exp

from ..errors import BindError, NotSupportedError


def as_rank_filter(sel: exp.Select) -> exp.Select:
    """``sel`` with ``FETCH FIRST n ROWS WITH TIES`` as ``QUALIFY rank() OVER (ORDER BY
    ...) <= n``."""
    lim = sel.args["limit"]
    words = lim.sql(dialect="postgres")
    order = sel.args.get("order")
    if order is None:
        raise BindError(f"{words} needs an ORDER BY")
    if sel.args.get("offset") is not None or sel.args.get("distinct") is not None:
        raise NotSupportedError(f"{words} with OFFSET or DISTINCT is not supported")
    count = lim.args.get("count") if isinstance(lim, exp.Fetch) else lim.expression
    count = count if count is not None else exp.Literal.number(1)
    if not isinstance(count, exp.Literal) or count.is_string or not count.is_int:
        raise BindError(f"{words}: the row count must be a constant integer")
    sel = sel.copy()
    items = list(sel.expressions)
    aliases = {e.alias.lower(): e.this for e in items if isinstance(e, exp.Alias)}

    def resolve(x: exp.Expression) -> exp.Expression:
        if isinstance(x, exp.Literal) and x.is_int and 1 <= int(x.name) <= len(items):
            x = items[int(x.name) - 1]
            return (x.this if isinstance(x, exp.Alias) else x).copy()
        if isinstance(x, exp.Column) and not x.table and x.name.lower() in aliases:
            return aliases[x.name.lower()].copy()
        return x.copy()

    ordered = [exp.Ordered(this=resolve(o.this), desc=o.args.get("desc"),
                           nulls_first=o.args.get("nulls_first")) for o in order.expressions]
    rank = exp.Window(this=exp.Rank(), order=exp.Order(expressions=ordered))
    keep: exp.Expression = exp.LTE(this=rank, expression=count.copy())
    if sel.args.get("qualify") is not None:
        keep = exp.And(this=sel.args["qualify"].this, expression=keep)
    sel.set("qualify", exp.Qualify(this=keep))
    sel.set("limit", None)
    return sel


def percent(lim: exp.Expression) -> float:
    """The percentage of ``LIMIT p%`` / ``LIMIT p PERCENT`` (a constant, at least 0)."""
    e = lim.args.get("count") if isinstance(lim, exp.Fetch) else lim.expression
    if not isinstance(e, exp.Literal) or e.is_string:
        raise BindError(f"{lim.sql(dialect='duckdb')}: the percentage must be a constant number")
    return float(e.name)
