"""Binder: sqlglot AST -> typed logical plan.

Resolves names against the snapshot's catalog, types every expression, plans aggregation,
ordering and set operations, and turns subqueries into joins where it can: EXISTS / IN
conjuncts become semi/anti joins, correlated scalar subqueries become a grouped aggregate
joined back on the correlation keys, and uncorrelated subqueries are evaluated once
(``SubqueryValue``). Anything else it rejects with a precise error rather than guessing.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pyarrow as pa
from sqlglot import exp

from . import functions as F
from . import grouping
from .errors import BindError, NotSupportedError, ParameterError, SqlTypeError, suggest
from .expr import (
    Col,
    Expr,
    Lit,
    Param,
    ParamProbe,
    SubqueryValue,
    and_all,
    call,
    cast,
    conjuncts,
    fold,
    lit,
    substitute,
)
from .files import ANYWHERE, FileAccess, dataset, format_from_extension, table_function
from .plan import (
    AggCall,
    Aggregate,
    FileScan,
    Filter,
    Join,
    Limit,
    Node,
    Project,
    RecursiveCTE,
    Scan,
    SetOp,
    Shared,
    SharedPlan,
    Sort,
    SortKey,
    Values,
    Window,
    WindowCall,
    WorkTable,
)
from .scope import ColInfo, Scope
from .types import common_type, from_sql, normalize

_ids = itertools.count()


def new_id() -> str:
    return f"c{next(_ids)}"


@dataclass
class Bound:
    """A bound query block: its plan and its named output columns."""

    plan: Node
    cols: list[ColInfo]
    corr_keys: list[tuple[str, Expr]] = field(default_factory=list)  # (inner out id, outer)
    corr_residual: Expr | None = None
    # each output's value over no input rows (``count(*)`` -> 0) for an ungrouped
    # aggregating block; a correlated scalar subquery yields it where nothing matches
    empty: list[Expr | None] = field(default_factory=list)


@dataclass
class Context:
    """Per-statement state shared by nested query blocks."""

    snap: Any
    schema: str = "main"
    catalog: str = "kodiak"
    params: list[pa.Scalar] | None = None
    param_types: dict[int, pa.DataType] = field(default_factory=dict)
    ctes: list[dict[str, exp.Expression]] = field(default_factory=list)
    # recursive CTE name -> (work table key, column names, types) while binding its step
    recursive: dict[str, tuple[int, list[str], list[pa.DataType]]] = field(
        default_factory=dict)
    expanding: list[str] = field(default_factory=list)  # views being expanded (cycle check)
    _views: dict[str, Any] | None = None
    stats: dict | None = None  # distinct-count cache (``stats.cache_for(db)``)
    # set when binding a reusable plan: parameters become ``Param`` nodes watched by it
    probe: ParamProbe | None = None
    volatile: bool = False  # the plan holds a value fixed at bind time (now(), current_date)
    temp_prefix: str = ""  # "kodiak_temp.<session tag>_": where this session's temp tables are
    files: FileAccess = ANYWHERE  # which files its SQL may read and write

    def views(self) -> dict[str, Any]:
        if self._views is None:
            from .catalog import load_views
            self._views = load_views(self.snap)
        return self._views

    def find_view(self, t: exp.Table) -> Any:
        """The stored view ``t`` names (schema-qualified, else current then main), or None."""
        views = self.views()
        if not views:
            return None
        name = t.name.lower()
        db = t.text("db")
        cands = [f"{db.lower()}.{name}"] if db else [f"{self.schema.lower()}.{name}",
                                                     f"main.{name}"]
        for c in cands:
            if c in views:
                return views[c]
        return None

    def table_name(self, t: exp.Table) -> str:
        db = t.text("db")
        cat = t.text("catalog")
        if cat and cat.lower() != self.catalog.lower():
            raise BindError(f"unknown catalog {cat!r}")
        name = t.name
        if self.temp_prefix:  # the session's temporary tables come first, as in DuckDB
            if db.lower() == "temp" or (not db and self.snap.has_table(self.temp_prefix + name)):
                return self.temp_prefix + name
        if db:
            return f"{db}.{name}"
        cand = f"{self.schema}.{name}"
        if self.snap.has_table(cand):
            return cand
        return f"main.{name}" if self.snap.has_table(f"main.{name}") else cand

    def param(self, index: int) -> Lit:
        if self.params is None:
            return Lit(None, self.param_types.get(index, pa.null()))
        if index < 1 or index > len(self.params):
            raise ParameterError(f"parameter ${index} was not supplied "
                                 f"({len(self.params)} given)")
        s = self.params[index - 1]
        t = normalize(s.type)
        value = s.cast(t).as_py() if t != s.type else s.as_py()
        if self.probe is not None:
            return Param(index, value, t, self.probe)
        return Lit(value, t)


class AggState:
    """Aggregation context of one SELECT block: group keys and collected aggregates."""

    def __init__(self, key_asts: list[exp.Expression], key_cols: list[Col]) -> None:
        self.key_asts = key_asts
        self.key_cols = key_cols
        self.pre: dict[str, Expr] = {}  # pre-projection id -> expr over the input
        self.aggs: list[AggCall] = []
        self.seen: dict[str, Col] = {}


def is_aggregate(node: exp.Expression) -> bool:
    if isinstance(node, exp.Filter) and is_aggregate(node.this):
        return True
    if isinstance(node, exp.AggFunc):
        return True
    if isinstance(node, exp.Anonymous) and node.name.lower() in F.AGGREGATES:
        return True
    return False


def contains_aggregate(node: exp.Expression) -> bool:
    for n in node.walk(bfs=False, prune=lambda x: isinstance(x, (exp.Subquery, exp.Window,
                                                                  exp.Select))):
        if n is not node and isinstance(n, (exp.Select, exp.Subquery)):
            continue
        if is_aggregate(n) and not isinstance(n.parent, exp.Window):
            return True
    return False


def contains_window(node: exp.Expression) -> bool:
    return any(isinstance(n, exp.Window) for n in node.walk(
        prune=lambda x: isinstance(x, (exp.Subquery, exp.Select)) and x is not node))


class Binder:
    """Binds one query block (SELECT or set operation) and its nested blocks."""

    def __init__(self, ctx: Context, outer: Scope | None = None) -> None:
        self.ctx = ctx
        self.outer = outer
        self.plan: Node | None = None
        self._windows: list[WindowCall] = []
        self._named_windows: dict[str, exp.Window] = {}

    # ------------------------------------------------------------------ queries

    def bind_query(self, node: exp.Expression, corr_mode: str | None = None) -> Bound:
        with_ = node.args.get("with_")
        pushed = False
        if with_ is not None:
            recursive = bool(with_.args.get("recursive"))
            frame: dict[str, exp.Expression] = {}
            self.ctx.ctes.append(frame)
            pushed = True
            for cte in with_.expressions:
                name = cte.alias_or_name.lower()
                if recursive and _references(cte.this, name):
                    cte = cte.copy()
                    cte.meta["recursive"] = True
                elif _reference_count(node, name) > 1 and not _volatile(cte.this):
                    cte = cte.copy()
                    cte.meta["shared"] = True  # referenced twice or more: compute once
                frame[name] = cte
        try:
            if isinstance(node, exp.Select) and grouping.has_grouping_sets(node):
                once = grouping.reaggregated(node, _auto_name)
                if once is not None:
                    try:  # the input read once; if that form does not bind, the plain one
                        return Binder(self.ctx, self.outer).bind_query(once, corr_mode)
                    except (BindError, SqlTypeError, NotSupportedError):
                        pass
                return self.bind_query(grouping.rewrite(node, _auto_name), corr_mode)
            if isinstance(node, exp.Select):
                return self.bind_select(node, corr_mode)
            if isinstance(node, exp.SetOperation):
                return self.bind_setop(node)
            if isinstance(node, exp.Subquery):
                return self.bind_query(node.this, corr_mode)
            if isinstance(node, exp.Values):
                return self.bind_values(node)
            raise NotSupportedError(f"{node.key.upper()} is not supported as a query")
        finally:
            if pushed:
                self.ctx.ctes.pop()

    def bind_setop(self, node: exp.SetOperation) -> Bound:
        left = Binder(self.ctx, self.outer).bind_query(node.this)
        right = Binder(self.ctx, self.outer).bind_query(node.expression)
        kind = {exp.Union: "union", exp.Intersect: "intersect", exp.Except: "except"}[type(node)]
        if len(left.cols) != len(right.cols):
            raise BindError(f"{kind.upper()} inputs have different column counts "
                            f"({len(left.cols)} and {len(right.cols)})")
        types = [common_type(a.type, b.type, f"{kind.upper()} column {a.name!r}")
                 for a, b in zip(left.cols, right.cols, strict=True)]
        lplan = _conform(left, types)
        rplan = _conform(right, types)
        ids = lplan.out_ids()
        rp = Project(rplan, [(i, Col(r, t)) for i, (r, t) in zip(ids, rplan.output,
                                                                    strict=True)])
        distinct = bool(node.args.get("distinct", True))
        plan: Node = SetOp(kind, not distinct, lplan, rp)
        cols = [ColInfo(c.name, i, t) for c, i, t in zip(left.cols, ids, types, strict=True)]
        out = Bound(plan, cols)
        return self._order_limit(node, out, None)

    def bind_values(self, node: exp.Values) -> Bound:
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
        names = [c.name for c in alias.columns] if alias is not None and alias.columns else \
            [f"col{i}" for i in range(width)]
        arrays, infos = [], []
        for name, vals in zip(names, cols, strict=False):
            vals = F.unify(vals, "VALUES column")
            t = vals[0].type if not pa.types.is_null(vals[0].type) else pa.int32()
            cid = new_id()
            arrays.append(pa.array([v.value for v in vals], type=t))
            infos.append(ColInfo(name, cid, t, alias.name if alias is not None else None))
        table = pa.Table.from_arrays(arrays, names=[c.id for c in infos])
        return Bound(Values(table), infos)

    # ------------------------------------------------------------------ FROM

    def bind_from(self, sel: exp.Select) -> tuple[Node, Scope]:
        frm = sel.args.get("from_")
        if frm is None:
            plan: Node = Values(pa.table({new_id(): pa.array([0], pa.int32())}))
            return plan, Scope([], self.outer)
        plan, cols = self.from_item(frm.this)
        for j in sel.args.get("joins") or []:
            rplan, rcols = self.from_item(j.this)
            plan, cols = self.join(plan, cols, rplan, rcols, j)
        return plan, Scope(cols, self.outer)

    def from_item(self, item: exp.Expression) -> tuple[Node, list[ColInfo]]:
        if isinstance(item, exp.TableAlias):  # pipe syntax "|> AS name" reads CTE "name"
            item = exp.Table(this=item.this.copy())
        alias = item.args.get("alias")
        alias_name = alias.name if alias is not None and alias.name else None
        col_aliases = [c.name for c in alias.columns] if alias is not None and \
            alias.args.get("columns") else []
        if isinstance(item, exp.Table):
            fn = table_function(item.this)
            if fn is not None:
                return self._bind_file(*fn, alias_name, col_aliases)
            if isinstance(item.this, exp.Anonymous) or isinstance(item.this, exp.Func):
                raise NotSupportedError(f"table function {item.this.sql()} is not supported")
            name = item.name
            if isinstance(item.this, exp.Identifier) and item.this.quoted and \
                    not item.text("db") and format_from_extension(name) is not None and \
                    self._cte(name) is None and not self._has_table(item):
                return self._bind_file(name, format_from_extension(name) or "", {},
                                       alias_name, col_aliases)
            qual = alias_name or name
            work = None if item.text("db") else self.ctx.recursive.get(name.lower())
            if work is not None:
                key, names, types = work
                cols = [ColInfo(n, new_id(), t, qual) for n, t in zip(names, types, strict=True)]
                node = WorkTable(key, [(c.id, c.type) for c in cols])
                return node, _rename(cols, qual, col_aliases)
            cte = None if item.text("db") else self._cte(name)
            if cte is not None:
                cte_cols = [c.name for c in cte.args["alias"].columns] \
                    if cte.args.get("alias") is not None and cte.args["alias"].columns else []
                if cte.meta.get("recursive"):
                    plan, cols = self._bind_recursive(cte, name, cte_cols)
                    return plan, _rename(cols, qual, col_aliases)
                if cte.meta.get("shared"):
                    holder = cte.meta.get("holder")
                    if holder is None:
                        bound = Binder(self.ctx, None).bind_query(cte.this)
                        holder = (next(_ids), SharedPlan(bound.plan, name), bound.cols)
                        cte.meta["holder"] = holder
                    key, shared, bcols = holder
                    cols = [ColInfo(c.name, new_id(), c.type, c.qual, c.hidden) for c in bcols]
                    node = Shared(key, shared, [(c.id, c.type) for c in cols])
                    return node, _rename(cols, qual, col_aliases or cte_cols)
                bound = Binder(self.ctx, None).bind_query(cte.this)
                return bound.plan, _rename(bound.cols, qual, col_aliases or cte_cols)
            full = self.ctx.table_name(item)
            if not self.ctx.snap.has_table(full) and self.ctx.find_view(item) is not None:
                return self._bind_view(self.ctx.find_view(item), qual, col_aliases)
            if not self.ctx.snap.has_table(full):
                names = [t.split(".", 1)[1] if t.startswith(self.ctx.schema + ".") else t
                         for t in self.ctx.snap.tables()]
                names += [k for f in self.ctx.ctes for k in f]
                raise BindError(f"table {item.sql(dialect='duckdb')!r} does not exist"
                                + suggest(name, names))
            info = self.ctx.snap.table(full)
            qual = alias_name or name
            cols, scan_cols = [], []
            for i, f in enumerate(info.schema):
                cid = new_id()
                t = normalize(f.type)
                scan_cols.append((f.name, cid, t))
                shown = col_aliases[i] if i < len(col_aliases) else f.name
                cols.append(ColInfo(shown, cid, t, qual))
            raw = {f.name: f.type for f in info.schema}
            keyed = set(info.primary_key[:1])
            for ix in info.indexes.values():
                keyed.update(ix.columns[:1])
            return Scan(info.name, scan_cols, est_rows=max(1, info.row_count),
                        raw_types=raw, stats=self._stats(info), keyed=frozenset(keyed),
                        primary_key=tuple(info.primary_key)), cols
        if isinstance(item, exp.Subquery):
            if item.args.get("lateral"):
                raise NotSupportedError("LATERAL subqueries are not supported")
            bound = Binder(self.ctx, None).bind_query(item.this)
            return bound.plan, _rename(bound.cols, alias_name, col_aliases)
        if isinstance(item, exp.Values):
            bound = self.bind_values(item)
            return bound.plan, _rename(bound.cols, alias_name, col_aliases)
        if isinstance(item, exp.Lateral):
            raise NotSupportedError("LATERAL is not supported")
        raise NotSupportedError(f"{item.key.upper()} in FROM is not supported")

    def _has_table(self, item: exp.Table) -> bool:
        try:
            return bool(self.ctx.snap.has_table(self.ctx.table_name(item)))
        except Exception:  # a file name is no valid table name (engine SchemaError)
            return False

    def _bind_file(self, path: str, fmt: str, opts: dict[str, Any], alias: str | None,
                   col_aliases: list[str]) -> tuple[Node, list[ColInfo]]:
        qual = alias or os.path.splitext(os.path.basename(path))[0]
        path = self.ctx.files.path(path)
        data = dataset(path, fmt, opts)
        cols, scan_cols = [], []
        for i, f in enumerate(data.schema):
            cid = new_id()
            t = normalize(f.type)
            scan_cols.append((f.name, cid, t))
            cols.append(ColInfo(col_aliases[i] if i < len(col_aliases) else f.name, cid, t,
                                qual))
        try:
            est = max(1, os.path.getsize(path) // 64)
        except OSError:
            est = 1000
        return FileScan(path, fmt, opts, scan_cols, est_rows=est), cols

    def _bind_view(self, view: Any, qual: str, col_aliases: list[str]
                   ) -> tuple[Node, list[ColInfo]]:
        from .dialect import parse
        if view.name in self.ctx.expanding:
            raise BindError(f"view {view.name!r} refers to itself")
        saved = (self.ctx.schema, self.ctx.ctes, self.ctx.recursive)
        self.ctx.schema, self.ctx.ctes, self.ctx.recursive = view.schema, [], {}
        self.ctx.expanding.append(view.name)
        try:
            bound = Binder(self.ctx, None).bind_query(parse(view.sql)[0])
        except BindError as e:
            raise BindError(f"view {view.name!r} no longer binds: {e}") from None
        finally:
            self.ctx.expanding.pop()
            self.ctx.schema, self.ctx.ctes, self.ctx.recursive = saved
        return bound.plan, _rename(bound.cols, qual, col_aliases or list(view.columns))

    def _bind_recursive(self, cte: exp.CTE, name: str, names: list[str]
                        ) -> tuple[Node, list[ColInfo]]:
        body = cte.this
        if not isinstance(body, exp.Union):
            raise NotSupportedError(f"recursive CTE {name!r} must be <anchor> UNION [ALL] "
                                    "<recursive term>")
        if _references(body.this, name.lower()):
            raise NotSupportedError(f"the anchor of recursive CTE {name!r} must not refer to "
                                    "it")
        anchor = Binder(self.ctx, None).bind_query(body.this)
        names = names or [c.name for c in anchor.cols]
        if len(names) != len(anchor.cols):
            raise BindError(f"recursive CTE {name!r} names {len(names)} columns but its anchor "
                            f"returns {len(anchor.cols)}")
        types = [c.type if not pa.types.is_null(c.type) else pa.int32() for c in anchor.cols]
        key = next(_ids)
        saved = self.ctx.recursive.get(name.lower())
        self.ctx.recursive[name.lower()] = (key, names, types)
        try:
            step = Binder(self.ctx, None).bind_query(body.expression)
        finally:
            if saved is None:
                self.ctx.recursive.pop(name.lower(), None)
            else:
                self.ctx.recursive[name.lower()] = saved
        if len(step.cols) != len(types):
            raise BindError(f"recursive CTE {name!r}: the recursive term returns "
                            f"{len(step.cols)} columns, the anchor {len(types)}")
        aplan = _conform(anchor, types)
        splan = _conform(step, types)
        node = RecursiveCTE(key, aplan, splan, not bool(body.args.get("distinct", True)))
        cols = [ColInfo(n, i, t) for n, (i, t) in zip(names, aplan.output, strict=True)]
        return node, cols

    def _stats(self, info: Any) -> Any:
        if self.ctx.stats is None:
            return None
        from .stats import TableStats
        return TableStats(self.ctx.stats, self.ctx.snap, info.name, info.row_count)

    def _cte(self, name: str) -> exp.Expression | None:
        for frame in reversed(self.ctx.ctes):
            if name.lower() in frame:
                return frame[name.lower()]
        return None

    def join(self, lplan: Node, lcols: list[ColInfo], rplan: Node, rcols: list[ColInfo],
             j: exp.Join) -> tuple[Node, list[ColInfo]]:
        side = (j.side or "").upper()
        kind = (j.kind or "").upper()
        jt = {"LEFT": "left", "RIGHT": "right", "FULL": "full"}.get(side, "inner")
        if kind == "CROSS":
            jt = "cross"
        elif kind in ("SEMI", "ANTI"):
            jt = kind.lower()
        method = str(j.args.get("method") or "").upper()
        if method and method != "NATURAL":
            raise NotSupportedError(f"{method} joins are not supported")
        scope = Scope(lcols + rcols, self.outer)
        on = j.args.get("on")
        using = j.args.get("using")
        if method == "NATURAL":
            rnames = {c.name.lower() for c in rcols if not c.hidden}
            seen: set[str] = set()
            using = []
            for c in lcols:
                if not c.hidden and c.name.lower() in rnames and c.name.lower() not in seen:
                    seen.add(c.name.lower())
                    using.append(exp.to_identifier(c.name))
            if not using and jt == "inner":
                jt = "cross"
        cond: Expr | None = None
        out_cols = lcols + rcols
        merged: list[tuple[ColInfo, ColInfo]] = []
        if using:
            parts = []
            hidden = set()
            for ident in using:
                n = ident.name
                lc = Scope(lcols).find(n, None)
                rc = Scope(rcols).find(n, None)
                if len(lc) != 1 or len(rc) != 1:
                    raise BindError(f"USING column {n!r} must appear once on each side")
                parts.append(F.compare("equal", Col(lc[0].id, lc[0].type),
                                       Col(rc[0].id, rc[0].type)))
                hidden.add(rc[0].id)
                merged.append((lc[0], rc[0]))
            cond = and_all(parts)
            out_cols = lcols + [ColInfo(c.name, c.id, c.type, c.qual, c.id in hidden or c.hidden)
                                for c in rcols]
        elif on is not None:
            cond = F._bool(self.expr(on, scope))
        elif jt not in ("cross",) and not j.args.get("kind") and jt == "inner" \
                and not side:
            jt = "cross"  # comma join
        if jt == "inner" and cond is None:
            jt = "cross"
        if jt in ("semi", "anti"):
            out_cols = lcols
        if jt == "right":  # rewrite as left join with swapped inputs; keep column order
            node: Node = Join(rplan, lplan, "left", residual=cond)
            order = [i for i, _ in lplan.output] + [i for i, _ in rplan.output]
            types = dict(node.output)
            node = Project(node, [(i, Col(i, types[i])) for i in order])
        else:
            node = Join(lplan, rplan, jt, residual=cond)
        if merged and jt in ("right", "full"):
            # the USING column is whichever side is not NULL
            exprs = [(i, Col(i, t)) for i, t in node.output]
            replace: dict[str, ColInfo] = {}
            for lc, rc in merged:
                mid = new_id()
                e = F.coalesce([Col(lc.id, lc.type), Col(rc.id, rc.type)])
                exprs.append((mid, e))
                replace[lc.id] = ColInfo(lc.name, mid, e.type, None)
            node = Project(node, exprs)
            cols = []
            for c in out_cols:
                if c.id in replace:
                    cols.append(replace[c.id])
                    cols.append(ColInfo(c.name, c.id, c.type, c.qual, True))
                else:
                    cols.append(c)
            out_cols = cols
        return node, out_cols

    # ------------------------------------------------------------------ SELECT

    def bind_select(self, sel: exp.Select, corr_mode: str | None = None) -> Bound:
        distinct = sel.args.get("distinct")
        if distinct is not None and distinct.args.get("on"):
            sel = _distinct_on(sel)
        plan, scope = self.bind_from(sel)
        self.plan = plan
        self.scope = scope
        where = sel.args.get("where")
        corr: list[Expr] = []
        if where is not None:
            corr = self.bind_where(where.this, scope)
        plan = self.plan

        items = self._expand_select(sel, scope)
        self._named_windows = {w.this.name.lower(): w for w in sel.args.get("windows") or []}
        qualify = sel.args.get("qualify")
        qualify_ast = _replace_aliases(qualify.this, items, scope) if qualify is not None \
            else None
        group = sel.args.get("group")
        having = sel.args.get("having")
        order = _order_all(sel.args.get("order"), len(items))
        agg_present = any(contains_aggregate(e) for _, e in items) or \
            (having is not None) or (group is not None) or \
            (order is not None and any(contains_aggregate(o) for o in order.expressions))
        outer_ids = scope.outer_ids()
        corr_eq, corr_res = self._split_correlation(corr, outer_ids)
        if corr_res and (agg_present or corr_mode == "scalar"):
            raise NotSupportedError("correlated subqueries with non-equality correlation "
                                    "are supported only in EXISTS / IN")

        agg: AggState | None = None
        if agg_present:
            key_asts = self._group_keys(group, items) if group is not None else []
            key_exprs = [self.expr(k, scope) for k in key_asts]
            if corr_eq:
                key_exprs += [inner for inner, _ in corr_eq]
            key_cols = []
            pre: dict[str, Expr] = {}
            for e in key_exprs:
                kid = new_id()
                pre[kid] = e
                key_cols.append(Col(kid, e.type))
            agg = AggState(key_asts, key_cols[:len(key_asts)])
            agg.pre = pre
            post_scope = scope
            sel_exprs = [(name, self.expr(e, post_scope, agg)) for name, e in items]
            having_expr = F._bool(self.expr(having.this, post_scope, agg)) \
                if having is not None else None
            order_bound = self._bind_order_items(order, items, sel_exprs, post_scope, agg)
            qualify_expr = F._bool(self.expr(qualify_ast, post_scope, agg)) \
                if qualify_ast is not None else None
            plan = Aggregate(Project(plan, list(agg.pre.items())), [c.id for c in key_cols],
                             agg.aggs)
            if having_expr is not None:
                plan = Filter(plan, having_expr)
            corr_out = [(key_cols[len(key_asts) + i], outer) for i, (_, outer)
                        in enumerate(corr_eq)]
            if group is None:
                zero = {a.id: Lit(0, a.type) if a.func in ("count", "count_star",
                                                           "approx_count_distinct")
                        else Lit(None, a.type) for a in agg.aggs}
                empties: list[Expr | None] = []
                for _, e in sel_exprs:
                    v = fold(substitute(e, zero))
                    empties.append(v if isinstance(v, Lit) else None)
        else:
            self.plan = plan
            sel_exprs = [(name, self.expr(e, scope)) for name, e in items]
            order_bound = self._bind_order_items(order, items, sel_exprs, scope, None)
            qualify_expr = F._bool(self.expr(qualify_ast, scope)) \
                if qualify_ast is not None else None
            plan = self.plan
            corr_out = [(inner, outer) for inner, outer in corr_eq]

        # window functions: computed over the (aggregated) input before projection
        if self._windows:
            plan = Window(plan, self._windows)
            self._windows = []
        if qualify_expr is not None:
            if not contains_window(qualify_ast) and not any(
                    contains_window(e) for _, e in items):
                raise BindError("QUALIFY needs a window function in the SELECT list or in "
                                "QUALIFY itself")
            plan = Filter(plan, qualify_expr)

        # projection (+ hidden sort keys and correlation outputs)
        proj: list[tuple[str, Expr]] = []
        cols: list[ColInfo] = []
        for name, e in sel_exprs:
            cid = new_id()
            proj.append((cid, e))
            cols.append(ColInfo(name, cid, e.type))
        for e in itertools.chain(*(x.walk() for _, x in proj)):
            if isinstance(e, Col) and e.id in outer_ids:
                raise NotSupportedError("correlated column references are supported only in "
                                        "the WHERE clause of a subquery")
        n_visible = len(proj)
        sort_keys: list[SortKey] = []
        if order_bound:
            sel_ids = {id(e): cid for (cid, e) in proj}
            for e, desc, nf in order_bound:
                if isinstance(e, int):
                    ref = Col(proj[e][0], proj[e][1].type)
                elif id(e) in sel_ids:
                    ref = Col(sel_ids[id(e)], e.type)
                else:
                    if sel.args.get("distinct"):
                        raise BindError("for SELECT DISTINCT, ORDER BY expressions must appear "
                                        "in the select list")
                    hid = new_id()
                    proj.append((hid, e))
                    ref = Col(hid, e.type)
                sort_keys.append(SortKey(ref, desc, nf))
        corr_keys: list[tuple[str, Expr]] = []
        for inner, outer in corr_out:
            kid = new_id()
            proj.append((kid, inner))
            corr_keys.append((kid, outer))
        residual = None
        if corr_res:
            inner_ids = set().union(*(r.col_ids() for r in corr_res)) - outer_ids
            types = dict(plan.output)
            have = {c for c, _ in proj}
            for i in sorted(inner_ids):
                if i not in have:
                    proj.append((i, Col(i, types[i])))
            residual = and_all(corr_res)
        plan = Project(plan, proj)

        if sel.args.get("distinct"):
            plan = Aggregate(plan, [c for c, _ in proj], [])
        bound = Bound(plan, cols, corr_keys, residual)
        if agg is not None and group is None:
            bound.empty = empties
        if sort_keys:
            bound.plan = Sort(bound.plan, sort_keys)
        bound = self._limit(sel, bound)
        if len(proj) > n_visible and not corr_keys and residual is None:
            keep = [(c.id, Col(c.id, c.type)) for c in cols]
            bound.plan = Project(bound.plan, keep)
        return bound

    def _expand_select(self, sel: exp.Select, scope: Scope
                       ) -> list[tuple[str, exp.Expression]]:
        out: list[tuple[str, exp.Expression]] = []
        for item in sel.expressions:
            star = item if isinstance(item, exp.Star) else \
                item.this if isinstance(item, exp.Column) and isinstance(item.this, exp.Star) \
                else None
            if star is not None:
                qual = item.text("table") if isinstance(item, exp.Column) else None
                excl = {c.name.lower() for c in (star.args.get("except_") or
                                                 star.args.get("except") or [])}
                repl = {a.alias.lower(): a.this for a in (star.args.get("replace") or [])}
                renames = {a.this.name.lower(): a.alias for a in (star.args.get("rename") or [])}
                cols = [c for c in scope.cols if not c.hidden and
                        (qual is None or (c.qual or "").lower() == qual.lower())]
                if qual and not cols:
                    raise BindError(f"table {qual!r} not found in FROM clause"
                                    + suggest(qual, {c.qual for c in scope.cols if c.qual}))
                names = {c.name.lower() for c in cols}
                for k in list(excl) + list(repl) + list(renames):
                    if k not in names:
                        raise BindError(f"column {k!r} in * EXCLUDE/REPLACE/RENAME not found"
                                        + suggest(k, [c.name for c in cols]))
                for c in cols:
                    if c.name.lower() in excl:
                        continue
                    ref = exp.column(c.name, table=c.qual, quoted=True) if c.qual else \
                        exp.column(c.name, quoted=True)
                    out.append((renames.get(c.name.lower(), c.name), repl.get(c.name.lower(), ref)))
                continue
            if isinstance(item, exp.Alias):
                out.append((item.alias, item.this))
            else:
                out.append((_auto_name(item), item))
        return out

    def _group_keys(self, group: exp.Group, items: list[tuple[str, exp.Expression]]
                    ) -> list[exp.Expression]:
        if group.args.get("all"):
            return [e for _, e in items if not contains_aggregate(e) and not
                    contains_window(e)]
        if group.args.get("rollup") or group.args.get("cube") or \
                group.args.get("grouping_sets"):
            raise NotSupportedError("ROLLUP / CUBE / GROUPING SETS are not supported")
        keys = []
        aliases = {name.lower(): e for name, e in items}
        in_cols = {c.name.lower() for c in self.scope.cols}
        for k in group.expressions:
            if isinstance(k, exp.Literal) and not k.is_string:
                idx = int(k.this) - 1
                if not 0 <= idx < len(items):
                    raise BindError(f"GROUP BY position {idx + 1} is out of range")
                keys.append(items[idx][1])
            elif isinstance(k, exp.Column) and not k.table and k.name.lower() in aliases \
                    and k.name.lower() not in in_cols:
                keys.append(aliases[k.name.lower()])
            else:
                keys.append(k)
        return keys

    def _bind_order_items(self, order: exp.Order | None, items: list, sel_exprs: list,
                          scope: Scope, agg: AggState | None) -> list:
        if order is None:
            return []
        out = []
        aliases = {}
        for i, (name, _) in enumerate(items):
            aliases.setdefault(name.lower(), i)
        for o in order.expressions:
            e = o.this
            desc = bool(o.args.get("desc"))
            nf = bool(o.args.get("nulls_first"))
            if isinstance(e, exp.Literal) and not e.is_string:
                idx = int(e.this) - 1
                if not 0 <= idx < len(items):
                    raise BindError(f"ORDER BY position {idx + 1} is out of range")
                out.append((idx, desc, nf))
                continue
            if isinstance(e, exp.Column) and not e.table and e.name.lower() in aliases:
                out.append((aliases[e.name.lower()], desc, nf))
                continue
            match = next((i for i, (_, ast) in enumerate(items) if ast == e), None)
            if match is not None:
                out.append((match, desc, nf))
                continue
            out.append((self.expr(e, scope, agg), desc, nf))
        return out

    def _limit(self, node: exp.Expression, bound: Bound) -> Bound:
        lim = node.args.get("limit")
        off = node.args.get("offset")
        if lim is None and off is None:
            return bound
        n = self._const_int(lim.expression, "LIMIT") if lim is not None else None
        o = self._const_int(off.expression, "OFFSET") if off is not None else 0
        bound.plan = Limit(bound.plan, n, o)
        return bound

    def _const_int(self, e: exp.Expression, what: str) -> int | None:
        v = self.expr(e, Scope([]))
        if not isinstance(v, Lit) or (v.value is not None and not isinstance(v.value, int)):
            raise BindError(f"{what} must be a constant integer")
        if v.value is not None and v.value < 0:
            raise BindError(f"{what} must not be negative")
        return v.value

    def _order_limit(self, node: exp.Expression, bound: Bound, _: Any) -> Bound:
        order = _order_all(node.args.get("order"), len(bound.cols))
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
                keys.append(SortKey(Col(c.id, c.type), bool(o.args.get("desc")),
                                    bool(o.args.get("nulls_first"))))
            bound.plan = Sort(bound.plan, keys)
        return self._limit(node, bound)

    # ------------------------------------------------------------------ WHERE

    def bind_where(self, node: exp.Expression, scope: Scope) -> list[Expr]:
        """Bind WHERE into ``self.plan``; return the correlated conjuncts (for the caller)."""
        correlated: list[Expr] = []
        outer_ids = scope.outer_ids()
        filters: list[Expr] = []
        for part in _split_and(node):
            if self._subquery_conjunct(part, scope):
                continue
            e = F._bool(self.expr(part, scope))
            if filters or correlated:  # evaluated only where the earlier conjuncts hold
                prior = and_all([F._bool(x) for x in filters + correlated])
                assert prior is not None
                e = F.guard(e, call("coalesce", [prior, lit(True)]))
            if e.col_ids() & outer_ids:
                correlated.append(e)
            else:
                filters.append(e)
        cond = and_all(filters)
        if cond is not None:
            self.plan = Filter(self.plan, cond)
        return correlated

    def _subquery_conjunct(self, part: exp.Expression, scope: Scope) -> bool:
        """Plan EXISTS / IN (subquery) conjuncts as semi/anti joins; False if not one."""
        negated = False
        node = part
        while isinstance(node, exp.Paren):
            node = node.this
        if isinstance(node, exp.Not):
            negated = True
            node = node.this
            while isinstance(node, exp.Paren):
                node = node.this
        if isinstance(node, exp.Exists):
            sub = Binder(self.ctx, scope).bind_query(node.this, corr_mode="exists")
            if not sub.corr_keys and sub.corr_residual is None:
                return False  # uncorrelated: evaluate once as a constant
            self.plan = Join(self.plan, sub.plan, "anti" if negated else "semi",
                             [o for _, o in sub.corr_keys],
                             [Col(i, o.type) for i, o in sub.corr_keys], sub.corr_residual)
            self._fix_key_types(self.plan)
            return True
        if isinstance(node, exp.In) and node.args.get("query") is not None:
            lhs = self.expr(node.this, scope)
            q = node.args["query"]
            sub = Binder(self.ctx, scope).bind_query(q.this if isinstance(q, exp.Subquery)
                                                     else q, corr_mode="in")
            if len(sub.cols) != 1:
                raise BindError("subquery in IN must return exactly one column")
            c = sub.cols[0]
            lkeys = [lhs] + [o for _, o in sub.corr_keys]
            rkeys: list[Expr] = [Col(c.id, c.type)] + [Col(i, o.type) for i, o in
                                                       sub.corr_keys]
            if negated and not sub.corr_keys and sub.corr_residual is None:
                # NOT IN is NULL (so false) if the subquery has a NULL, or lhs is NULL
                # and the subquery is non-empty.
                inner_q = q.this if isinstance(q, exp.Subquery) else q
                s1 = Binder(self.ctx, scope).bind_query(inner_q)
                s2 = Binder(self.ctx, scope).bind_query(inner_q)
                c1 = s1.cols[0]
                has_null = SubqueryValue(Filter(s1.plan, call("is_null", [Col(c1.id, c1.type)])),
                                         "exists", pa.bool_())
                nonempty = SubqueryValue(s2.plan, "exists", pa.bool_())
                guard = F.and_(F.not_(has_null), F.or_(call("is_valid", [lhs]),
                                                       F.not_(nonempty)))
                self.plan = Filter(self.plan, guard)
            self.plan = Join(self.plan, sub.plan, "anti" if negated else "semi", lkeys, rkeys,
                             sub.corr_residual)
            self._fix_key_types(self.plan)
            return True
        return False

    def _fix_key_types(self, j: Join) -> None:
        for i, (a, b) in enumerate(zip(j.left_keys, j.right_keys, strict=True)):
            if a.type != b.type:
                t = common_type(a.type, b.type, "join keys")
                j.left_keys[i], j.right_keys[i] = cast(a, t), cast(b, t)

    def _split_correlation(self, corr: list[Expr], outer_ids: set[str]
                           ) -> tuple[list[tuple[Expr, Expr]], list[Expr]]:
        eq: list[tuple[Expr, Expr]] = []
        res: list[Expr] = []
        for c in corr:
            from .expr import Call
            if isinstance(c, Call) and c.fn == "equal":
                a, b = c.args
                ai, bi = a.col_ids(), b.col_ids()
                if ai and not (ai & outer_ids) and bi and bi <= outer_ids:
                    eq.append((a, b))
                    continue
                if bi and not (bi & outer_ids) and ai and ai <= outer_ids:
                    eq.append((b, a))
                    continue
            res.append(c)
        return eq, res

    # ------------------------------------------------------------------ expressions

    def expr(self, node: exp.Expression, scope: Scope, agg: AggState | None = None) -> Expr:
        if agg is not None:
            for k_ast, k_col in zip(agg.key_asts, agg.key_cols, strict=True):
                if node == k_ast:
                    return k_col
            if is_aggregate(node):
                return self._aggregate(node, scope, agg)
        method: Callable[..., Expr] | None = getattr(self, f"_x_{type(node).__name__}", None)
        if method is not None:
            out = method(node, scope, agg)
            if node.args.get("negate") is True and isinstance(node, (exp.Like, exp.ILike,
                                                                     exp.Glob, exp.RegexpLike)):
                out = F.not_(out)
            return out
        if isinstance(node, exp.Func):
            return self._function(node, scope, agg)
        raise NotSupportedError(f"expression {node.sql(dialect='duckdb')!r} "
                                f"({type(node).__name__}) is not supported")

    def _sub(self, node: exp.Expression, scope: Scope, agg: AggState | None) -> Expr:
        return self.expr(node, scope, agg)

    def _x_Column(self, node: exp.Column, scope: Scope, agg: AggState | None) -> Expr:
        if isinstance(node.this, exp.Star):
            raise BindError("* is not allowed here")
        col, outer = scope.resolve(node.name, node.text("table") or None)
        if agg is not None and not outer:
            for k_col in agg.key_cols:
                src = agg.pre.get(k_col.id)
                if isinstance(src, Col) and src.id == col.id:
                    return k_col
            raise BindError(f"column {node.sql(dialect='duckdb')!r} must appear in the GROUP BY "
                            "clause or be used in an aggregate function")
        return Col(col.id, col.type)

    def _x_Identifier(self, node: exp.Identifier, scope: Scope, agg: AggState | None) -> Expr:
        return self._x_Column(exp.Column(this=node), scope, agg)

    def _x_Paren(self, node: exp.Paren, scope: Scope, agg: AggState | None) -> Expr:
        return self.expr(node.this, scope, agg)

    def _x_IgnoreNulls(self, node: exp.IgnoreNulls, scope: Scope, agg: AggState | None) -> Expr:
        return self.expr(node.this, scope, agg)  # aggregates already skip NULLs

    def _x_Alias(self, node: exp.Alias, scope: Scope, agg: AggState | None) -> Expr:
        return self.expr(node.this, scope, agg)

    def _x_Literal(self, node: exp.Literal, scope: Scope, agg: AggState | None) -> Expr:
        if node.is_string:
            return lit(node.this, pa.string())
        text = node.this
        if any(ch in text for ch in "eE"):
            return lit(float(text), pa.float64())
        if "." in text:
            d = Decimal(text)
            digits = len(d.as_tuple().digits)
            scale = max(0, -d.as_tuple().exponent)
            prec = max(digits, scale, 1)
            if prec > 38:
                return lit(float(text), pa.float64())
            return Lit(d, pa.decimal128(prec, scale))
        v = int(text)
        if -2**31 <= v < 2**31:
            return Lit(v, pa.int32())
        if -2**63 <= v < 2**63:
            return Lit(v, pa.int64())
        return Lit(Decimal(v), pa.decimal128(38, 0))

    def _x_Boolean(self, node: exp.Boolean, scope: Scope, agg: AggState | None) -> Expr:
        return Lit(bool(node.this), pa.bool_())

    def _x_Null(self, node: exp.Null, scope: Scope, agg: AggState | None) -> Expr:
        return Lit(None, pa.null())

    def _x_Placeholder(self, node: exp.Placeholder, scope: Scope, agg: AggState | None) -> Expr:
        if node.this is None:
            raise ParameterError("unnumbered placeholder")
        return self.ctx.param(int(str(node.this)))

    def _x_Parameter(self, node: exp.Parameter, scope: Scope, agg: AggState | None) -> Expr:
        return self.ctx.param(int(node.name))

    def _x_Cast(self, node: exp.Cast, scope: Scope, agg: AggState | None) -> Expr:
        to = from_sql(node.args["to"])
        inner = self.expr(node.this, scope, agg)
        if isinstance(node, exp.TryCast) or node.args.get("safe"):
            return self._try_cast(inner, to)
        return cast(inner, to)

    _x_TryCast = _x_Cast

    def _try_cast(self, e: Expr, to: pa.DataType) -> Expr:
        from .types import is_string
        if isinstance(e, Lit):
            try:
                out = cast(e, to)
            except Exception:
                return Lit(None, to)
            return out if isinstance(out, Lit) else Lit(None, to)
        if is_string(e.type):
            import pyarrow.compute as pc
            pattern = None
            if pa.types.is_integer(to):
                pattern = r"^\s*[+-]?\d+\s*$"
            elif pa.types.is_floating(to) or pa.types.is_decimal(to):
                pattern = r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$"
            elif pa.types.is_date(to):
                pattern = r"^\d{4}-\d{2}-\d{2}$"
            if pattern is not None:
                ok = call("match_substring_regex", [e], pc.MatchSubstringOptions(pattern))
                clean = call("if_else", [ok, e, Lit(None, e.type)])
                return cast(clean, to, safe=False)
        return cast(e, to, safe=False)

    def _x_Interval(self, node: exp.Interval, scope: Scope, agg: AggState | None) -> Expr:
        val = node.this
        unit = node.args.get("unit")
        text = val.name if isinstance(val, (exp.Literal, exp.Identifier)) else None
        if text is None:
            v = self.expr(val, scope, agg)
            if not isinstance(v, Lit):
                raise NotSupportedError("INTERVAL needs a constant")
            text = str(v.value)
        unit_name = unit.name if unit is not None else None
        if unit_name is None:
            parts = text.split()
            if len(parts) != 2:
                raise BindError(f"cannot parse interval {text!r}")
            text, unit_name = parts
        return Lit(_interval(float(text), unit_name), pa.month_day_nano_interval())

    # arithmetic / comparison / logic ---------------------------------------

    def _bin(self, node: exp.Binary, scope: Scope, agg: AggState | None) -> tuple[Expr, Expr]:
        a = self.expr(node.this, scope, agg)
        b = self.expr(node.expression, scope, agg)
        self._hint_params(node.this, b)
        self._hint_params(node.expression, a)
        return a, b

    def _hint_params(self, ast: exp.Expression, other: Expr) -> None:
        if isinstance(ast, exp.Placeholder) and ast.this is not None and \
                not pa.types.is_null(other.type):
            self.ctx.param_types.setdefault(int(str(ast.this)), other.type)

    def _x_Add(self, n: exp.Add, s: Scope, g: AggState | None) -> Expr:
        return F.arith("+", *self._bin(n, s, g))

    def _x_Sub(self, n: exp.Sub, s: Scope, g: AggState | None) -> Expr:
        return F.arith("-", *self._bin(n, s, g))

    def _x_Mul(self, n: exp.Mul, s: Scope, g: AggState | None) -> Expr:
        return F.arith("*", *self._bin(n, s, g))

    def _x_Div(self, n: exp.Div, s: Scope, g: AggState | None) -> Expr:
        return F.arith("/", *self._bin(n, s, g))

    def _x_IntDiv(self, n: exp.IntDiv, s: Scope, g: AggState | None) -> Expr:
        return F.arith("//", *self._bin(n, s, g))

    def _x_Mod(self, n: exp.Mod, s: Scope, g: AggState | None) -> Expr:
        return F.arith("%", *self._bin(n, s, g))

    def _x_Neg(self, n: exp.Neg, s: Scope, g: AggState | None) -> Expr:
        e = self.expr(n.this, s, g)
        if isinstance(e, Lit) and isinstance(e.value, (int, float, Decimal)):
            return Lit(-e.value, e.type)
        return call("negate_checked", [e], what="unary -")

    def _x_EQ(self, n: exp.EQ, s: Scope, g: AggState | None) -> Expr:
        return F.compare("equal", *self._bin(n, s, g))

    def _x_NEQ(self, n: exp.NEQ, s: Scope, g: AggState | None) -> Expr:
        return F.compare("not_equal", *self._bin(n, s, g))

    def _x_LT(self, n: exp.LT, s: Scope, g: AggState | None) -> Expr:
        return F.compare("less", *self._bin(n, s, g))

    def _x_LTE(self, n: exp.LTE, s: Scope, g: AggState | None) -> Expr:
        return F.compare("less_equal", *self._bin(n, s, g))

    def _x_GT(self, n: exp.GT, s: Scope, g: AggState | None) -> Expr:
        return F.compare("greater", *self._bin(n, s, g))

    def _x_GTE(self, n: exp.GTE, s: Scope, g: AggState | None) -> Expr:
        return F.compare("greater_equal", *self._bin(n, s, g))

    def _x_NullSafeEQ(self, n: exp.NullSafeEQ, s: Scope, g: AggState | None) -> Expr:
        a, b = self._bin(n, s, g)
        eq = F.compare("equal", a, b)
        both_null = F.and_(call("is_null", [a]), call("is_null", [b]))
        any_null = F.or_(call("is_null", [a]), call("is_null", [b]))
        return call("if_else", [any_null, both_null, eq])

    def _x_NullSafeNEQ(self, n: exp.NullSafeNEQ, s: Scope, g: AggState | None) -> Expr:
        return F.not_(self._x_NullSafeEQ(n, s, g))  # type: ignore[arg-type]

    def _x_And(self, n: exp.And, s: Scope, g: AggState | None) -> Expr:
        return F.and_(*self._bin(n, s, g))

    def _x_Or(self, n: exp.Or, s: Scope, g: AggState | None) -> Expr:
        return F.or_(*self._bin(n, s, g))

    def _x_Not(self, n: exp.Not, s: Scope, g: AggState | None) -> Expr:
        return F.not_(self.expr(n.this, s, g))

    def _x_Xor(self, n: exp.Xor, s: Scope, g: AggState | None) -> Expr:
        return call("xor", [F._bool(x) for x in self._bin(n, s, g)])

    def _x_DPipe(self, n: exp.DPipe, s: Scope, g: AggState | None) -> Expr:
        return F._concat(list(self._bin(n, s, g)), skip_nulls=False)

    def _x_Like(self, n: exp.Like, s: Scope, g: AggState | None) -> Expr:
        a, b = self._bin(n, s, g)
        return F._like([a, b])

    def _x_ILike(self, n: exp.ILike, s: Scope, g: AggState | None) -> Expr:
        a, b = self._bin(n, s, g)
        return F._like([a, b], ignore_case=True)

    def _x_Escape(self, n: exp.Escape, s: Scope, g: AggState | None) -> Expr:
        like = n.this
        esc = self.expr(n.expression, s, g)
        pat = self.expr(like.expression, s, g)
        if not isinstance(pat, Lit) or not isinstance(esc, Lit):
            raise NotSupportedError("LIKE ... ESCAPE needs constants")
        pattern = _translate_escape(str(pat.value), str(esc.value))
        a = self.expr(like.this, s, g)
        return F._like([a, lit(pattern)], ignore_case=isinstance(like, exp.ILike))

    def _x_Glob(self, n: exp.Glob, s: Scope, g: AggState | None) -> Expr:
        a, b = self._bin(n, s, g)
        if not isinstance(b, Lit):
            raise NotSupportedError("GLOB pattern must be a constant")
        import pyarrow.compute as pc
        return call("match_substring_regex", [F._str(a)],
                    pc.MatchSubstringOptions(_glob_regex(str(b.value))))

    def _x_RegexpLike(self, n: exp.RegexpLike, s: Scope, g: AggState | None) -> Expr:
        return F.SCALAR["regexp_matches"](list(self._bin(n, s, g)))

    def _x_SimilarTo(self, n: exp.Expression, s: Scope, g: AggState | None) -> Expr:
        raise NotSupportedError("SIMILAR TO is not supported")

    def _x_Between(self, n: exp.Between, s: Scope, g: AggState | None) -> Expr:
        x = self.expr(n.this, s, g)
        lo = self.expr(n.args["low"], s, g)
        hi = self.expr(n.args["high"], s, g)
        return F.and_(F.compare("greater_equal", x, lo), F.compare("less_equal", x, hi))

    def _x_In(self, n: exp.In, s: Scope, g: AggState | None) -> Expr:
        x = self.expr(n.this, s, g)
        q = n.args.get("query")
        if q is not None:
            sub = Binder(self.ctx, s).bind_query(q.this if isinstance(q, exp.Subquery) else q)
            if sub.corr_keys or sub.corr_residual is not None or len(sub.cols) != 1:
                raise NotSupportedError("correlated IN (subquery) is supported only as a "
                                        "top-level WHERE condition")
            values = SubqueryValue(sub.plan, "set", sub.cols[0].type, sub.cols[0].id)
            return _in_subquery_value(x, values)
        if n.args.get("unnest") is not None:
            raise NotSupportedError("IN UNNEST is not supported")
        items = [self.expr(i, s, g) for i in n.expressions]
        for i in n.expressions:
            self._hint_params(i, x)
        return F.in_list(x, items)

    def _x_Is(self, n: exp.Is, s: Scope, g: AggState | None) -> Expr:
        x = self.expr(n.this, s, g)
        rhs = n.expression
        if isinstance(rhs, exp.Null):
            return call("is_null", [x])
        if isinstance(rhs, exp.Boolean):
            xb = F._bool(x)
            v = call("equal", [xb, lit(bool(rhs.this))])
            return call("coalesce", [v, lit(False)])
        raise NotSupportedError(f"IS {rhs.sql()} is not supported")

    def _x_Case(self, n: exp.Case, s: Scope, g: AggState | None) -> Expr:
        base = self.expr(n.this, s, g) if n.this is not None else None
        conds, vals = [], []
        for i in n.args.get("ifs") or []:
            c = self.expr(i.this, s, g)
            if base is not None:
                c = F.compare("equal", base, c)
            conds.append(c)
            vals.append(self.expr(i.args["true"], s, g))
        default = n.args.get("default")
        return F.case_when(conds, vals, self.expr(default, s, g) if default is not None
                           else None)

    def _x_If(self, n: exp.If, s: Scope, g: AggState | None) -> Expr:
        f = n.args.get("false")
        return F.case_when([self.expr(n.this, s, g)], [self.expr(n.args["true"], s, g)],
                           self.expr(f, s, g) if f is not None else None)

    def _x_Coalesce(self, n: exp.Coalesce, s: Scope, g: AggState | None) -> Expr:
        args = [self.expr(n.this, s, g)] + [self.expr(e, s, g) for e in n.expressions]
        return F.coalesce(args)

    def _x_Nullif(self, n: exp.Nullif, s: Scope, g: AggState | None) -> Expr:
        return F._nullif([self.expr(n.this, s, g), self.expr(n.expression, s, g)])

    def _x_Extract(self, n: exp.Extract, s: Scope, g: AggState | None) -> Expr:
        return F.extract(n.this.name, self.expr(n.expression, s, g))

    def _x_Substring(self, n: exp.Substring, s: Scope, g: AggState | None) -> Expr:
        args = [self.expr(n.this, s, g), self.expr(n.args.get("start") or exp.Literal.number(1),
                                                    s, g)]
        if n.args.get("length") is not None:
            args.append(self.expr(n.args["length"], s, g))
        return F._substring(args)

    def _x_Trim(self, n: exp.Trim, s: Scope, g: AggState | None) -> Expr:
        x = self.expr(n.this, s, g)
        pos = (n.text("position") or "BOTH").upper()
        chars = n.args.get("expression")
        fns = {"BOTH": ("utf8_trim_whitespace", "utf8_trim"),
               "LEADING": ("utf8_ltrim_whitespace", "utf8_ltrim"),
               "TRAILING": ("utf8_rtrim_whitespace", "utf8_rtrim")}[pos]
        args = [x] + ([self.expr(chars, s, g)] if chars is not None else [])
        return F._trim(*fns)(args)

    def _x_Pad(self, n: exp.Pad, s: Scope, g: AggState | None) -> Expr:
        args = [self.expr(n.this, s, g), self.expr(n.expression, s, g)]
        if n.args.get("fill_pattern") is not None:
            args.append(self.expr(n.args["fill_pattern"], s, g))
        return F._pad("utf8_lpad" if n.args.get("is_left") else "utf8_rpad")(args)

    def _x_TimestampTrunc(self, n: exp.TimestampTrunc, s: Scope, g: AggState | None) -> Expr:
        unit = n.args.get("unit")
        return F._date_trunc([lit(unit.name if unit is not None else "day"),
                              self.expr(n.this, s, g)])

    _x_DateTrunc = _x_TimestampTrunc

    def _x_Subquery(self, n: exp.Subquery, s: Scope, g: AggState | None) -> Expr:
        sub = Binder(self.ctx, s).bind_query(n.this, corr_mode="scalar")
        if len(sub.cols) != 1:
            raise BindError("scalar subquery must return exactly one column")
        c = sub.cols[0]
        if not sub.corr_keys:
            return SubqueryValue(Limit(sub.plan, 2, 0), "scalar", c.type, c.id)
        if g is not None:
            raise NotSupportedError("correlated subqueries in an aggregating SELECT list or "
                                    "HAVING are not supported")
        j = Join(self.plan, sub.plan, "left", [o for _, o in sub.corr_keys],
                 [Col(i, o.type) for i, o in sub.corr_keys])
        self._fix_key_types(j)
        self.plan = j
        out: Expr = Col(c.id, c.type)
        empty = sub.empty[0] if sub.empty else None
        if isinstance(empty, Lit) and empty.value is not None:
            kid = sub.corr_keys[0][0]
            ktype = dict(sub.plan.output)[kid]
            out = call("if_else", [call("is_valid", [Col(kid, ktype)]), out,
                                   cast(empty, c.type)])
        return out

    def _x_Exists(self, n: exp.Exists, s: Scope, g: AggState | None) -> Expr:
        sub = Binder(self.ctx, s).bind_query(n.this, corr_mode="exists")
        if sub.corr_keys or sub.corr_residual is not None:
            raise NotSupportedError("correlated EXISTS is supported only as a top-level WHERE "
                                    "condition")
        return SubqueryValue(Limit(sub.plan, 1, 0), "exists", pa.bool_())

    def _x_Window(self, n: exp.Window, s: Scope, g: AggState | None) -> Expr:
        from .window import bind_window
        return bind_window(self, n, s, g)

    def _x_CurrentDate(self, n: exp.Expression, s: Scope, g: AggState | None) -> Expr:
        self.ctx.volatile = True
        return F._current_date([])

    def _x_CurrentTimestamp(self, n: exp.Expression, s: Scope, g: AggState | None) -> Expr:
        self.ctx.volatile = True
        return F._now([])

    def _x_Tuple(self, n: exp.Tuple, s: Scope, g: AggState | None) -> Expr:
        raise NotSupportedError("row values (tuples) are not supported")

    def _x_Star(self, n: exp.Star, s: Scope, g: AggState | None) -> Expr:
        raise BindError("* is only allowed in the select list or count(*)")

    def _function(self, node: exp.Func, scope: Scope, agg: AggState | None) -> Expr:
        name = node.name if isinstance(node, exp.Anonymous) else node.sql_name().lower()
        name = _FUNC_ALIASES.get(name.lower(), name.lower())
        if name in F.AGGREGATES:
            raise BindError(f"aggregate function {name}() is not allowed here")
        if name in F.WINDOW_ONLY:
            raise BindError(f"window function {name}() requires an OVER clause")
        args = [self.expr(a, scope, agg) for a in _func_args(node)]
        if name in F.VOLATILE:
            self.ctx.volatile = True
        return F.scalar_function(name, args)

    def _aggregate(self, node: exp.Expression, scope: Scope, agg: AggState) -> Expr:
        key = node.sql(dialect="duckdb")
        if key in agg.seen:
            return agg.seen[key]
        filt: exp.Expression | None = None
        if isinstance(node, exp.Filter):
            filt = node.expression.this if isinstance(node.expression, exp.Where) \
                else node.expression
            node = node.this
        name = node.name.lower() if isinstance(node, exp.Anonymous) else node.sql_name().lower()
        name = F.canonical_agg(_FUNC_ALIASES.get(name, name))
        distinct = False
        args = _func_args(node)
        order_items: list[exp.Ordered] = []
        if args and isinstance(args[0], exp.Order):
            order_items = list(args[0].expressions)
            args = [args[0].this] + args[1:]
        if args and isinstance(args[0], exp.Distinct):
            distinct = True
            args = list(args[0].expressions) + args[1:]
        extra = None
        if name == "count" and (not args or isinstance(args[0], exp.Star)):
            name, args = "count_star", []
        if name in ("string_agg",):
            sep = self.expr(args[1], scope) if len(args) > 1 else lit(",")
            if not isinstance(sep, Lit):
                raise NotSupportedError("string_agg separator must be a constant")
            extra = sep.value
            args = args[:1]
        if name in ("quantile_cont", "quantile_disc"):
            if len(args) < 2:
                raise BindError(f"{name} needs a quantile argument")
            q = self.expr(args[1], scope)
            if not isinstance(q, Lit):
                raise NotSupportedError("quantile must be a constant")
            extra = float(q.value)
            args = args[:1]
        if name == "median":
            name, extra = "quantile_cont", 0.5
        if len(args) > 1:
            raise NotSupportedError(f"{name}() with {len(args)} arguments is not supported")
        cond = F._bool(self.expr(filt, scope)) if filt is not None else None
        if cond is not None and contains_aggregate(filt):
            raise BindError("aggregate functions are not allowed in FILTER")
        if cond is not None and name == "count_star":
            name, args = "count", [exp.Literal.number(1)]
        arg_id = None
        t: pa.DataType = pa.null()
        if args:
            e = self.expr(args[0], scope)
            if contains_aggregate(args[0]):
                raise BindError("aggregate function calls cannot be nested")
            if name in ("avg",) and pa.types.is_decimal(e.type):
                e = cast(e, pa.float64())
            if name in ("stddev_samp", "stddev_pop", "var_samp", "var_pop") and \
                    not pa.types.is_floating(e.type):
                e = cast(e, pa.float64())
            if name == "string_agg":
                e = F._str(e)
            if name in ("bool_and", "bool_or"):
                e = F._bool(e)
            if cond is not None:
                e = call("if_else", [call("coalesce", [cond, lit(False)]), e,
                                     Lit(None, e.type)])
            arg_id = new_id()
            agg.pre[arg_id] = e
            t = e.type
        order: list[tuple[str, bool, bool]] = []
        if order_items and name == "any_value":
            raise NotSupportedError(f"{name}(... ORDER BY ...) is not supported")
        if order_items and name in ("string_agg", "list"):
            for o in order_items:
                oe = self.expr(o.this, scope)
                oid = new_id()
                agg.pre[oid] = oe
                order.append((oid, bool(o.args.get("desc")), bool(o.args.get("nulls_first"))))
        if distinct and name in ("quantile_cont", "quantile_disc"):
            raise NotSupportedError(f"{name}(DISTINCT ...) is not supported")
        try:
            rt = F.agg_type(name, t)
        except SqlTypeError:
            raise
        if name not in _AGG_FUNCS:
            raise NotSupportedError(f"aggregate {name}() is not supported")
        c = AggCall(new_id(), name, arg_id, rt, distinct, extra, order)
        agg.aggs.append(c)
        out = Col(c.id, rt)
        agg.seen[key] = out
        return out


_AGG_FUNCS = {"count", "count_star", "sum", "avg", "min", "max", "stddev_samp", "stddev_pop",
              "var_samp", "var_pop", "quantile_cont", "quantile_disc", "string_agg",
              "bool_and", "bool_or", "any_value", "list", "approx_count_distinct", "product"}

_FUNC_ALIASES = {
    "str_position": "strpos", "strposition": "strpos", "timestamp_trunc": "date_trunc",
    "regexp_like": "regexp_matches", "pow": "power", "group_concat": "string_agg",
    "percentile_cont": "quantile_cont", "percentile_disc": "quantile_disc",
    "logical_and": "bool_and", "logical_or": "bool_or", "array_agg": "list",
    "stddev": "stddev_samp", "variance": "var_samp", "variance_pop": "var_pop",
    "variance_samp": "var_samp", "char_length": "length",
    "length": "length", "avg": "avg", "ceil": "ceil", "approx_distinct": "approx_count_distinct",
    "regexp_replace": "regexp_replace", "concat_ws": "concat_ws", "day_of_week": "dayofweek",
    "day_of_month": "day", "dayofmonth": "day", "any_value": "any_value", "ln": "ln",
    "date_part": "date_part", "datetrunc": "date_trunc", "substr": "substring",
    "starts_with": "starts_with", "startswith": "starts_with", "to_date": "to_date",
    "current_date": "current_date",
}


def _func_args(node: exp.Expression) -> list[exp.Expression]:
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


def _reference_count(node: exp.Expression, name: str) -> int:
    return sum(1 for t in node.find_all(exp.Table) if t.name.lower() == name and
               not t.text("db"))


def _volatile(node: exp.Expression) -> bool:
    return any(isinstance(f, (exp.Rand,)) for f in node.find_all(exp.Func))


def _references(node: exp.Expression, name: str) -> bool:
    """Does ``node`` read a table (not schema-qualified) called ``name``?"""
    return any(t.name.lower() == name and not t.text("db") for t in node.find_all(exp.Table))


def _replace_aliases(node: exp.Expression, items: list[tuple[str, exp.Expression]],
                     scope: Scope) -> exp.Expression:
    """Select-list aliases used in QUALIFY, replaced by the expressions they name."""
    aliases = {name.lower(): e for name, e in items}
    inputs = {c.name.lower() for c in scope.cols}

    def repl(n: exp.Expression) -> exp.Expression:
        if isinstance(n, exp.Column) and not n.table and n.name.lower() in aliases and \
                n.name.lower() not in inputs:
            return aliases[n.name.lower()].copy()
        return n
    return node.copy().transform(repl)


def _split_and(node: exp.Expression) -> list[exp.Expression]:
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.And):
        return _split_and(node.this) + _split_and(node.expression)
    return [node]


def _auto_name(e: exp.Expression) -> str:
    if isinstance(e, exp.Column):
        return e.name
    return e.sql(dialect="duckdb")


def _rename(cols: list[ColInfo], qual: str | None, names: list[str]) -> list[ColInfo]:
    out = []
    for i, c in enumerate(cols):
        out.append(ColInfo(names[i] if i < len(names) else c.name, c.id, c.type,
                           qual if qual is not None else c.qual, c.hidden))
    return out


def _conform(b: Bound, types: list[pa.DataType]) -> Node:
    if all(c.type == t for c, t in zip(b.cols, types, strict=True)) and \
            b.plan.out_ids() == [c.id for c in b.cols]:
        return b.plan
    return Project(b.plan, [(new_id(), cast(Col(c.id, c.type), t))
                            for c, t in zip(b.cols, types, strict=True)])


def _in_subquery_value(x: Expr, values: SubqueryValue) -> Expr:
    from .expr import Call
    return Call("is_in", (x,), values, pa.bool_())


def _glob_regex(pattern: str) -> str:
    """GLOB (``*``, ``?``, ``[...]``) as an anchored RE2 pattern."""
    import re
    out, i = ["^"], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        elif ch == "[":
            j = pattern.find("]", i + 1)
            if j < 0:
                out.append(re.escape(ch))
            else:
                body = pattern[i + 1:j]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = j
        else:
            out.append(re.escape(ch))
        i += 1
    out.append("$")
    return "".join(out)


def _translate_escape(pattern: str, esc: str) -> str:
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == esc and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            out.append("\\" + nxt if nxt in "%_\\" else nxt)
            i += 2
            continue
        if ch == "\\":
            out.append("\\\\")
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def _interval(n: float, unit: str) -> Any:
    unit = unit.lower().rstrip("s")
    months = days = nanos = 0
    if unit in ("year", "yr", "y"):
        months = int(n * 12)
    elif unit in ("month", "mon"):
        months = int(n)
    elif unit in ("week", "w"):
        days = int(n * 7)
    elif unit in ("day", "d"):
        days = int(n)
    elif unit in ("hour", "h", "hr"):
        nanos = int(n * 3600 * 10**9)
    elif unit in ("minute", "min", "m"):
        nanos = int(n * 60 * 10**9)
    elif unit in ("second", "sec"):
        nanos = int(n * 10**9)
    elif unit in ("millisecond", "m"):
        nanos = int(n * 10**6)
    elif unit == "quarter":
        months = int(n * 3)
    else:
        raise BindError(f"unknown interval unit {unit!r}")
    return pa.scalar((months, days, nanos), pa.month_day_nano_interval()).as_py()


__all__ = ["Binder", "Bound", "Context", "new_id", "dt", "conjuncts"]


def _distinct_on(sel: exp.Select) -> exp.Select:
    """``SELECT DISTINCT ON (k) ... ORDER BY o`` as ``SELECT ... QUALIFY row_number() OVER
    (PARTITION BY k ORDER BY o) = 1 ORDER BY o``: the first row of each ``k`` in ``o``'s
    order (an arbitrary one without ORDER BY), as in PostgreSQL and DuckDB."""
    sel = sel.copy()
    on = sel.args["distinct"].args["on"]
    items = list(sel.expressions)
    aliases = {e.alias: e.this for e in items if isinstance(e, exp.Alias)}

    def resolve(x: exp.Expression) -> exp.Expression:
        if isinstance(x, exp.Literal) and x.is_int and 1 <= int(x.name) <= len(items):
            x = items[int(x.name) - 1]
            return (x.this if isinstance(x, exp.Alias) else x).copy()
        if isinstance(x, exp.Column) and not x.table and x.name in aliases:
            return aliases[x.name].copy()
        return x.copy()

    keys = [resolve(k) for k in (on.expressions if isinstance(on, exp.Tuple) else [on])]
    order = sel.args.get("order")
    ordered = [exp.Ordered(this=resolve(o.this), desc=o.args.get("desc"),
                           nulls_first=o.args.get("nulls_first"))
               for o in (order.expressions if order is not None else [])]
    window = exp.Window(this=exp.RowNumber(), partition_by=keys,
                        order=exp.Order(expressions=ordered) if ordered else None)
    first: exp.Expression = exp.EQ(this=window, expression=exp.Literal.number(1))
    if sel.args.get("qualify") is not None:
        first = exp.And(this=sel.args["qualify"].this, expression=first)
    sel.set("distinct", None)
    sel.set("qualify", exp.Qualify(this=first))
    return sel


def _order_all(order: exp.Order | None, width: int) -> exp.Order | None:
    """DuckDB's ``ORDER BY ALL [DESC]``: every output column, left to right."""
    if order is None or len(order.expressions) != 1:
        return order
    o = order.expressions[0]
    e = o.this
    if not ((isinstance(e, exp.Var) or (isinstance(e, exp.Column) and not e.table
                                          and not e.this.quoted))
            and e.name.upper() == "ALL"):
        return order
    return exp.Order(expressions=[
        exp.Ordered(this=exp.Literal.number(i + 1), desc=o.args.get("desc"),
                    nulls_first=o.args.get("nulls_first")) for i in range(width)])
