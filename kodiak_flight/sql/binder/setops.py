"""Set operations (UNION / INTERSECT / EXCEPT [ALL]) with their ORDER BY and LIMIT, and
VALUES lists."""

from __future__ import annotations

import pyarrow as pa
from sqlglot import exp

from .. import functions as F
from ..errors import BindError, NotSupportedError
from ..expr import Col, Expr, Lit, cast
from ..plan import Node, Project, SetOp, Sort, SortKey, Values
from ..scope import ColInfo, Scope
from ..types import check_key, common_type
from .context import BinderState, Bound, new_id
from .select import order_all


class SetOpBinder(BinderState):
    """Binds set operations and VALUES."""

    def bind_setop(self, node: exp.SetOperation) -> Bound:
        arms = [self.nested(self.outer), self.nested(self.outer)]
        for arm in arms:  # (correlation is refused below, whatever its form)
            arm.discovering = True
        left = arms[0].bind_query(node.this)
        right = arms[1].bind_query(node.expression)
        if node.args.get("by_name"):
            if not isinstance(node, exp.Union):
                raise NotSupportedError("BY NAME is supported with UNION only")
            left, right = by_name(left, right)
        if any(b.corr_keys or b.corr_residual is not None for b in (left, right)) or \
                any(arm.needs_general for arm in arms):
            raise NotSupportedError("correlated subqueries with UNION / INTERSECT / EXCEPT "
                                    "are not supported")
        kind = {exp.Union: "union", exp.Intersect: "intersect", exp.Except: "except"}[type(node)]
        if len(left.cols) != len(right.cols):
            raise BindError(f"{kind.upper()} inputs have different column counts "
                            f"({len(left.cols)} and {len(right.cols)})")
        types = [common_type(a.type, b.type, f"{kind.upper()} column {a.name!r}")
                 for a, b in zip(left.cols, right.cols, strict=True)]
        if kind != "union":  # NULL columns compare as INTEGER NULLs (DuckDB's type for them)
            types = [pa.int32() if pa.types.is_null(t) else t for t in types]
        lplan = conform(left, types)
        rplan = conform(right, types)
        ids = lplan.out_ids()
        rp = Project(rplan, [(i, Col(r, t)) for i, (r, t) in zip(ids, rplan.output,
                                                                    strict=True)])
        distinct = bool(node.args.get("distinct", True))
        if distinct or kind != "union":
            for t in types:
                check_key(t, kind.upper(), order=False)
        plan: Node = SetOp(kind, not distinct, lplan, rp)
        cols = [ColInfo(c.name, i, t) for c, i, t in zip(left.cols, ids, types, strict=True)]
        out = Bound(plan, cols)
        return self._order_limit(node, out)

    def bind_values(self, node: exp.Values) -> Bound:
        """``VALUES (...), ...`` of constants, as an in-memory table."""
        rows = node.expressions
        if not rows:
            raise BindError("VALUES needs at least one row")
        width = len(rows[0].expressions) if isinstance(rows[0], exp.Tuple) else 1
        cols: list[list[Expr]] = [[] for _ in range(width)]
        for r in rows:
            items = r.expressions if isinstance(r, exp.Tuple) else [r]
            if len(items) != width:
                raise BindError("VALUES rows have different lengths")
            for i, it in enumerate(items):
                e = self.expr(it, Scope([], self.outer))
                if not isinstance(e, Lit):
                    raise NotSupportedError("VALUES entries must be constants")
                cols[i].append(e)
        alias = node.args.get("alias")
        names = [c.name for c in alias.columns] if alias is not None and alias.columns else []
        if len(names) > width:
            raise BindError(f"VALUES has {width} columns but {len(names)} names were given")
        names += [f"col{i}" for i in range(len(names), width)]  # DuckDB's col0, col1...
        arrays, infos = [], []
        for name, vals in zip(names, cols, strict=True):
            vals = F.unify(vals, "VALUES column")
            t = vals[0].type if not pa.types.is_null(vals[0].type) else pa.int32()
            cid = new_id()
            arrays.append(pa.array([v.value for v in vals], type=t))
            infos.append(ColInfo(name, cid, t, alias.name if alias is not None else None))
        table = pa.Table.from_arrays(arrays, names=[c.id for c in infos])
        return Bound(Values(table), infos)

    def _order_limit(self, node: exp.Expression, bound: Bound) -> Bound:
        """ORDER BY (output columns by name or position) and LIMIT of a set operation."""
        order = order_all(node.args.get("order"), len(bound.cols))
        if order is not None:
            keys = []
            for o in order.expressions:
                e = o.this
                if isinstance(e, exp.Literal) and not e.is_string:
                    idx = int(e.this) - 1
                    if not 0 <= idx < len(bound.cols):
                        raise BindError(f"ORDER BY position {idx + 1} is out of range")
                    c = bound.cols[idx]
                else:
                    sc = Scope(bound.cols)
                    if not isinstance(e, exp.Column):
                        raise NotSupportedError("ORDER BY on a set operation must name an "
                                                "output column")
                    c = sc.resolve(e.name, None)[0]
                check_key(c.type, "ORDER BY", order=True)
                keys.append(SortKey(Col(c.id, c.type), bool(o.args.get("desc")),
                                    bool(o.args.get("nulls_first"))))
            bound.plan = Sort(bound.plan, keys)
        return self.limit(node, bound)


def conform(b: Bound, types: list[pa.DataType]) -> Node:
    """``b``'s plan with its outputs cast to ``types`` (one column per output, in order)."""
    if all(c.type == t for c, t in zip(b.cols, types, strict=True)) and \
            b.plan.out_ids() == [c.id for c in b.cols]:
        return b.plan
    return Project(b.plan, [(new_id(), cast(Col(c.id, c.type), t))
                            for c, t in zip(b.cols, types, strict=True)])


def by_name(left: Bound, right: Bound) -> tuple[Bound, Bound]:
    """``UNION [ALL] BY NAME`` (DuckDB's): both inputs as the columns of the left, then the
    right's others, matched by name (any case); a column an input lacks is NULL there."""
    names: list[str] = []
    for c in left.cols + right.cols:
        if not c.hidden and c.name.lower() not in {n.lower() for n in names}:
            names.append(c.name)

    def aligned(b: Bound) -> Bound:
        have = {c.name.lower(): c for c in b.cols if not c.hidden}
        exprs: list[tuple[str, Expr]] = []
        for n in names:
            c = have.get(n.lower())
            exprs.append((new_id(), Col(c.id, c.type) if c is not None else
                          Lit(None, pa.null())))
        return Bound(Project(b.plan, exprs),
                     [ColInfo(n, i, e.type) for n, (i, e) in zip(names, exprs, strict=True)])
    return aligned(left), aligned(right)
