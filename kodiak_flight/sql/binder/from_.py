"""FROM: stored tables, views, files and table functions (``table_functions``), CTEs (shared and recursive),
subqueries and VALUES in FROM, and joins (ON, USING, NATURAL, comma joins)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import pyarrow as pa
from sqlglot import exp

from .. import functions as F
from ..access import definer_rights, secured
from ..access.policies import MARK, WriteTarget
from ..catalog import system
from ..dialect import parse
from ..errors import BindError, NotSupportedError, PermissionDenied, suggest
from ..expr import Col, Expr, and_all
from ..files import dataset, format_from_extension
from ..functions import table_function
from ..functions.series import SeriesCall
from ..pl import table_functions
from ..plan import (
    FileScan,
    Filter,
    Join,
    Node,
    Project,
    RecursiveCTE,
    Scan,
    Shared,
    SharedPlan,
    Values,
    WorkTable,
)
from ..scope import ColInfo, Scope
from ..secrets.store import source_secret
from ..stats import TableStats
from ..triggers.body import TRANSITION
from ..types import normalize
from .calls import typed_name
from .context import BinderState, new_id, new_key
from .correlated import join_back
from .naming import unique_names
from .sample import sampled
from .setops import conform


class FromBinder(BinderState):
    """Binds WITH and the FROM clause into the block's input plan and scope."""

    @contextmanager
    def with_clause(self, node: exp.Expression) -> Iterator[None]:
        """Make ``node``'s CTEs visible while it binds; mark the recursive ones and those
        read twice or more (computed once, shared)."""
        with_ = node.args.get("with_")
        if with_ is None:
            yield
            return
        recursive = bool(with_.args.get("recursive"))
        frame: dict[str, exp.Expression] = {}
        self.ctx.ctes.append(frame)
        try:
            for cte in with_.expressions:
                name = cte.alias_or_name.lower()
                if name in frame:
                    raise BindError(f"WITH query name {name!r} is given more than once")
                if recursive and _references(cte.this, name):
                    cte = cte.copy()
                    cte.meta["recursive"] = True
                elif _reference_count(node, name) > 1:
                    cte = cte.copy()
                    cte.meta["shared"] = True  # referenced twice or more: computed once
                    # (so each reference sees the same random() values, as PostgreSQL's)
                frame[name] = cte
            yield
        finally:
            self.ctx.ctes.pop()

    def bind_from(self, sel: exp.Select) -> tuple[Node, Scope]:
        frm = sel.args.get("from_")
        if frm is None:
            plan: Node = Values(pa.table({new_id(): pa.array([0], pa.int32())}))
            if self.domain is not None:  # a correlated subquery: one row per domain row
                plan = self.domain.ref()
            return plan, Scope([], self.outer)
        if self.domain is not None and isinstance(frm.this, exp.Unnest):
            # unnest(outer.list) in a correlated subquery: once per row of the domain
            plan, cols = self.unnest_join(self.domain.ref(), [], frm.this, *item_alias(frm.this))
        else:
            plan, cols = self.from_item(frm.this)
            if self.domain is not None:  # (first, so later ON conditions can read it)
                plan = Join(self.domain.ref(), plan, "cross")
        for j in sel.args.get("joins") or []:
            if isinstance(j.this, exp.Unnest):  # reads the columns left of it (lateral)
                plan, cols = self.lateral_unnest(plan, cols, j)
                continue
            if isinstance(j.this, exp.Lateral) and isinstance(j.this.this, exp.Subquery):
                plan, cols = self.lateral_join(plan, cols, j)
                continue
            rplan, rcols = self.from_item(j.this)
            plan, cols = self.join(plan, cols, rplan, rcols, j)
        return plan, Scope(cols, self.outer)

    def from_item(self, item: exp.Expression) -> tuple[Node, list[ColInfo]]:
        if isinstance(item, exp.TableAlias):  # pipe syntax "|> AS name" reads CTE "name"
            item = exp.Table(this=item.this.copy())
        if item.args.get("pivots"):
            item = self.pivoted_item(item)
        sample = item.args.get("sample")
        if sample is not None:
            item = item.copy()
            item.set("sample", None)
            plan, cols = self.from_item(item)
            return sampled(plan, sample), cols
        alias_name, col_aliases = item_alias(item)
        if isinstance(item, exp.Table):
            return self._table_item(item, alias_name, col_aliases)
        if isinstance(item, exp.Subquery):
            if item.args.get("lateral"):
                raise NotSupportedError("LATERAL subqueries are not supported")
            if isinstance(item.this, (exp.Table, exp.Subquery)):  # (a JOIN b ON ...)
                plan, cols = self._parenthesised(item.this)
                return plan, _rename(cols, alias_name, col_aliases)
            bound = self.nested(None).bind_query(item.this)
            exact = item.args["alias"].meta.get("exact_columns") if item.args.get("alias") \
                else None
            if exact and len([c for c in bound.cols if not c.hidden]) != len(col_aliases):
                raise BindError(exact)  # (a rewrite's derived table: ANY / ALL's one column)
            return bound.plan, _rename(bound.cols, alias_name, col_aliases, unique=True)
        if isinstance(item, exp.Values):
            bound = self.bind_values(item)
            return bound.plan, _rename(bound.cols, alias_name, col_aliases, unique=True)
        if isinstance(item, exp.Unnest):
            return self.bind_unnest_from(item, alias_name, col_aliases)
        if isinstance(item, exp.Lateral):
            raise NotSupportedError("LATERAL is not supported")
        raise NotSupportedError(f"{item.key.upper()} in FROM is not supported")

    def lateral_join(self, plan: Node, cols: list[ColInfo], j: exp.Join
                     ) -> tuple[Node, list[ColInfo]]:
        """``FROM t, LATERAL (SELECT ... t.x ...) AS s`` (or CROSS / [LEFT] JOIN LATERAL
        ... ON true): the subquery bound once over the distinct values of the columns it
        reads from the left (its domain, as a correlated subquery is), joined back on
        them: an inner join, or a left join keeping left rows it gives nothing for."""
        on, side = j.args.get("on"), (j.side or "").upper()
        if isinstance(on, exp.Boolean) and on.this:
            on = None
        if j.args.get("using") or side not in ("", "LEFT") or (side and on is not None):
            raise NotSupportedError("a LATERAL subquery joins by a comma, CROSS JOIN, "
                                    "JOIN ... ON or LEFT JOIN ... ON true only")
        item = j.this
        name, col_aliases = item_alias(item)
        q = item.this.this
        scope = Scope(cols, self.outer)
        d = self.discover(q, scope, "lateral")  # type: ignore[attr-defined]
        if not d.refs:  # reads nothing from the left: a plain join
            rcols = _rename(d.bound.cols, name, col_aliases, unique=True)
            return self.join(plan, cols, d.bound.plan, rcols, j)
        saved, self.plan = self.plan, plan
        try:
            outer: list[Expr] = [Col(r, d.cols[r].type) for r in d.refs]
            bound, kids = self.over_domain(d, q, scope, "lateral", outer)  # type: ignore
            joined: Node = join_back(self.plan, bound.plan, outer, kids,
                                     "left" if side else "inner")
        finally:
            self.plan = saved
        cols = cols + _rename(bound.cols, name, col_aliases, unique=True)
        if on is not None:  # an inner join's condition: the joined rows it holds for
            cond = self.expr(on, Scope(cols, self.outer))  # type: ignore[attr-defined]
            joined = Filter(joined, F.as_condition(cond))
        return joined, cols

    def _parenthesised(self, item: exp.Expression) -> tuple[Node, list[ColInfo]]:
        """``(a CROSS JOIN b)``, ``(a JOIN b ON ...)`` in FROM: the joined relation, whose
        columns keep their own qualifiers (unless the parentheses carry an alias)."""
        inner = item.copy()
        joins = inner.args.get("joins") or []
        inner.set("joins", None)
        plan, cols = self.from_item(inner)
        for j in joins:
            rplan, rcols = self.from_item(j.this)
            plan, cols = self.join(plan, cols, rplan, rcols, j)
        return plan, cols

    def _table_item(self, item: exp.Table, alias_name: str | None, col_aliases: list[str]
                    ) -> tuple[Node, list[ColInfo]]:
        """A name in FROM: a table function or file, a recursive CTE's work table, a CTE,
        a view or a stored table."""
        fn = table_function(item.this)
        if isinstance(fn, SeriesCall):
            return self.bind_series(fn, alias_name, col_aliases)
        if fn is not None:
            return self._bind_file(*fn, alias_name, col_aliases)
        if isinstance(item.this, exp.Anonymous):  # a user table function (RETURNS TABLE)
            return table_functions.bind_call(self, item, alias_name, self.from_item)
        if isinstance(item.this, exp.Func):
            raise NotSupportedError(f"table function {typed_name(item.this)}() is not supported")
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
        if self.ctx.transition is not None and name == TRANSITION and not item.text("db"):
            cols = [ColInfo(f.name, new_id(), f.type, qual) for f in self.ctx.transition.schema]
            node = Values(self.ctx.transition.rename_columns([c.id for c in cols]))
            return node, _rename(cols, qual, col_aliases)
        cte = None if item.text("db") else self._cte(name)
        if cte is not None:
            return self._cte_item(cte, name, qual, col_aliases)
        rel = self.ctx.resolve(item)
        if rel is None:
            names = [r.name for r in self.ctx.resolver.relations()]
            names += [k for f in self.ctx.ctes for k in f]
            raise BindError(f"table {item.sql(dialect='duckdb')!r} does not exist"
                            + suggest(name, names))
        target = item.meta.get(MARK)  # a write's target: its right was checked
        if not (isinstance(target, WriteTarget) and rel.kind == "table"):
            self.ctx.check_read(rel)
            target = WriteTarget(("select",))
        if rel.kind == "view":
            node, cols = self._bind_view(rel.view, qual, col_aliases)
        elif rel.kind == "system":
            node, cols = self._bind_system(rel.name, qual, col_aliases)
        else:
            node, cols = self._scan(rel.table, qual, col_aliases)
            node = secured(self, rel.table, node, cols, target.commands)
        if alias_name is None:
            cols = [replace(c, schema=rel.schema) for c in cols]
        return node, cols

    def _cte_item(self, cte: exp.Expression, name: str, qual: str, col_aliases: list[str]
                  ) -> tuple[Node, list[ColInfo]]:
        """A CTE read in FROM: bound afresh, or the one shared plan, or the recursion."""
        cte_cols = [c.name for c in cte.args["alias"].columns] \
            if cte.args.get("alias") is not None and cte.args["alias"].columns else []
        if cte.meta.get("recursive"):
            plan, cols = self._bind_recursive(cte, name, cte_cols)
            return plan, _rename(cols, qual, col_aliases)
        if cte.meta.get("shared"):
            holder = cte.meta.get("holder")
            if holder is None:
                bound = self.nested(None).bind_query(cte.this)
                holder = (new_key(), SharedPlan(bound.plan, name), bound.cols)
                cte.meta["holder"] = holder
            key, shared, bcols = holder
            cols = [ColInfo(c.name, new_id(), c.type, c.qual, c.hidden) for c in bcols]
            node = Shared(key, shared, [(c.id, c.type) for c in cols])
            return node, _rename(cols, qual, col_aliases or cte_cols, unique=True)
        bound = self.nested(None).bind_query(cte.this)
        return bound.plan, _rename(bound.cols, qual, col_aliases or cte_cols, unique=True)

    def _scan(self, info: Any, qual: str, col_aliases: list[str]
              ) -> tuple[Node, list[ColInfo]]:
        """A stored table: its columns, statistics and the columns an index leads with."""
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

    def _has_table(self, item: exp.Table) -> bool:
        try:
            return self.ctx.resolve(item) is not None
        except Exception:  # a file name is no valid table name (engine SchemaError)
            return False

    def _bind_system(self, name: str, qual: str, col_aliases: list[str]
                     ) -> tuple[Node, list[ColInfo]]:
        """A read-only system view (``information_schema.*``): its rows, computed now, so
        neither the plan nor its result is reused (some views show more than the catalog)."""
        table = system.table(name, self.ctx.resolver, self.view_schema)
        self.ctx.volatile = True
        cols = [ColInfo(col_aliases[i] if i < len(col_aliases) else f.name, new_id(), f.type,
                        qual) for i, f in enumerate(table.schema)]
        return Values(table.rename_columns([c.id for c in cols])), cols

    def view_schema(self, view: Any) -> pa.Schema | None:
        """A view's output columns, by binding it (None if it no longer binds, or its owner
        may no longer read what it reads)."""
        try:
            bound, names = self.bind_view_query(view)
        except (BindError, PermissionDenied):
            return None
        return pa.schema([pa.field(n, c.type) for n, c in zip(names, bound.cols,
                                                                strict=True)])

    def bind_view_query(self, view: Any) -> tuple[Any, list[str]]:
        """Bind a view's stored query in the schema it was defined in; (bound, names)."""
        if view.qualified in self.ctx.expanding:
            raise BindError(f"view {view.qualified!r} refers to itself")
        saved = (self.ctx.schema, self.ctx.ctes, self.ctx.recursive, self.ctx.legacy_names,
                 self.ctx.rights, self.ctx.invoker)
        self.ctx.schema, self.ctx.ctes, self.ctx.recursive = view.search_schema, [], {}
        self.ctx.invoker = self.ctx.invoker or self.ctx.rights
        self.ctx.rights = definer_rights(self.ctx.rights, view.owner, self.ctx.snap)
        # a view stored without its column names predates names like DuckDB's: its query
        # is named (and its subqueries' columns referred to) as it was then
        self.ctx.legacy_names = not view.named
        self.ctx.expanding.append(view.qualified)
        try:
            bound = self.nested(None).bind_query(parse(view.sql)[0])
        except BindError as e:
            raise BindError(f"view {view.qualified!r} no longer binds: {e}") from None
        finally:
            self.ctx.expanding.pop()
            (self.ctx.schema, self.ctx.ctes, self.ctx.recursive,
             self.ctx.legacy_names, self.ctx.rights, self.ctx.invoker) = saved
        names = list(view.columns) or [c.name for c in bound.cols]
        return bound, unique_names(names) if view.named else names

    def _bind_file(self, path: str, fmt: str, opts: dict[str, Any], alias: str | None,
                   col_aliases: list[str]) -> tuple[Node, list[ColInfo]]:
        qual = alias or os.path.splitext(os.path.basename(path))[0]
        source_secret(self.ctx, path, opts)  # checked; local files do not use it
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
        bound, _ = self.bind_view_query(view)
        return bound.plan, _rename(bound.cols, qual, col_aliases or list(view.columns),
                                   unique=view.named)

    def _bind_recursive(self, cte: exp.CTE, name: str, names: list[str]
                        ) -> tuple[Node, list[ColInfo]]:
        body = cte.this
        if not isinstance(body, exp.Union):
            raise NotSupportedError(f"recursive CTE {name!r} must be <anchor> UNION [ALL] "
                                    "<recursive term>")
        if _references(body.this, name.lower()):
            raise NotSupportedError(f"the anchor of recursive CTE {name!r} must not refer to "
                                    "it")
        anchor = self.nested(None).bind_query(body.this)
        names = names or [c.name for c in anchor.cols]
        if len(names) != len(anchor.cols):
            raise BindError(f"recursive CTE {name!r} names {len(names)} columns but its anchor "
                            f"returns {len(anchor.cols)}")
        types = [c.type if not pa.types.is_null(c.type) else pa.int32() for c in anchor.cols]
        key = new_key()
        saved = self.ctx.recursive.get(name.lower())
        self.ctx.recursive[name.lower()] = (key, names, types)
        try:
            step = self.nested(None).bind_query(body.expression)
        finally:
            if saved is None:
                self.ctx.recursive.pop(name.lower(), None)
            else:
                self.ctx.recursive[name.lower()] = saved
        if len(step.cols) != len(types):
            raise BindError(f"recursive CTE {name!r}: the recursive term returns "
                            f"{len(step.cols)} columns, the anchor {len(types)}")
        aplan = conform(anchor, types)
        splan = conform(step, types)
        node = RecursiveCTE(key, aplan, splan, not bool(body.args.get("distinct", True)))
        cols = [ColInfo(n, i, t) for n, (i, t) in zip(names, aplan.output, strict=True)]
        return node, cols

    def _stats(self, info: Any) -> Any:
        if self.ctx.stats is None:
            return None
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
        if self.domain is not None and jt in ("right", "full"):
            raise NotSupportedError("RIGHT / FULL joins in a correlated subquery are not "
                                    "supported")
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
            saved = self.plan  # a correlated subquery in ON joins onto the joined rows
            self.plan = Join(lplan, rplan, "cross") if jt in ("inner", "cross") else None
            start = self.plan
            try:
                cond = F.as_condition(self.expr(on, scope))
                joined = self.plan
            finally:
                self.plan = saved
            if joined is not start:
                assert joined is not None
                return Filter(joined, cond), out_cols
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


