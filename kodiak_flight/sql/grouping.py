"""GROUP BY ROLLUP / CUBE / GROUPING SETS, rewritten into a UNION ALL of plain GROUP BYs.

Each grouping set becomes one SELECT grouped by that set, with the grouping expressions it
leaves out replaced by NULL outside aggregate calls and ``GROUPING(...)`` replaced by its bit
mask (bit set = column rolled up, leftmost argument highest, as in PostgreSQL and DuckDB).
The branches' ORDER BY / LIMIT move to the union.

When every aggregate can be rebuilt from partial results (``sum``, ``count``, ``min``,
``max``, ``avg``, ``bool_and``/``bool_or``, none DISTINCT or FILTERed), the input is read
once: a CTE groups it by every grouping expression at once, keeping partials, and each
branch re-aggregates that (much smaller) CTE, which the binder computes once because the
branches share it (``reaggregated``). Otherwise every branch reads the input again
(``rewrite``); the binder falls back to that too if the first form does not bind.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

from sqlglot import exp

from .binder.aggregates import is_aggregate
from .errors import BindError

_MAX_SETS = 4096


def has_grouping_sets(sel: exp.Select) -> bool:
    group = sel.args.get("group")
    return group is not None and any(isinstance(g, (exp.Rollup, exp.Cube, exp.GroupingSets))
                                     for g in group.expressions)


def _grouping_sets(sel: exp.Select) -> tuple[list[list[exp.Expression]],
                                               dict[str, exp.Expression]]:
    """The grouping sets of ``sel`` and every grouping expression by its SQL text."""
    group = sel.args["group"]
    per_item = [[[_item_named(sel, e) for e in one] for one in _sets_of(g)]
                for g in group.expressions]
    sets: list[list[exp.Expression]] = []
    for combo in itertools.product(*per_item):
        sets.append([e for part in combo for e in part])
        if len(sets) > _MAX_SETS:
            raise BindError(f"more than {_MAX_SETS} grouping sets")
    every: dict[str, exp.Expression] = {}
    for s in sets:
        for e in s:
            every.setdefault(grouping_key(e), e)
    return sets, every


def grouping_key(e: exp.Expression) -> str:
    """A grouping expression's text with its columns' table names left out: ``t.a`` and
    ``a`` name the same grouping column (GROUPING(t.a) with ROLLUP(a), and back)."""
    if not any(isinstance(c, exp.Column) and c.table for c in e.walk()):
        return e.sql()
    return e.transform(lambda n: exp.column(n.name) if isinstance(n, exp.Column) and n.table
                       else n).sql()


def rewrite(sel: exp.Select, name_of: Callable[[exp.Expression], str]) -> exp.Expression:
    """The UNION ALL equivalent of ``sel`` (which ``has_grouping_sets``), each branch
    reading the input again."""
    sets, every = _grouping_sets(sel)
    base = sel.copy()
    for k in ("order", "limit", "offset"):
        base.set(k, None)
    # name every item as it would be named ungrouped: neither a NULL nor a GROUPING() mask
    # may rename the column
    base.set("expressions", [e if isinstance(e, exp.Alias) else
                             exp.alias_(e, name_of(e), quoted=True) for e in base.expressions])
    return _union(sel, [_branch(base, s, every) for s in sets])


_ORDER = "__gs_order"


def order_by_items(sel: exp.Select) -> exp.Select:
    """``sel`` with each ORDER BY item that holds an aggregate or GROUPING() (``ORDER BY
    GROUPING(a), sum(b)``) computed as a select item of its own, which the ORDER BY names:
    above the union of the grouping sets' branches only their output columns are left."""
    order = sel.args.get("order")
    if order is None or not any(is_aggregate(n) for o in order.expressions
                                for n in o.this.walk()):
        return sel
    sel = sel.copy()
    hidden: list[str] = []
    for i, o in enumerate(sel.args["order"].expressions):
        if any(is_aggregate(n) for n in o.this.walk()):
            name = f"{_ORDER}{i}"
            sel.append("expressions", exp.alias_(o.this.copy(), name, quoted=True))
            o.set("this", exp.column(name, quoted=True))
            hidden.append(name)
    sel.meta["hidden"] = hidden
    return sel


