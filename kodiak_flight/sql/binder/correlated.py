"""Correlated subqueries anywhere, decorrelated over a *domain* (a "magic set").

A subquery reading outer columns ``c1..cn`` is first bound once to find what it reads
(``discover``). Where a fast form applies (EXISTS / IN as a top-level WHERE condition: a
semi/anti join; an aggregate correlated only by equalities: a grouped aggregate joined
back, see ``subqueries``) that bind is the result. Otherwise it is bound again in *domain
mode*: ``D = SELECT DISTINCT c1..cn`` over the outer rows so far is cross-joined into its
FROM (the optimizer turns equality predicates on D's columns into hash-join keys; others
stay a join condition over the distinct domain), its outer references read D's columns,
its aggregates group by them (an ungrouped aggregate is completed over every domain row,
so count over no rows is 0), LIMIT applies per domain row, and the result is left-joined
back to the outer rows on ``c1..cn`` with NULLs equal (IS NOT DISTINCT FROM). EXISTS and
IN become mark joins: a left join against the distinct keys yielding a boolean with SQL's
NULL semantics for IN / NOT IN. Everything runs as joins and aggregates: no per-row work.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pyarrow as pa
from sqlglot import exp

from .. import functions as F
from ..errors import BindError, NotSupportedError
from ..expr import Col, Expr, Lit, SubqueryValue, and_all, call, cast, lit, substitute
from ..optimizer.plan_copy import copy_plan, copyable
from ..plan import AggCall, Aggregate, Filter, Join, Node, Project, Shared, SharedPlan
from ..scope import ColInfo, Scope
from ..types import common_type, groupable, is_string, sql_name
from .aggregates import AggState
from .context import BinderState, Bound, new_id, new_key


class CorrelatedOutsideQuery(NotSupportedError):
    """A correlated subquery with no query rows to join it to (UPDATE / DELETE bind their
    WHERE and SET as row expressions): the statement then runs as a keyed query."""


@dataclass
class Domain:
    """The distinct values of the outer expressions a subquery reads, computed once."""

    ids: list[str]  # the domain's columns as the subquery block reads them
    types: list[pa.DataType]
    outer: list[Expr]  # the expressions over the outer rows they stand for
    key: int
    holder: SharedPlan

    def ref(self, ids: list[str] | None = None) -> Shared:
        """One read of the domain, under ``ids`` (default: the block's own)."""
        return Shared(self.key, self.holder, list(zip(ids or self.ids, self.types,
                                                      strict=True)))


@dataclass
class Discovery:
    """A subquery's first bind: the result, the outer column ids it reads (in order) and
    whether only the domain form binds it correctly."""

    bound: Bound
    refs: list[str]
    needs_general: bool
    cols: dict[str, ColInfo]


class CorrelatedBinder(BinderState):
    """Finds a subquery's correlation and binds it over a domain where needed."""

    def discover(self, q: exp.Expression, s: Scope, corr_mode: str) -> Discovery:
        """Bind ``q`` once, recording the outer columns (of ``s`` and its parents) it reads
        (or take the bind ``remember`` kept)."""
        kept = self.discoveries.pop((id(q), id(s), corr_mode), None)
        if kept is not None:
            return kept
        seen: list[str] = []
        self.ctx.corr_recorders.append(seen)
        b = self.nested(s)
        b.discovering = True
        try:
            bound = b.bind_query(q, corr_mode)
        finally:
            self.ctx.corr_recorders.pop()
        visible = _visible(s)
        refs = list(dict.fromkeys(i for i in seen if i in visible))
        return Discovery(bound, refs, b.needs_general, visible)

    def remember(self, q: exp.Expression, s: Scope, corr_mode: str, d: Discovery) -> None:
        """Keep an unused first bind of ``q`` for the next ``discover`` of it: a WHERE
        conjunct that is no semi/anti join is bound again as an expression (binding it
        afresh would bind nested subqueries 2^depth times)."""
        self.discoveries[(id(q), id(s), corr_mode)] = d

    def fits(self, d: Discovery) -> bool:
        """Whether the outer columns ``d`` reads are columns of the plan built so far."""
        return self.plan is not None and set(d.refs) <= set(self.plan.out_ids())

    def fast_ok(self, d: Discovery) -> bool:
        """Whether the first bind's correlation (equality keys and a WHERE residual) is all
        the subquery reads from outside, so the semi/anti join or grouped forms apply."""
        if d.needs_general or not self.fits(d):
            return False
        used: set[str] = set()
        for _, o in d.bound.corr_keys:
            used |= o.col_ids()
        if d.bound.corr_residual is not None:
            used |= d.bound.corr_residual.col_ids()
        return set(d.refs) <= used

    def defer(self, d: Discovery, q: exp.Expression, s: Scope, agg: AggState, kind: str,
              typ: pa.DataType, x: Expr | None = None) -> Expr:
        """A correlated subquery in an aggregating block's outputs, HAVING or ORDER BY: a
        placeholder column, bound over the aggregated rows once they exist (its outer
        references must be group keys)."""
        src: dict[str, Expr] = {}
        for r in d.refs:
            key = next((k for k in agg.key_cols + agg.extra_keys if isinstance(agg.pre.get(k.id), Col)
                        and agg.pre[k.id].id == r), None)  # type: ignore[union-attr]
            if key is None:
                raise BindError(f"column {d.cols[r].name!r} used in a subquery must appear in "
                                "the GROUP BY clause or be used in an aggregate function")
            src[r] = key
        ph = Col(new_id(), typ)
        agg.pending.append((ph, lambda: self.correlated(d, q, s, kind, src, x)))
        return ph

    def apply_pending(self, plan: Node, agg: AggState) -> Node:
        """``plan`` (the aggregated rows) with the deferred subqueries' placeholders."""
        self.plan = plan
        for ph, bind in agg.pending:
            e = bind()
            keep = [(i, Col(i, t)) for i, t in self.plan.output]
            self.plan = Project(self.plan, keep + [(ph.id, e)])
        agg.pending = []
        return self.plan

    def correlated(self, d: Discovery, q: exp.Expression, s: Scope, kind: str,
                   src: dict[str, Expr] | None = None, x: Expr | None = None) -> Expr:
        """Subquery ``q`` ("scalar", "exists" or "in" with operand ``x``) bound over the
        domain of what it reads, joined back to ``self.plan``; the expression for it."""
        typ = d.bound.cols[0].type if kind == "scalar" else pa.bool_()
        outer = [(src or {}).get(r) or Col(r, d.cols[r].type) for r in d.refs]
        need = set().union(*(e.col_ids() for e in outer))
        if x is not None:
            need |= x.col_ids()
        if self.plan is None or not need <= set(self.plan.out_ids()):
            if self.discovering:  # the enclosing subquery must use the domain form too
                self.needs_general = True
                return Lit(None, typ)
            error = CorrelatedOutsideQuery if self.plan is None else NotSupportedError
            raise error("a correlated subquery is not supported here (only in a query's "
                        "SELECT list, WHERE, GROUP BY / HAVING, ORDER BY or an inner join's "
                        "ON, and in UPDATE / DELETE of a table with a primary key)")
        if self.prior_filters:  # the rows earlier WHERE conjuncts pass, only
            before = and_all(self.prior_filters)
            assert before is not None
            self.plan = Filter(self.plan, before)
            self.prior_filters.clear()
        bound, kids = self.over_domain(d, q, s, kind, outer)
        if kind == "scalar":
            return self._scalar(bound, kids, outer)
        if kind == "exists":
            return self._exists(bound, kids, outer)
        assert x is not None
        return self._in(bound, kids, outer, x)

    def over_domain(self, d: Discovery, q: exp.Expression, s: Scope, kind: str,
                    outer: list[Expr]) -> tuple[Bound, list[str]]:
        """``q`` bound over the domain of ``outer`` (its values over ``self.plan``), and
        the ids of its output columns that carry the domain's values."""
        domain = self._domain(outer)
        b = self.nested(_remap(s, dict(zip(d.refs, domain.ids, strict=True))))
        b.domain = domain
        bound = b.bind_query(q, kind)
        kids = [k for k, _ in bound.corr_keys]
        if len(kids) != len(outer) or bound.corr_residual is not None:
            raise NotSupportedError("this correlated subquery is not supported")
        return bound, kids

    def _domain(self, outer: list[Expr]) -> Domain:
        """The distinct values of ``outer`` over ``self.plan``, as a shared plan."""
        base = self.plan
        assert base is not None
        for e in outer:
            if not groupable(e.type):  # (the domain is their distinct values)
                raise NotSupportedError("a correlated subquery reading a column of type "
                                        f"{sql_name(e.type)} is not supported")
        mapping: dict[str, Expr] = {}
        if copyable(base):
            other: Node = copy_plan(base)
        else:  # (a LIMIT without a full order: both reads must see the same rows)
            holder = _held(base, "outer rows")
            key = new_key()
            self.plan = Shared(key, holder, list(base.output))
            fresh = [(new_id(), t) for _, t in base.output]
            other = Shared(key, holder, fresh)
            mapping = {i: Col(f, t) for (i, _), (f, t) in zip(base.output, fresh, strict=True)}
        hids = [new_id() for _ in outer]
        dplan = Aggregate(Project(other, [(h, substitute(e, mapping)) for h, e in
                                          zip(hids, outer, strict=True)]), hids, [])
        return Domain([new_id() for _ in outer], [e.type for e in outer], outer, new_key(),
                      _held(dplan, "correlation domain"))

    def _scalar(self, bound: Bound, kids: list[str], outer: list[Expr]) -> Expr:
        c = bound.cols[0]
        rplan: Node = bound.plan
        guard = None
        if not bound.empty:  # not an ungrouped aggregate: it may give several rows
            holder = _held(rplan, "correlated subquery")
            key = new_key()
            rplan = Shared(key, holder, list(bound.plan.output))
            fresh = [(new_id(), t) for _, t in bound.plan.output]
            names = dict(zip(bound.plan.out_ids(), (i for i, _ in fresh), strict=True))
            n = new_id()
            counted = Aggregate(Shared(key, holder, fresh), [names[k] for k in kids],
                                [AggCall(n, "count_star", None, pa.int64())])
            dup = Filter(counted, call("greater", [Col(n, pa.int64()), lit(1, pa.int64())]))
            guard = SubqueryValue(dup, "no_rows", pa.bool_())
        self.plan = join_back(self.plan, rplan, outer, kids)
        if guard is not None:
            self.plan = Filter(self.plan, guard)
        return Col(c.id, c.type)

    def _exists(self, bound: Bound, kids: list[str], outer: list[Expr]) -> Expr:
        types = dict(bound.plan.output)
        ks = [new_id() for _ in kids]
        m = new_id()
        keys = Aggregate(Project(bound.plan, [(k2, Col(k, types[k])) for k2, k in
                                              zip(ks, kids, strict=True)]), ks, [])
        marks = Project(keys, [(k2, Col(k2, types[k])) for k2, k in zip(ks, kids, strict=True)]
                        + [(m, lit(True))])
        self.plan = join_back(self.plan, marks, outer, ks)
        return call("coalesce", [Col(m, pa.bool_()), lit(False)])

    def _in(self, bound: Bound, kids: list[str], outer: list[Expr], x: Expr) -> Expr:
        """``x IN (subquery)``: true if a row of x's domain row equals x; else NULL if x is
        NULL or a value is NULL (and there are rows); else false."""
        v = bound.cols[0]
        x, v_expr = in_types(x, Col(v.id, v.type))
        types = dict(bound.plan.output)
        holder = _held(bound.plan, "IN subquery")
        key = new_key()
        first = Shared(key, holder, list(bound.plan.output))
        fresh = [(new_id(), t) for _, t in bound.plan.output]
        second = Shared(key, holder, fresh)
        ren = {i: Col(f, t) for (i, _), (f, t) in zip(bound.plan.output, fresh, strict=True)}
        # matches: the distinct (value, keys) pairs, marked
        vv, m = new_id(), new_id()
        k1 = [new_id() for _ in kids]
        pairs = Aggregate(Project(first, [(vv, v_expr)] + [(a, Col(k, types[k])) for a, k in
                                                           zip(k1, kids, strict=True)]),
                          [vv] + k1, [])
        marked = Project(pairs, [(i, Col(i, t)) for i, t in pairs.output] + [(m, lit(True))])
        j = join_back(self.plan, marked, outer, k1)
        j.left_keys.insert(0, x)
        j.right_keys.insert(0, Col(vv, v_expr.type))
        # per domain row: how many rows, how many non-NULL values
        k2 = [new_id() for _ in kids]
        vn, n, nv = new_id(), new_id(), new_id()
        counts = Aggregate(Project(second, [(vn, substitute(v_expr, ren))] +
                                   [(a, ren[k]) for a, k in zip(k2, kids, strict=True)]),
                           k2, [AggCall(n, "count_star", None, pa.int64()),
                                AggCall(nv, "count", vn, pa.int64())])
        self.plan = join_back(j, counts, outer, k2)
        rows = Col(n, pa.int64())
        none = call("equal", [call("coalesce", [rows, lit(0, pa.int64())]), lit(0, pa.int64())])
        unknown = call("or_kleene", [call("is_null", [x]),
                                     call("greater", [rows, Col(nv, pa.int64())])])
        return F.case_when([call("is_valid", [Col(m, pa.bool_())]), none, unknown],
                           [lit(True), lit(False), Lit(None, pa.bool_())], lit(False))

    def domain_complete(self, plan: Node, dcols: list[Col], aggs: list[AggCall]) -> Node:
        """An ungrouped aggregate over a domain, with a row for every domain row: where
        none of its input rows matched, the aggregates' values over no rows (count 0)."""
        assert self.domain is not None
        ids = [new_id() for _ in dcols]
        j = join_back(self.domain.ref(ids), plan, [Col(i, c.type) for i, c in
                                                   zip(ids, dcols, strict=True)],
                      [c.id for c in dcols])
        exprs: list[tuple[str, Expr]] = [(c.id, Col(i, c.type)) for c, i in
                                         zip(dcols, ids, strict=True)]
        for a in aggs:
            empty = F.aggregate_spec(a.func).empty
            e: Expr = Col(a.id, a.type)
            if empty is not None:
                e = call("coalesce", [e, Lit(empty, a.type)])
            exprs.append((a.id, e))
        return Project(j, exprs)


def join_back(plan: Node, right: Node, outer: list[Expr], ids: list[str],
              kind: str = "left") -> Join:
    """``plan`` LEFT (or ``kind``) JOIN ``right`` on each ``outer`` expression IS NOT
    DISTINCT FROM the column ``ids`` of ``right`` (an is-NULL flag and the value with NULL
    filled)."""
    types = dict(right.output)
    lk: list[Expr] = []
    rk: list[Expr] = []
    for o, i in zip(outer, ids, strict=True):
        r: Expr = Col(i, types[i])
        if o.type != r.type:
            t = common_type(o.type, r.type, "correlation keys")
            o, r = cast(o, t), cast(r, t)
        fill = _fill(o.type)
        if fill is None:  # (no filler value for this type: NULL keys find no match)
            lk.append(o)
            rk.append(r)
            continue
        lk += [call("is_null", [o]), call("coalesce", [o, fill])]
        rk += [call("is_null", [r]), call("coalesce", [r, fill])]
    return Join(plan, right, kind, lk, rk)


def in_types(x: Expr, v: Col) -> tuple[Expr, Expr]:
    """``x`` and the subquery's value in the type ``x = v`` compares them in."""
    x = F.coerce_literal(x, v.type)
    if x.type == v.type:
        return x, v
    if pa.types.is_decimal(x.type) or pa.types.is_decimal(v.type):
        x = F.narrow_int_literal(x)
    t = common_type(x.type, v.type, "IN (subquery)")
    return cast(x, t), cast(v, t)


def _fill(t: pa.DataType) -> Lit | None:
    """A value of type ``t`` standing in for NULL in a join key (next to an is-NULL flag)."""
    value: Any = None
    if is_string(t):
        value = ""
    elif pa.types.is_binary(t) or pa.types.is_large_binary(t):
        value = b""
    elif pa.types.is_boolean(t):
        value = False
    elif pa.types.is_integer(t) or pa.types.is_floating(t):
        value = 0
    elif pa.types.is_decimal(t):
        value = Decimal(0)
    elif pa.types.is_date(t):
        value = datetime.date(1970, 1, 1)
    elif pa.types.is_timestamp(t):
        value = datetime.datetime(1970, 1, 1)
    return Lit(value, t) if value is not None else None


def _held(plan: Node, name: str) -> SharedPlan:
    """``plan`` to be read by several ``Shared`` nodes, which take its columns by position:
    a projection fixes their order (join ordering may change a join's)."""
    return SharedPlan(Project(plan, [(i, Col(i, t)) for i, t in plan.output]), name)


def _visible(s: Scope) -> dict[str, ColInfo]:
    """Every column of ``s`` and its parents, by id."""
    out: dict[str, ColInfo] = {}
    cur: Scope | None = s
    while cur is not None:
        for c in cur.cols:
            out.setdefault(c.id, c)
        cur = cur.parent
    return out


def _remap(s: Scope | None, ids: dict[str, str]) -> Scope | None:
    """A copy of the scope chain ``s`` whose columns ``ids`` names read new ids."""
    if s is None:
        return None
    cols = [ColInfo(c.name, ids.get(c.id, c.id), c.type, c.qual, c.hidden) for c in s.cols]
    return Scope(cols, _remap(s.parent, ids), list(s.tables))