def item_alias(item: exp.Expression) -> tuple[str | None, list[str]]:
    """A FROM item's alias and its column aliases (``AS s(a, b)``), where written."""
    alias = item.args.get("alias")
    name = alias.name if alias is not None and alias.name else None
    columns = [c.name for c in alias.columns] if alias is not None and \
        alias.args.get("columns") else []
    return name, columns


def _rename(cols: list[ColInfo], qual: str | None, names: list[str], unique: bool = False
            ) -> list[ColInfo]:
    """``cols`` under qualifier ``qual``, the first ones renamed to ``names``; ``unique``
    (a subquery, CTE or VALUES: one relation) makes repeated names ``a``, ``a_1``, as DuckDB
    does."""
    shown = sum(1 for c in cols if not c.hidden)
    if len(names) > shown:
        raise BindError(f"{qual or 'the subquery'} has {shown} column"
                        f"{'s' if shown != 1 else ''} but {len(names)} column names were given")
    new = [names[i] if i < len(names) else c.name for i, c in enumerate(cols)]
    if unique:
        new = unique_names(new)
    return [ColInfo(n, c.id, c.type, qual if qual is not None else c.qual, c.hidden)
            for n, c in zip(new, cols, strict=True)]


def _reference_count(node: exp.Expression, name: str) -> int:
    return sum(1 for t in node.find_all(exp.Table) if t.name.lower() == name and
               not t.text("db"))


def _references(node: exp.Expression, name: str) -> bool:
    """Does ``node`` read a table (not schema-qualified) called ``name``?"""
    return any(t.name.lower() == name and not t.text("db") for t in node.find_all(exp.Table))
