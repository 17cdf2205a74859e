"""DDL and DML: statements that change the catalog or the data, run inside a transaction.

Each function takes the engine transaction and returns the affected row count (-1 where
SQL has none, e.g. CREATE TABLE). Data flows as Arrow tables; WHERE and SET expressions
are compiled to ``engine.predicate`` / ``pc.Expression`` and evaluated by the engine.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from engine import errors

from . import catalog as C
from .binder import Binder, Context
from .dialect import Grizzly, parse
from .errors import BindError, NotSupportedError, SqlTypeError, suggest
from .executor import Executor
from .expr import Call, Col, Expr, Lit, cast, substitute, to_arrow
from .functions import _bool, coerce_literal
from .optimizer import optimize, to_engine_predicate
from .scope import ColInfo, Scope
from .types import from_sql, normalize, sql_name


def _table_name(ctx: Context, t: exp.Table) -> str:
    if ctx.temp_prefix and t.text("db").lower() == "temp":
        return ctx.temp_prefix + t.name
    if t.text("db"):
        return f"{t.text('db')}.{t.name}"
    return f"{ctx.schema}.{t.name}"


def _existing(ctx: Context, t: exp.Table) -> Any:
    name = ctx.table_name(t)
    if not ctx.snap.has_table(name):
        names = [n.split(".", 1)[1] for n in ctx.snap.tables()]
        raise BindError(f"table {t.name!r} does not exist" + suggest(t.name, names))
    return ctx.snap.table(name)


def _const(ctx: Context, node: exp.Expression) -> Any:
    e = Binder(ctx).expr(node, Scope([]))
    if not isinstance(e, Lit):
        raise NotSupportedError(f"{node.sql()} must be a constant")
    return e


# ---------------------------------------------------------------------------- DDL


def create(tx: Any, ctx: Context, node: exp.Create) -> int:
    kind = (node.args.get("kind") or "").upper()
    exists = bool(node.args.get("exists"))
    if kind == "SCHEMA":
        name = node.this.text("db") or node.this.name
        if name in C.dropped_schemas(ctx.snap):
            C.mark_schema_dropped(tx, name, False)
            tx.create_schema(name, if_not_exists=True)
            return -1
        tx.create_schema(name, if_not_exists=exists)
        return -1
    if kind == "VIEW":
        return create_view(tx, ctx, node)
    if kind == "INDEX":
        idx = node.this
        table = idx.args["table"]
        info = _existing(ctx, table)
        cols = [o.this.name if isinstance(o, exp.Ordered) else o.name
                for o in idx.args["params"].args.get("columns") or []]
        for c in cols:
            if c not in info.schema.names:
                raise BindError(f"column {c!r} not found in {info.name}"
                                + suggest(c, info.schema.names))
        tx.create_index(idx.name, info.name, cols, unique=bool(node.args.get("unique")),
                        if_not_exists=exists)
        return -1
    if kind != "TABLE":
        raise NotSupportedError(f"CREATE {kind} is not supported")
    replace = bool(node.args.get("replace"))
    if replace and exists:
        raise BindError("CREATE OR REPLACE and IF NOT EXISTS cannot be combined")
    if _is_temporary(node):
        node = _as_temporary(tx, ctx, node)
    target = node.this
    name = _table_name(ctx, target.this if isinstance(target, exp.Schema) else target)
    _check_schema(ctx, name)
    if ctx.find_view(_as_table_ref(name)) is not None:
        raise errors.AlreadyExists(f"{name!r} already exists as a view")
    if isinstance(target, exp.Schema):
        if replace and ctx.snap.has_table(name):
            tx.drop_table(name)
        return _create_table(tx, ctx, target, exists)
    query = node.args.get("expression")
    if query is None:
        raise BindError("CREATE TABLE needs columns or AS SELECT")
    if exists and ctx.snap.has_table(name):
        return 0
    bound = Binder(ctx).bind_query(query)
    plan = optimize(bound.plan)
    data = Executor(ctx.snap).table(plan)  # read before a REPLACE drops the source
    names = [c.name for c in bound.cols]
    data = data.rename_columns(names)
    if replace and ctx.snap.has_table(name):
        tx.drop_table(name)
    tx.create_table(name, data.schema)
    return tx.insert(name, data)


def _is_temporary(node: exp.Create) -> bool:
    props = node.args.get("properties")
    return props is not None and any(isinstance(p, exp.TemporaryProperty)
                                     for p in props.expressions)


def _as_temporary(tx: Any, ctx: Context, node: exp.Create) -> exp.Create:
    """The statement retargeted at ``temp.<name>`` (the session's temporary-table space)."""
    if not ctx.temp_prefix:
        raise NotSupportedError("this session cannot create temporary tables")
    node = node.copy()  # a prepared statement keeps its own tree
    target = node.this
    table = target.this if isinstance(target, exp.Schema) else target
    db = table.text("db")
    if db and db.lower() != "temp":
        raise BindError(f"a temporary table cannot be created in schema {db!r}")
    table.set("db", exp.to_identifier("temp"))
    tx.create_schema(C.TEMP_SCHEMA, if_not_exists=True)
    return node


def _as_table_ref(name: str) -> exp.Table:
    db, _, t = name.partition(".")
    return exp.table_(t, db=db)


def _check_schema(ctx: Context, name: str) -> None:
    schema = name.split(".", 1)[0]
    if schema in C.dropped_schemas(ctx.snap):
        raise errors.NotFound(f"schema {schema!r} does not exist")


def create_view(tx: Any, ctx: Context, node: exp.Create) -> int:
    from .dialect import Grizzly
    target = node.this
    cols: list[str] = []
    if isinstance(target, exp.Schema):
        cols = [i.name for i in target.expressions]
        target = target.this
    name = _table_name(ctx, target)
    _check_schema(ctx, name)
    query = node.args.get("expression")
    if query is None:
        raise BindError("CREATE VIEW needs AS <query>")
    if any(True for _ in query.find_all(exp.Placeholder)) or \
            any(True for _ in query.find_all(exp.Parameter)):
        raise BindError("a view cannot have parameters")
    if ctx.snap.has_table(name):
        raise errors.AlreadyExists(f"{name!r} already exists as a table")
    existing = C.load_views(ctx.snap).get(name.lower())
    if existing is not None and not node.args.get("replace"):
        if node.args.get("exists"):
            return -1
        raise errors.AlreadyExists(f"view {name!r} already exists")
    bound = Binder(ctx).bind_query(query)  # it must bind now
    if cols and len(cols) != len(bound.cols):
        raise BindError(f"view {name!r} names {len(cols)} columns but its query returns "
                        f"{len(bound.cols)}")
    sql = query.sql(dialect=Grizzly)
    C.put_view(tx, C.View(name.lower(), ctx.schema, target.name, sql, tuple(cols)))
    return -1


def _create_table(tx: Any, ctx: Context, schema: exp.Schema, exists: bool) -> int:
    name = _table_name(ctx, schema.this)
    fields, pk, not_null, defaults, unique = [], [], [], {}, []
    for item in schema.expressions:
        if isinstance(item, exp.ColumnDef):
            cname = item.name
            t = from_sql(item.args["kind"]) if item.args.get("kind") else pa.string()
            for c in item.args.get("constraints") or []:
                k = c.args.get("kind")
                if isinstance(k, exp.PrimaryKeyColumnConstraint):
                    pk.append(cname)
                elif isinstance(k, exp.NotNullColumnConstraint):
                    if not k.args.get("allow_null"):
                        not_null.append(cname)
                elif isinstance(k, exp.DefaultColumnConstraint):
                    v = _const(ctx, k.this)
                    defaults[cname] = cast(coerce_literal(v, t), t).value \
                        if not pa.types.is_null(v.type) else None
                elif isinstance(k, exp.UniqueColumnConstraint):
                    unique.append((cname,))
                else:
                    raise NotSupportedError(f"column constraint {c.sql()} is not supported")
            fields.append(pa.field(cname, t))
        elif isinstance(item, exp.PrimaryKey):
            pk.extend(e.name for e in item.expressions)
        elif isinstance(item, exp.UniqueColumnConstraint):
            unique.append(tuple(e.name for e in item.this.expressions))
        else:
            raise NotSupportedError(f"table constraint {item.sql()} is not supported")
    names = [f.name for f in fields]
    for c in pk + not_null + [c for u in unique for c in u]:
        if c not in names:
            raise BindError(f"constraint names unknown column {c!r}" + suggest(c, names))
    if len(set(names)) != len(names):
        raise BindError("duplicate column name in CREATE TABLE")
    tx.create_table(name, pa.schema(fields), primary_key=tuple(pk), not_null=tuple(not_null),
                    defaults=defaults, unique=tuple(unique), if_not_exists=exists)
    return -1


def drop(tx: Any, ctx: Context, node: exp.Drop) -> int:
    kind = (node.args.get("kind") or "").upper()
    exists = bool(node.args.get("exists"))
    if kind == "TABLE":
        for t in node.args.get("tables") or [node.this]:
            name = ctx.table_name(t)
            if not ctx.snap.has_table(name) and ctx.find_view(t) is not None:
                raise BindError(f"{t.name!r} is a view; use DROP VIEW")
            if not exists and not ctx.snap.has_table(name):
                _existing(ctx, t)
            tx.drop_table(name, if_exists=exists)
        return -1
    if kind == "VIEW":
        for t in node.args.get("tables") or [node.this]:
            view = ctx.find_view(t)
            if view is None:
                if ctx.snap.has_table(ctx.table_name(t)):
                    raise BindError(f"{t.name!r} is a table; use DROP TABLE")
                if exists:
                    continue
                views = [v.view for v in C.load_views(ctx.snap).values()]
                raise BindError(f"view {t.name!r} does not exist" + suggest(t.name, views))
            C.delete_view(tx, view.name)
        return -1
    if kind == "SCHEMA":
        for t in node.args.get("tables") or [node.this]:
            drop_schema(tx, ctx, t.text("db") or t.name, exists,
                        bool(node.args.get("cascade")))
        return -1
    if kind == "INDEX":
        for t in node.args.get("tables") or [node.this]:
            tx.drop_index(t.name, if_exists=exists)
        return -1
    raise NotSupportedError(f"DROP {kind} is not supported")


def drop_schema(tx: Any, ctx: Context, name: str, if_exists: bool, cascade: bool) -> None:
    if name.lower() in ("main", C.CATALOG_SCHEMA):
        raise BindError(f"schema {name!r} cannot be dropped")
    if name not in C.schemas(ctx.snap):
        if if_exists:
            return
        raise errors.NotFound(f"schema {name!r} does not exist"
                              + suggest(name, C.schemas(ctx.snap)))
    tables = ctx.snap.tables(name)
    views = [v for v in C.load_views(ctx.snap).values() if v.name.split(".")[0] == name]
    if (tables or views) and not cascade:
        shown = ", ".join(sorted([t.split(".", 1)[1] for t in tables] + [v.view for v in views]))
        raise BindError(f"schema {name!r} is not empty (it holds {shown}); use DROP SCHEMA "
                        f"{name} CASCADE")
    for v in views:
        C.delete_view(tx, v.name)
    for t in tables:
        tx.drop_table(t)
    engine_drop = getattr(tx, "drop_schema", None)
    if engine_drop is not None:
        engine_drop(name)
    else:  # the engine cannot forget a schema yet: record it as dropped
        C.mark_schema_dropped(tx, name, True)


def alter(tx: Any, ctx: Context, node: exp.Alter) -> int:
    if (node.args.get("kind") or "").upper() != "TABLE":
        raise NotSupportedError("only ALTER TABLE is supported")
    info = _existing(ctx, node.this)
    for action in node.args.get("actions") or []:
        if isinstance(action, exp.ColumnDef):
            t = from_sql(action.args["kind"])
            default = None
            nullable = True
            for c in action.args.get("constraints") or []:
                k = c.args.get("kind")
                if isinstance(k, exp.DefaultColumnConstraint):
                    v = _const(ctx, k.this)
                    default = cast(coerce_literal(v, t), t).value
                elif isinstance(k, exp.NotNullColumnConstraint):
                    nullable = False
                else:
                    raise NotSupportedError(f"constraint {c.sql()} in ADD COLUMN")
            tx.add_column(info.name, pa.field(action.name, t, nullable=nullable),
                          default=default)
        elif isinstance(action, exp.Drop):
            for col in action.args.get("tables") or []:
                tx.drop_column(info.name, col.name)
        elif isinstance(action, exp.RenameColumn):
            tx.rename_column(info.name, action.this.name, action.args["to"].name)
        elif isinstance(action, exp.AlterRename):
            new = action.this
            tx.rename_table(info.name, _table_name(ctx, new) if new.text("db")
                            else f"{info.name.split('.')[0]}.{new.name}")
        else:
            raise NotSupportedError(f"ALTER TABLE action {action.sql()} is not supported")
    return -1


# ---------------------------------------------------------------------------- DML


def _row_scope(info: Any, qual: str) -> tuple[Scope, dict[str, Expr]]:
    """Scope whose column ids are the table's real column names, plus view-cast fixes."""
    cols, fixes = [], {}
    for f in info.schema:
        t = normalize(f.type)
        cols.append(ColInfo(f.name, f.name, t, qual))
        if t != f.type:
            fixes[f.name] = cast(Col(f.name, f.type), t)
    return Scope(cols), fixes


def _compile_row_expr(ctx: Context, e: Expr, fixes: dict[str, Expr]) -> pc.Expression:
    ex = Executor(ctx.snap)
    return to_arrow(substitute(ex.resolve(e), fixes))


def _where(ctx: Context, info: Any, node: exp.Expression, qual: str) -> Any:
    where = node.args.get("where")
    if where is None:
        return None
    scope, fixes = _row_scope(info, qual)
    cond = _bool(Binder(ctx).expr(where.this, scope))
    resolved = Executor(ctx.snap).resolve(cond)
    names = {f.name: f.name for f in info.schema}
    ep = to_engine_predicate(resolved, names)
    if ep is not None:
        return ep
    if isinstance(resolved, Lit):
        return pc.scalar(bool(resolved.value))
    return to_arrow(substitute(resolved, fixes))


def delete(tx: Any, ctx: Context, node: exp.Delete) -> int | pa.Table:
    """The deleted row count, or with RETURNING the table it asks for."""
    if node.args.get("using"):
        return _delete_using(tx, ctx, node)
    t = node.this
    info = _existing(ctx, t)
    pred = _where(ctx, info, node, t.alias_or_name)
    ret = _returning(ctx, info, node)
    if ret is not None:
        return _project(tx.delete_rows(info.name, pred), ret)
    return tx.delete(info.name, pred)


def update(tx: Any, ctx: Context, node: exp.Update) -> int | pa.Table:
    """The updated row count, or with RETURNING the table it asks for."""
    if node.args.get("from_") or node.args.get("from"):
        return _update_from(tx, ctx, node)
    t = node.this
    info = _existing(ctx, t)
    scope, fixes = _row_scope(info, t.alias_or_name)
    assignments = {}
    for a in node.expressions:
        col = a.this.name
        if col not in info.schema.names:
            raise BindError(f"column {col!r} not found in {info.name}"
                            + suggest(col, info.schema.names))
        target = normalize(info.schema.field(col).type)
        e = Binder(ctx).expr(a.expression, scope)
        e = cast(coerce_literal(e, target), target)
        assignments[col] = _compile_row_expr(ctx, e, fixes)
    pred = _where(ctx, info, node, t.alias_or_name)
    ret = _returning(ctx, info, node)
    if ret is not None:
        return _project(tx.update_rows(info.name, assignments, pred), ret)
    return tx.update(info.name, assignments, pred)


# UPDATE ... FROM and DELETE ... USING: a query joins the target with the other tables and
# picks the target's rows (by primary key) and, for UPDATE, their new values; the engine then
# replaces those rows in one all-or-nothing statement (``Transaction.replace``).

_KEY = "__kodiak_key_"


def _keyed_target(ctx: Context, node: exp.Expression, what: str) -> tuple[Any, str]:
    t = node.this
    info = _existing(ctx, t)
    if not info.primary_key:
        raise NotSupportedError(f"{what} needs a primary key on the target table "
                                f"{info.name!r}, to tell its rows apart")
    return info, t.alias_or_name


def _join_query(node: exp.Expression, items: str, others: list[exp.Expression]) -> exp.Select:
    """``SELECT items FROM <target>, <others> [WHERE ...]`` as a parsed query."""
    frm = ", ".join([node.this.sql(dialect=Grizzly)]
                    + [o.sql(dialect=Grizzly) for o in others])
    where = node.args.get("where")
    text = f"SELECT {items} FROM {frm}"
    if where is not None:
        text += f" WHERE {where.this.sql(dialect=Grizzly)}"
    return parse(text)[0]


def _run_query(ctx: Context, query: exp.Expression) -> pa.Table:
    bound = Binder(ctx).bind_query(query)
    return Executor(ctx.snap).table(optimize(bound.plan))


def _delete_using(tx: Any, ctx: Context, node: exp.Delete) -> int | pa.Table:
    info, alias = _keyed_target(ctx, node, "DELETE ... USING")
    ret = _returning(ctx, info, node)
    # the whole rows when RETURNING needs them, else only their keys
    names = list(info.schema.names) if ret is not None else list(info.primary_key)
    cols = ", ".join(f"{_ident(alias)}.{_ident(c)}" for c in names)
    matched = _run_query(ctx, _join_query(node, f"DISTINCT {cols}", node.args["using"]))
    matched = matched.rename_columns(names)
    n = tx.replace(info.name, matched.select(list(info.primary_key))) \
        if matched.num_rows else 0
    if ret is not None:
        return _project(matched.cast(info.schema), ret)
    return n


def _update_from(tx: Any, ctx: Context, node: exp.Update) -> int | pa.Table:
    info, alias = _keyed_target(ctx, node, "UPDATE ... FROM")
    ret = _returning(ctx, info, node)
    names = list(info.schema.names)
    sets: dict[str, exp.Expression] = {}
    for a in node.expressions:
        col = a.this.name
        if col not in names:
            raise BindError(f"column {col!r} not found in {info.name}" + suggest(col, names))
        if col in sets:
            raise BindError(f"column {col!r} is assigned more than once")
        sets[col] = a.expression
    frm = node.args.get("from_") or node.args.get("from")
    items = [f"{_ident(alias)}.{_ident(k)} AS {_ident(_KEY + str(i))}"
             for i, k in enumerate(info.primary_key)]
    items += [f"({sets[c].sql(dialect=Grizzly)}) AS {_ident(c)}" if c in sets
              else f"{_ident(alias)}.{_ident(c)} AS {_ident(c)}" for c in names]
    nk = len(info.primary_key)
    found = _run_query(ctx, _join_query(node, ", ".join(items), [frm.this]))
    found = found.rename_columns(_update_columns(nk, names))
    if not found.num_rows:
        return 0
    keys = found.select(list(range(nk))).rename_columns(list(info.primary_key))
    per_key = keys.group_by(list(info.primary_key)).aggregate([([], "count_all")])
    if per_key.num_rows != keys.num_rows:
        # a row matched several times: fine if every match gives it the same new values
        found = _distinct(found).select(_update_columns(nk, names))
        keys = found.select(list(range(nk))).rename_columns(list(info.primary_key))
    if per_key.num_rows != keys.num_rows:
        twice = per_key.filter(pc.greater(per_key.column("count_all"), 1)).slice(0, 1)
        shown = ", ".join(f"{k} = {twice.column(k)[0].as_py()!r}" for k in info.primary_key)
        raise errors.ConstraintError(
            f"UPDATE ... FROM: the row of {info.name!r} with {shown} matches more than one "
            f"row of the FROM tables; the new value would be ambiguous")
    rows = found.select(list(range(nk, found.num_columns))).rename_columns(names)
    rows = _cast_table(rows, [normalize(info.schema.field(c).type) for c in names])
    tx.replace(info.name, keys, rows)
    if ret is not None:
        return _project(rows.cast(info.schema), ret)
    return rows.num_rows


def _distinct(t: pa.Table) -> pa.Table:
    """Each distinct row of ``t`` once (in some order). A table whose values Arrow cannot
    group (lists, say) comes back as it is, so each copy counts as a different row."""
    try:
        return t.group_by(t.column_names, use_threads=False).aggregate([])
    except (pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return t


def _update_columns(nk: int, names: list[str]) -> list[str]:
    """Column names of ``_update_from``'s query: the old keys, then the new row."""
    return [_KEY + str(i) for i in range(nk)] + names


def _returning(ctx: Context, info: Any, node: exp.Expression
               ) -> tuple[list[pc.Expression], list[str]] | None:
    """The compiled ``RETURNING`` items (None without the clause): expressions over the
    target's columns, ``*`` included. Bound before the statement writes anything, so a bad
    item fails it with nothing changed, inside a transaction too."""
    ret = node.args.get("returning")
    if ret is None:
        return None
    target = node.this.this if isinstance(node.this, exp.Schema) else node.this
    scope, fixes = _row_scope(info, target.alias_or_name)
    binder = Binder(ctx)
    items = binder.expand_select(exp.Select(expressions=ret.expressions), scope)
    return ([_compile_row_expr(ctx, binder.expr(e, scope), fixes) for _, e in items],
            [name for name, _ in items])


def _project(rows: pa.Table, returning: tuple[list[pc.Expression], list[str]]) -> pa.Table:
    """The RETURNING result over the statement's rows (inserted, updated as they are now,
    or deleted)."""
    import pyarrow.acero as ac

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
    info = _existing(ctx, target)
    ret = _returning(ctx, info, node)
    assert ret is not None
    return _project(info.schema.empty_table(), ret).schema


def _ident(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql(dialect=Grizzly)


def insert(tx: Any, ctx: Context, node: exp.Insert) -> int:
    target = node.this
    table = target.this if isinstance(target, exp.Schema) else target
    info = _existing(ctx, table)
    names = [i.name for i in target.expressions] if isinstance(target, exp.Schema) \
        else list(info.schema.names)
    for n in names:
        if n not in info.schema.names:
            raise BindError(f"column {n!r} not found in {info.name}"
                            + suggest(n, info.schema.names))
    src = node.expression
    if src is None:
        raise NotSupportedError("INSERT ... DEFAULT VALUES is not supported")
    types = [normalize(info.schema.field(n).type) for n in names]
    if isinstance(src, exp.Values):
        data = _values_table(ctx, src, names, types)
    else:
        bound = Binder(ctx).bind_query(src)
        if len(bound.cols) != len(names):
            raise BindError(f"INSERT has {len(names)} target columns but the query returns "
                            f"{len(bound.cols)}")
        data = Executor(ctx.snap).table(optimize(bound.plan))
        data = data.rename_columns(names)
        data = _cast_table(data, types)
    return _write(tx, ctx, info, node, data)


def insert_table(tx: Any, ctx: Context, node: exp.Insert, data: pa.Table) -> int:
    """INSERT ... VALUES (?, ?, ...) bound to a whole parameter batch at once."""
    target = node.this
    table = target.this if isinstance(target, exp.Schema) else target
    info = _existing(ctx, table)
    names = [i.name for i in target.expressions] if isinstance(target, exp.Schema) \
        else list(info.schema.names)
    if data.num_columns != len(names):
        raise BindError(f"INSERT has {len(names)} target columns but {data.num_columns} "
                        "parameters were bound")
    data = data.rename_columns(names)
    types = [normalize(info.schema.field(n).type) for n in names]
    return _write(tx, ctx, info, node, _cast_table(data, types))


def _write(tx: Any, ctx: Context, info: Any, node: exp.Insert, data: pa.Table
           ) -> int | pa.Table:
    conflict = node.args.get("conflict")
    ret = _returning(ctx, info, node)
    if ret is not None:
        if conflict is not None:
            raise NotSupportedError("INSERT ... ON CONFLICT ... RETURNING is not supported")
        return _project(tx.insert_rows(info.name, data), ret)
    if conflict is None:
        return tx.insert(info.name, data)
    action = (conflict.args.get("action").name if conflict.args.get("action") is not None
              else "").upper()
    if "NOTHING" in action:
        return tx.upsert(info.name, data, update_columns=[])
    cols = []
    for a in conflict.expressions:
        lhs, rhs = a.this, a.expression
        if not (isinstance(rhs, exp.Column) and rhs.text("table").lower() == "excluded"
                and rhs.name == lhs.name):
            raise NotSupportedError("ON CONFLICT DO UPDATE supports only SET col = "
                                    "excluded.col")
        cols.append(lhs.name)
    return tx.upsert(info.name, data, update_columns=cols)


def _cast_table(data: pa.Table, types: list[pa.DataType]) -> pa.Table:
    cols = []
    for c, t in zip(data.columns, types, strict=True):
        if c.type != t:
            try:
                c = c.cast(t)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
                raise BindError(f"cannot insert {c.type} values into a {t} column: "
                                f"{str(e).splitlines()[0]}") from None
        cols.append(c)
    return pa.Table.from_arrays(cols, names=data.column_names)


def _literal_value(e: Expr, column: str, to: pa.DataType) -> Any:
    """The value a VALUES entry stores; a cast the binder could not fold (a bound string that
    is no number, say) is tried here so the error names the column and the value."""
    if isinstance(e, Lit):
        return e.value
    inner = e.args[0] if isinstance(e, Call) and e.args else e
    if not isinstance(inner, Lit):
        raise NotSupportedError("VALUES entries must be constants")
    try:
        return pa.array([inner.value], inner.type).cast(to)[0].as_py()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        raise SqlTypeError(f"cannot store {inner.value!r} in column {column!r} of type "
                           f"{sql_name(to)}") from exc


def _values_table(ctx: Context, src: exp.Values, names: list[str], types: list[pa.DataType]
                  ) -> pa.Table:
    binder = Binder(ctx)
    columns: list[list[Any]] = [[] for _ in names]
    present = [True] * len(names)
    for row in src.expressions:
        items = row.expressions if isinstance(row, exp.Tuple) else [row]
        if len(items) != len(names):
            raise BindError(f"INSERT has {len(names)} target columns but a VALUES row has "
                            f"{len(items)}")
        for i, it in enumerate(items):
            if isinstance(it, exp.Var) and it.name.upper() == "DEFAULT":
                raise NotSupportedError("DEFAULT in VALUES is not supported; omit the column")
            if isinstance(it, exp.Placeholder) and it.this is not None:
                ctx.param_types.setdefault(int(str(it.this)), types[i])
            e = binder.expr(it, Scope([]))
            e = Executor(ctx.snap).resolve(e)
            if not isinstance(e, Lit):
                raise NotSupportedError("VALUES entries must be constants")
            e = cast(coerce_literal(e, types[i]), types[i])
            columns[i].append(_literal_value(e, names[i], types[i]))
    arrays = [pa.array(v, type=t) for v, t, p in zip(columns, types, present, strict=True)]
    return pa.Table.from_arrays(arrays, names=names)