def _union(sel: exp.Select, branches: list[exp.Select],
           with_: exp.With | None = None) -> exp.Expression:
    """UNION ALL of ``branches`` under ``sel``'s ORDER BY / LIMIT / OFFSET."""
    out: exp.Expression = branches[0]
    for b in branches[1:]:
        out = exp.Union(this=out, expression=b, distinct=False)
    order, limit, offset = (sel.args.get(k) for k in ("order", "limit", "offset"))
    if order is None and limit is None and offset is None and with_ is None:
        return out
    hidden = [exp.column(n, quoted=True) for n in sel.meta.get("hidden", [])]
    star = exp.Star(except_=hidden) if hidden else exp.Star()
    query = exp.Select(expressions=[star]).from_(out.subquery("__g"))
    for k, v in (("order", order), ("limit", limit), ("offset", offset)):
        if v is not None:
            query.set(k, v.copy())
    if with_ is not None:
        query.set("with_", with_)
    return query


# Aggregates rebuilt from partials: (partial calls, how to combine them) by node type.
_SAME = (exp.Min, exp.Max, exp.LogicalAnd, exp.LogicalOr)
_FINE = "__gs_fine"


def reaggregated(sel: exp.Select, name_of: Callable[[exp.Expression], str]
                 ) -> exp.Expression | None:
    """The UNION ALL equivalent of ``sel`` reading its input once (see the module
    docstring), or None when an aggregate or clause needs the per-branch form."""
    if sel.args.get("qualify") is not None or sel.args.get("distinct") is not None or \
            any(sel.find(k) for k in (exp.Window, exp.Filter)):
        return None
    sets, every = _grouping_sets(sel)
    keys = {text: f"__gk{i}" for i, text in enumerate(every)}
    partials: list[exp.Expression] = []  # the fine CTE's aggregate items

    def partial(call: exp.Expression) -> exp.Column:
        name = f"__gp{len(partials)}"
        partials.append(exp.alias_(call, name))
        return exp.column(name)

    def combine(node: exp.AggFunc) -> exp.Expression | None:
        arg = node.this
        if isinstance(arg, exp.Distinct) or len(node.expressions or []) > 0:
            return None
        if isinstance(node, exp.Count):
            return exp.cast(exp.func("coalesce", exp.func("sum", partial(node.copy())),
                                     exp.Literal.number(0)), "BIGINT")
        if isinstance(node, exp.Sum):
            return exp.func("sum", partial(node.copy()))
        if isinstance(node, _SAME):
            return type(node)(this=partial(node.copy()))
        if isinstance(node, exp.Avg):
            total = exp.func("sum", partial(exp.Sum(this=arg.copy())))
            count = exp.func("sum", partial(exp.Count(this=arg.copy())))
            return exp.Div(this=exp.cast(total, "DOUBLE"), expression=count)
        return None

    combined: dict[str, exp.Expression] = {}  # by SQL text: equal calls share partials
    for key in ("expressions", "having"):
        v = sel.args.get(key)
        for item in v if isinstance(v, list) else [v] if v is not None else []:
            for node in item.walk():
                if not is_aggregate(node):
                    continue
                text = node.sql()
                if text in combined or isinstance(node, exp.Grouping):
                    continue
                if not isinstance(node, exp.AggFunc):
                    return None  # a registered aggregate (median, mode...): no partials
                c = combine(node)
                if c is None:
                    return None
                combined[text] = c

    fine = sel.copy()
    for k in ("order", "limit", "offset", "having", "with_"):
        fine.set(k, None)
    fine.set("expressions", [exp.alias_(e.copy(), keys[t]) for t, e in every.items()]
             + partials)
    fine.set("group", exp.Group(expressions=[e.copy() for e in every.values()])
             if every else None)

    def branch(keep: list[exp.Expression]) -> exp.Select:
        kept = {grouping_key(e) for e in keep}

        def swap(node: exp.Expression) -> exp.Expression:
            if isinstance(node, exp.Grouping):
                mask = 0
                for a in node.expressions:
                    mask = (mask << 1) | (grouping_key(_item_named(sel, a)) not in kept)
                return exp.Literal.number(mask)
            if is_aggregate(node):
                return combined[node.sql()].copy()  # a new node: transform does not look in
            text = grouping_key(node)
            if text in keys and not isinstance(node, exp.Alias):
                return exp.column(keys[text]) if text in kept else exp.Null()
            return node

        def swapped(e: exp.Expression) -> exp.Expression:
            return e.transform(swap)

        items = []
        for e in sel.expressions:
            name = e.alias if isinstance(e, exp.Alias) else name_of(e)
            inner = e.this if isinstance(e, exp.Alias) else e
            items.append(exp.alias_(swapped(inner), name, quoted=True))
        b = exp.Select(expressions=items).from_(_FINE)
        if keep:
            b.set("group", exp.Group(expressions=[exp.column(keys[grouping_key(e)])
                                                 for e in keep]))
        elif not any(e.find(exp.AggFunc) for e in sel.expressions):
            b.set("having", exp.Having(this=exp.true()))
        if sel.args.get("having") is not None:
            b.set("having", exp.Having(this=swapped(sel.args["having"].this)))
        return b

    with_ = sel.args.get("with_")
    ctes = [c.copy() for c in with_.expressions] if with_ is not None else []
    ctes.append(exp.CTE(this=fine, alias=exp.TableAlias(this=exp.to_identifier(_FINE))))
    return _union(sel, [branch(s) for s in sets], exp.With(expressions=ctes))


