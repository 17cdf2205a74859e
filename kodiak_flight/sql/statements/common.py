"""Helpers the DDL and DML statements share: target tables, constants, row expressions,
WHERE predicates for the engine, RETURNING, and casting data to a table's types."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.acero as ac
import pyarrow.compute as pc
from sqlglot import exp

from ..binder import Binder, Context
from ..dialect import Grizzly, parse
from ..errors import BindError, NotSupportedError, suggest
from ..executor import Executor
from ..expr import Col, Expr, Lit, cast, cast_array, substitute, to_arrow
from ..functions import as_condition
from ..optimizer import optimize, to_engine_predicate
from ..scope import ColInfo, Scope
from ..types import normalize, sql_name
from .registry import Statement


class RowWrite(Statement):
    """INSERT, UPDATE or DELETE: a write that answers with rows when it has RETURNING."""

    def returns_rows(self, node: exp.Expression) -> bool:
        return bool(node.args.get("returning"))

    def describe(self, ctx: Context, node: exp.Expression) -> pa.Schema | None:
        return returning_schema(ctx, node)


def existing_table(ctx: Context, t: exp.Table, right: str) -> Any:
    """The engine table a statement changes with ``right`` ("insert", "update", "delete",
    "create" for DDL): views and system views are refused by name, a missing right too."""
    return ctx.table(t, right)


def write_right(node: exp.Expression) -> str:
    """The right a row write needs on its target."""
    return {exp.Insert: "insert", exp.Update: "update", exp.Delete: "delete"}[type(node)]


def constant(ctx: Context, node: exp.Expression) -> Any:
    e = Binder(ctx).expr(node, Scope([]))
    if not isinstance(e, Lit):
        raise NotSupportedError(f"{node.sql()} must be a constant")
    return e


def default_value(ctx: Context, node: exp.Expression) -> Any:
    """A column's DEFAULT, which the engine keeps as a value: a constant. ``now()``,
    ``random()`` and the like are refused, not frozen at their value when the table is
    created or altered."""
    before, ctx.volatile = ctx.volatile, False
    try:
        v = constant(ctx, node)
        if ctx.volatile:
            raise NotSupportedError(f"DEFAULT {node.sql(dialect='duckdb')} is not supported: "
                                    "a default is a constant (this would be computed once, "
                                    "now, not for each row)")
    finally:
        ctx.volatile = ctx.volatile or before
    return v


def row_scope(info: Any, qual: str) -> tuple[Scope, dict[str, Expr]]:
    """Scope whose column ids are the table's real column names, plus view-cast fixes."""
    cols, fixes = [], {}
    for f in info.schema:
        t = normalize(f.type)
        cols.append(ColInfo(f.name, f.name, t, qual))
        if t != f.type:
            fixes[f.name] = cast(Col(f.name, f.type), t)
    return Scope(cols), fixes


def compile_row_expr(ctx: Context, e: Expr, fixes: dict[str, Expr]) -> pc.Expression:
    ex = Executor(ctx.snap)
    return to_arrow(substitute(ex.resolve(e), fixes))


def where_predicate(ctx: Context, info: Any, node: exp.Expression, qual: str) -> Any:
    where = node.args.get("where")
    if where is None:
        return None
    scope, fixes = row_scope(info, qual)
    cond = as_condition(Binder(ctx).expr(where.this, scope))
    resolved = Executor(ctx.snap).resolve(cond)
    names = {f.name: f.name for f in info.schema}
    ep = to_engine_predicate(resolved, names)
    if ep is not None:
        return ep
    if isinstance(resolved, Lit):
        return pc.scalar(bool(resolved.value))
    return to_arrow(substitute(resolved, fixes))


def join_query(node: exp.Expression, items: str, others: list[exp.Expression]) -> exp.Select:
    """``SELECT items FROM <target>, <others> [WHERE ...]`` as a parsed query."""
    frm = ", ".join([node.this.sql(dialect=Grizzly)]
                    + [o.sql(dialect=Grizzly) for o in others])
    where = node.args.get("where")
    text = f"SELECT {items} FROM {frm}"
    if where is not None:
        text += f" WHERE {where.this.sql(dialect=Grizzly)}"
    return parse(text)[0]


