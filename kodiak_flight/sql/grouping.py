"""GROUP BY ROLLUP / CUBE / GROUPING SETS, rewritten into a UNION ALL of plain GROUP BYs.

Each grouping set becomes one SELECT grouped by that set, with the grouping expressions it
leaves out replaced by NULL outside aggregate calls and ``GROUPING(...)`` replaced by its bit
mask (bit set = column rolled up, leftmost argument highest, as in PostgreSQL and DuckDB).
The branches' ORDER BY / LIMIT move to the union. Every branch reads its input again: the
price of reusing the plain GROUP BY machinery for a feature analytics queries use rarely
on hot paths.
"""

from __future__ import annotations

import itertools

from sqlglot import exp

from .errors import BindError

_MAX_SETS = 4096


def has_grouping_sets(sel: exp.Select) -> bool:
    group = sel.args.get("group")
    return group is not None and any(isinstance(g, (exp.Rollup, exp.Cube, exp.GroupingSets))
                                     for g in group.expressions)


def rewrite(sel: exp.Select) -> exp.Expression:
    """The UNION ALL equivalent of ``sel`` (which ``has_grouping_sets``)."""
    group = sel.args["group"]
    per_item = [_sets_of(g) for g in group.expressions]
    sets: list[list[exp.Expression]] = []
    for combo in itertools.product(*per_item):
        sets.append([e for part in combo for e in part])
        if len(sets) > _MAX_SETS:
            raise BindError(f"more than {_MAX_SETS} grouping sets")
    every: dict[str, exp.Expression] = {}
    for s in sets:
        for e in s:
            every.setdefault(e.sql(), e)

    order, limit, offset = (sel.args.get(k) for k in ("order", "limit", "offset"))
    base = sel.copy()
    for k in ("order", "limit", "offset"):
        base.set(k, None)
    # name every item as it would be named ungrouped: a NULL must not rename the column
    base.set("expressions", [e if isinstance(e, exp.Alias) or not isinstance(e, exp.Column)
                             else exp.alias_(e, e.name) for e in base.expressions])

    branches = [_branch(base, s, every) for s in sets]
    out: exp.Expression = branches[0]
    for b in branches[1:]:
        out = exp.Union(this=out, expression=b, distinct=False)
    if order is None and limit is None and offset is None:
        return out
    query = exp.Select(expressions=[exp.Star()]).from_(out.subquery("__g"))
    for k, v in (("order", order), ("limit", limit), ("offset", offset)):
        if v is not None:
            query.set(k, v.copy())
    return query


def _sets_of(item: exp.Expression) -> list[list[exp.Expression]]:
    if isinstance(item, exp.Rollup):
        cols = list(item.expressions)
        return [cols[:n] for n in range(len(cols), -1, -1)]
    if isinstance(item, exp.Cube):
        cols = list(item.expressions)
        return [[c for c, keep in zip(cols, mask, strict=True) if keep]
                for mask in itertools.product((True, False), repeat=len(cols))]
    if isinstance(item, exp.GroupingSets):
        out = []
        for s in item.expressions:
            if isinstance(s, exp.Tuple):
                out.append(list(s.expressions))
            elif isinstance(s, exp.Paren):
                out.append([s.this])
            else:
                out.append([s])
        return out
    return [[item]]


def _branch(base: exp.Select, keep: list[exp.Expression],
            every: dict[str, exp.Expression]) -> exp.Select:
    kept = {e.sql() for e in keep}
    dropped = set(every) - kept
    sel = base.copy()

    def swap(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Grouping):
            args = node.expressions
            mask = 0
            for a in args:
                mask = (mask << 1) | (a.sql() in dropped)
            return exp.Literal.number(mask)
        if isinstance(node, exp.AggFunc):
            return node.copy()  # a new node: transform does not look inside it
        if node.sql() in dropped and not isinstance(node, exp.Alias):
            return exp.Null()
        return node

    for key in ("expressions", "having", "qualify"):
        v = sel.args.get(key)
        if isinstance(v, list):
            sel.set(key, [e.transform(swap) for e in v])
        elif v is not None:
            sel.set(key, v.transform(swap))
    if keep:
        sel.set("group", exp.Group(expressions=[e.copy() for e in keep]))
    else:
        sel.set("group", None)
        if not any(e.find(exp.AggFunc) for e in sel.expressions):
            # the empty set is one group even when nothing is aggregated
            sel.set("having", exp.Having(this=exp.true()) if sel.args.get("having") is None
                    else sel.args["having"])
    return sel