def _sets_of(item: exp.Expression) -> list[list[exp.Expression]]:
    """The grouping sets one GROUP BY item stands for; in ROLLUP and CUBE a parenthesised
    list (``CUBE((a, b), c)``) is one unit, kept or left out whole."""
    if isinstance(item, exp.Rollup):
        units = [_unit(e) for e in item.expressions]
        return [[e for u in units[:n] for e in u] for n in range(len(units), -1, -1)]
    if isinstance(item, exp.Cube):
        units = [_unit(e) for e in item.expressions]
        return [[e for u, keep in zip(units, mask, strict=True) if keep for e in u]
                for mask in itertools.product((True, False), repeat=len(units))]
    if isinstance(item, exp.GroupingSets):
        return [_unit(s) for s in item.expressions]
    return [[item]]


def _unit(e: exp.Expression) -> list[exp.Expression]:
    """``(a, b)`` as [a, b], ``(a)`` as [a], ``a`` as [a]."""
    if isinstance(e, exp.Tuple):
        return list(e.expressions)
    if isinstance(e, exp.Paren):
        return [e.this]
    return [e]


def _branch(base: exp.Select, keep: list[exp.Expression],
            every: dict[str, exp.Expression]) -> exp.Select:
    kept = {grouping_key(e) for e in keep}
    dropped = set(every) - kept
    sel = base.copy()

    def swap(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Grouping):
            args = node.expressions
            mask = 0
            for a in args:
                mask = (mask << 1) | (grouping_key(_item_named(base, a)) in dropped)
            return exp.Literal.number(mask)
        if is_aggregate(node):  # (registered ones too: product, mode, list...)
            return node.copy()  # a new node: transform does not look inside it
        if grouping_key(node) in dropped and not isinstance(node, exp.Alias):
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
        if not any(is_aggregate(n) for e in sel.expressions for n in e.walk()):
            # the empty set is one group even when nothing is aggregated
            sel.set("having", exp.Having(this=exp.true()) if sel.args.get("having") is None
                    else sel.args["having"])
    return sel


def _item_named(sel: exp.Select, e: exp.Expression) -> exp.Expression:
    """Grouping expression ``e`` with a position (``ROLLUP(1)``) or a select-list alias
    replaced by the item's expression, as a plain GROUP BY reads them (an alias whose own
    expression reads a column of that name means the column)."""
    items = sel.expressions
    if isinstance(e, exp.Literal) and not e.is_string:
        idx = int(e.this) - 1
        if not 0 <= idx < len(items):
            raise BindError(f"GROUP BY position {idx + 1} is out of range")
        item = items[idx]
        return (item.this if isinstance(item, exp.Alias) else item).copy()
    if isinstance(e, exp.Column) and not e.table:
        for item in items:
            if isinstance(item, exp.Alias) and item.alias.lower() == e.name.lower() and \
                    not any(c.name.lower() == e.name.lower() for c in item.find_all(exp.Column)):
                return item.this.copy()
    return e