def run_query(ctx: Context, query: exp.Expression) -> pa.Table:
    bound = Binder(ctx).bind_query(query)
    return Executor(ctx.snap).table(optimize(bound.plan))


def returning(ctx: Context, info: Any, node: exp.Expression
               ) -> tuple[list[pc.Expression], list[str]] | None:
    """The compiled ``RETURNING`` items (None without the clause): expressions over the
    target's columns, ``*`` included. Bound before the statement writes anything, so a bad
    item fails it with nothing changed, inside a transaction too."""
    ret = node.args.get("returning")
    if ret is None:
        return None
    target = node.this.this if isinstance(node.this, exp.Schema) else node.this
    scope, fixes = row_scope(info, target.alias_or_name)
    binder = Binder(ctx)
    items = binder.expand_select(exp.Select(expressions=ret.expressions), scope)
    return ([compile_row_expr(ctx, binder.expr(e, scope), fixes) for _, e in items],
            [name for name, _ in items])


def project(rows: pa.Table, returning: tuple[list[pc.Expression], list[str]]) -> pa.Table:
    """The RETURNING result over the statement's rows (inserted, updated as they are now,
    or deleted)."""
    exprs, names = returning
    return ac.Declaration.from_sequence([
        ac.Declaration("table_source", ac.TableSourceNodeOptions(rows)),
        ac.Declaration("project", ac.ProjectNodeOptions(exprs, names)),
    ]).to_table(use_threads=False)


def returning_schema(ctx: Context, node: exp.Expression) -> pa.Schema | None:
    """The result schema of an INSERT/UPDATE/DELETE ... RETURNING (None without one)."""
    if not isinstance(node, (exp.Insert, exp.Update, exp.Delete)) or \
            not node.args.get("returning"):
        return None
    target = node.this.this if isinstance(node.this, exp.Schema) else node.this
    info = existing_table(ctx, target, write_right(node))
    ret = returning(ctx, info, node)
    assert ret is not None
    return project(info.schema.empty_table(), ret).schema


def set_clauses(info: Any, clauses: list[exp.Expression], last_wins: bool = False
                ) -> dict[str, exp.Expression]:
    """``SET col = expr, ...`` as each column's expression, every column one of ``info``'s
    and named once (or, with ``last_wins``, its last assignment kept, as SQLite keeps it)."""
    names = list(info.schema.names)
    sets: dict[str, exp.Expression] = {}
    for col, value in assignments(clauses):
        if col not in names:
            raise BindError(f"column {col!r} not found in {info.name}" + suggest(col, names))
        if col in sets and not last_wins:
            raise BindError(f"column {col!r} is assigned more than once")
        sets[col] = value
    return sets


def assignments(clauses: list[exp.Expression]) -> list[tuple[str, exp.Expression]]:
    """``SET a = x, (b, c) = (y, z)`` as (column, expression) pairs, a list of columns
    matched with a list of values (PostgreSQL's form)."""
    out: list[tuple[str, exp.Expression]] = []
    for a in clauses:
        if not isinstance(a.this, exp.Tuple):
            out.append((a.this.name, a.expression))
            continue
        cols, values = a.this.expressions, a.expression
        if not isinstance(values, exp.Tuple) or len(values.expressions) != len(cols):
            raise BindError(f"SET ({', '.join(c.name for c in cols)}) = ... needs a list of "
                            f"{len(cols)} values in parentheses")
        out.extend((c.name, v) for c, v in zip(cols, values.expressions, strict=True))
    return out


def quoted(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql(dialect=Grizzly)


def cast_table(data: pa.Table, types: list[pa.DataType]) -> pa.Table:
    cols = []
    for c, t in zip(data.columns, types, strict=True):
        if c.type != t:
            try:
                c = cast_array(c, t)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as e:
                why = str(e).splitlines()[0]  # a value out of range says which; no cast, not
                detail = "" if isinstance(e, pa.ArrowNotImplementedError | pa.ArrowTypeError) \
                    else f": {why}"
                raise BindError(f"cannot insert {sql_name(c.type)} values into a "
                                f"{sql_name(t)} column{detail}") from None
        cols.append(c)
    return pa.Table.from_arrays(cols, names=data.column_names)


