"""Session: the entry point the Flight server calls.

A session owns at most one engine transaction. Statements outside an explicit transaction
autocommit (queries just read a fresh snapshot); BEGIN/COMMIT/ROLLBACK statements and the
methods of the same names share one mechanism. Queries stream: ``Result.reader`` pulls
batches from the engine snapshot through the Acero plan as the client reads.
"""

from __future__ import annotations

import contextlib
import secrets
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from sqlglot import exp

from . import files
from . import statements as S
from .binder import Binder, Context
from .catalog import TEMP_SCHEMA, VIEWS, drop_temp_tables
from .dialect import parse
from .errors import BindError, NotSupportedError, ParameterError, TransactionError
from .executor import Executor
from .expr import ParamProbe
from .interrupt import Interrupt
from .nesting import MAX_NESTING, guarded
from .optimizer import optimize
from .plan import explain
from .plancache import Template, has_join, instantiate, refresh_estimates
from .stats import cache_for

_QUERY = (exp.Select, exp.SetOperation, exp.Subquery, exp.Values)
_MAX_TEMPLATES = 8  # per prepared statement: one per distinct tuple of parameter types
_MAX_PREPARED = 64  # prepared statements a session keeps for reuse by their SQL text


@dataclass
class Result:
    schema: pa.Schema
    reader: pa.RecordBatchReader | None
    rowcount: int
    table: pa.Table | None = None  # the whole result, when it was computed in memory anyway


def _write_result(n: int | pa.Table) -> Result:
    if isinstance(n, pa.Table):  # RETURNING: a result set, its length the row count
        return Result(n.schema, n.to_reader(), n.num_rows, n)
    return Result(pa.schema([]), None, n)


def _query_result(out: pa.Table | pa.RecordBatchReader) -> Result:
    if isinstance(out, pa.Table):
        return Result(out.schema, out.to_reader(), -1, out)
    return Result(out.schema, out, -1)


class Session:
    def __init__(self, db: Any, *, catalog: str = "kodiak", schema: str = "main",
                 temp_tag: str | None = None, file_access: files.FileAccess = files.ANYWHERE,
                 max_nesting: int = MAX_NESTING) -> None:
        self.db = db
        self.max_nesting = max_nesting  # parentheses; deeper SQL is refused before parsing
        self.catalog = catalog
        self.schema = schema
        self.file_access = file_access  # which files its SQL may read and write
        self._tx: Any = None
        # Temporary tables: a session made with another's ``temp_tag`` (a Flight SQL
        # transaction of a connection) sees that session's and leaves dropping them to it.
        self.owns_temp = temp_tag is None
        self._interrupt: Interrupt | None = None  # of the statement being run, if any
        # (sql, schema) -> (catalog, views data, Prepared): see ``prepare``
        self._prepared: OrderedDict[tuple[str, str], tuple[Any, Any, Prepared]] = OrderedDict()
        self.temp_tag = temp_tag or f"s{secrets.token_hex(6)}"

    # ------------------------------------------------------------------ transactions

    @property
    def in_transaction(self) -> bool:
        return self._tx is not None

    @property
    def transaction(self) -> Any:
        """The open engine transaction (for ingest and savepoints), or None."""
        return self._tx

    def savepoint(self, name: str) -> None:
        self._open_tx().savepoint(name)

    def rollback_to(self, name: str) -> None:
        self._open_tx().rollback_to(name)

    def release(self, name: str) -> None:
        self._open_tx().release(name)

    def _open_tx(self) -> Any:
        if self._tx is None:
            raise TransactionError("no transaction is open")
        return self._tx

    def begin(self) -> None:
        if self._tx is not None:
            raise TransactionError("a transaction is already open")
        self._tx = self.db.begin()

    def commit(self) -> None:
        if self._tx is None:
            raise TransactionError("no transaction is open")
        tx, self._tx = self._tx, None
        tx.commit()

    def rollback(self) -> None:
        if self._tx is None:
            raise TransactionError("no transaction is open")
        tx, self._tx = self._tx, None
        tx.rollback()

    def close(self) -> None:
        if self._tx is not None:
            self.rollback()
        if self.owns_temp:
            drop_temp_tables(self.db, f"{self.temp_tag}_")

    def temp_table(self, name: str) -> str:
        """The engine name of this session's temporary table ``name``."""
        return f"{TEMP_SCHEMA}.{self.temp_tag}_{name}"

    # ------------------------------------------------------------------ statements

    def execute(self, sql: str, params: pa.RecordBatch | pa.Table | None = None, *,
                interrupt: Interrupt | None = None) -> Result:
        """Run ``sql``; ``interrupt`` lets another thread stop a query while it is read."""
        stmts = parse(sql, self.max_nesting)
        result = None
        with self._interruptible(interrupt), guarded():
            for stmt in stmts:
                result = self._run(stmt, params)
        assert result is not None
        return result

    @contextlib.contextmanager
    def _interruptible(self, interrupt: Interrupt | None) -> Iterator[None]:
        self._interrupt = interrupt
        try:
            yield
        finally:
            self._interrupt = None

    def prepare(self, sql: str) -> Prepared:
        """A prepared statement; preparing the same text again reuses it (and the plans it
        keeps) while the catalog, the stored views and the current schema are unchanged:
        clients such as ADBC prepare anew whenever a cursor's SQL text changes."""
        snap = self._snapshot()
        views = snap.data(VIEWS) if snap.has_table(VIEWS) else None
        key = (sql, self.schema)
        hit = self._prepared.get(key)
        if hit is not None and hit[0] is snap.state.catalog and hit[1] is views:
            self._prepared.move_to_end(key)
            return hit[2]
        stmts = parse(sql, self.max_nesting)
        if len(stmts) != 1:
            raise NotSupportedError("prepare one statement at a time")
        with guarded():
            prepared = Prepared(self, stmts[0])
        self._prepared[key] = (snap.state.catalog, views, prepared)
        if len(self._prepared) > _MAX_PREPARED:
            self._prepared.popitem(last=False)
        return prepared

    def _context(self, snap: Any, params: list[pa.Scalar] | None) -> Context:
        return Context(snap, schema=self.schema, catalog=self.catalog, params=params,
                       stats=cache_for(self.db), temp_prefix=f"{TEMP_SCHEMA}.{self.temp_tag}_",
                       files=self.file_access)

    def _snapshot(self) -> Any:
        return self._tx.snapshot() if self._tx is not None else self.db.snapshot()

    def _run(self, stmt: exp.Expression, params: pa.RecordBatch | pa.Table | None) -> Result:
        rows = _param_rows(params)
        if rows is not None and len(rows) > 1 and _returns_rows(stmt):
            raise ParameterError("a statement with RETURNING binds only one row of parameters")
        if isinstance(stmt, exp.Insert) and rows is not None and len(rows) > 1 and \
                _all_placeholders(stmt):
            return self._write(lambda tx, ctx: S.insert_table(tx, ctx, stmt, _as_table(params)),
                               None)
        if rows is not None and len(rows) > 1:
            if _is_query(stmt):
                raise ParameterError("a query can bind only one row of parameters")
            total = 0
            for r in rows:
                total += self._run_one(stmt, r).rowcount
            return Result(pa.schema([]), None, total)
        return self._run_one(stmt, rows[0] if rows else None)

    def _run_one(self, stmt: exp.Expression, params: list[pa.Scalar] | None) -> Result:
        if isinstance(stmt, exp.Transaction):
            self.begin()
            return _done()
        if isinstance(stmt, exp.Commit):
            self.commit()
            return _done()
        if isinstance(stmt, exp.Rollback):
            self.rollback()
            return _done()
        if isinstance(stmt, exp.Command) and stmt.name.upper() == "EXPLAIN":
            return self._explain(stmt.expression.name, params)
        if _is_query(stmt):
            return self._query(stmt, params)
        if isinstance(stmt, exp.Copy):
            if stmt.args.get("kind"):
                return self._write(lambda tx, ctx: _copy_from(tx, ctx, stmt), params)
            return self._copy_to(stmt, params)
        if isinstance(stmt, exp.Use):
            self.schema = stmt.this.name
            return _done()
        handler = {exp.Create: S.create, exp.Drop: S.drop, exp.Alter: S.alter,
                   exp.Insert: S.insert, exp.Update: S.update, exp.Delete: S.delete}.get(
                       type(stmt))
        if handler is None:
            raise NotSupportedError(f"statement {stmt.key.upper()} is not supported")
        return self._write(lambda tx, ctx: handler(tx, ctx, stmt), params)

    def _write(self, fn: Any, params: list[pa.Scalar] | None) -> Result:
        """Run a writing statement in the open transaction or its own; ``fn`` answers a
        row count, or the table a RETURNING clause asks for."""
        if self._tx is not None:
            ctx = self._context(self._tx.snapshot(), params)
            return _write_result(fn(self._tx, ctx))
        tx = self.db.begin()
        try:
            ctx = self._context(tx.snapshot(), params)
            n = fn(tx, ctx)
        except BaseException:
            tx.rollback()
            raise
        tx.commit()
        return _write_result(n)

    def _plan(self, stmt: exp.Expression, ctx: Context) -> tuple[Any, list[str]]:
        bound = Binder(ctx).bind_query(stmt)
        return optimize(bound.plan), [c.name for c in bound.cols]

    def _query(self, stmt: exp.Expression, params: list[pa.Scalar] | None) -> Result:
        snap = self._snapshot()
        ctx = self._context(snap, params)
        plan, names = self._plan(stmt, ctx)
        return _query_result(Executor(snap, self._interrupt).output(plan, names))

    def _copy_to(self, stmt: exp.Copy, params: list[pa.Scalar] | None) -> Result:
        path, fmt, opts = files.copy_target(stmt)
        path = self.file_access.path(path, writing=True)
        src = stmt.this
        query = src.this if isinstance(src, exp.Subquery) else \
            exp.select("*").from_(src.copy())
        if not _is_query(query):
            raise NotSupportedError("COPY ... TO takes a table or a (query)")
        snap = self._snapshot()
        plan, names = self._plan(query, self._context(snap, params))
        n = files.write(Executor(snap, self._interrupt).reader(plan, names), path, fmt, opts)
        return Result(pa.schema([]), None, n)

    def _explain(self, sql: str, params: list[pa.Scalar] | None) -> Result:
        stmts = parse(sql, self.max_nesting)
        if len(stmts) != 1 or not _is_query(stmts[0]):
            raise NotSupportedError("EXPLAIN supports a single query")
        ctx = self._context(self._snapshot(), params)
        plan, _ = self._plan(stmts[0], ctx)
        table = pa.table({"plan": pa.array(explain(plan), pa.string())})
        return Result(table.schema, table.to_reader(), -1)


class Prepared:
    """A parsed statement. Queries keep their bound plan per parameter types
    (``plancache``); other statements bind again on each execution."""

    def __init__(self, session: Session, stmt: exp.Expression) -> None:
        self.session = session
        self.stmt = stmt
        self.is_update = not _is_query(stmt) and not _returns_rows(stmt) and not (
            isinstance(stmt, exp.Command) and stmt.name.upper() == "EXPLAIN")
        count = _placeholder_count(stmt)
        ctx = session._context(session._snapshot(), None)
        self.dataset_schema: pa.Schema | None = None
        if _is_query(stmt):
            plan, names = session._plan(stmt, ctx)
            self.dataset_schema = pa.schema([pa.field(n, t) for n, (_, t)
                                             in zip(names, plan.output, strict=True)])
        elif _returns_rows(stmt):
            if isinstance(stmt, exp.Insert) and isinstance(stmt.expression, exp.Values):
                _hint_insert(ctx, stmt)
            self.dataset_schema = S.returning_schema(ctx, stmt)
        elif isinstance(stmt, exp.Insert) and isinstance(stmt.expression, exp.Values):
            _hint_insert(ctx, stmt)
        elif isinstance(stmt, exp.Command):
            self.dataset_schema = pa.schema([pa.field("plan", pa.string())])
        self.parameter_schema = pa.schema(
            [pa.field(f"${i}", ctx.param_types.get(i, pa.null())) for i in range(1, count + 1)])
        self._templates: dict[tuple[pa.DataType, ...], Template] = {}

    def execute(self, params: pa.RecordBatch | pa.Table | None = None, *,
                interrupt: Interrupt | None = None) -> Result:
        with self.session._interruptible(interrupt), guarded():
            if _is_query(self.stmt):
                rows = _param_rows(params)
                if rows is None or len(rows) == 1:
                    return self._query(rows[0] if rows else [])
            return self.session._run(self.stmt, params)

    def _query(self, row: list[pa.Scalar]) -> Result:
        from .types import normalize
        session = self.session
        snap = session._snapshot()
        types = tuple(normalize(s.type) for s in row)
        views = snap.data(VIEWS) if snap.has_table(VIEWS) else None
        tpl = self._templates.get(types)
        if tpl is None or tpl.catalog is not snap.state.catalog or tpl.views is not views \
                or tpl.schema != session.schema:
            ctx = session._context(snap, row)
            ctx.probe = ParamProbe()
            bound = Binder(ctx).bind_query(self.stmt)
            tpl = Template(bound.plan, [c.name for c in bound.cols], snap.state.catalog,
                           views, session.schema, has_join(bound.plan))
            if ctx.probe.read or ctx.volatile:
                self._templates.pop(types, None)
            elif len(self._templates) < _MAX_TEMPLATES:
                self._templates[types] = tpl
        values = [s.cast(t).as_py() if t != s.type else s.as_py()
                  for s, t in zip(row, types, strict=True)]
        plan = instantiate(tpl.plan, values)
        if tpl.joins:
            refresh_estimates(plan, snap)
        return _query_result(Executor(snap, session._interrupt).output(optimize(plan),
                                                                       tpl.names))


def _hint_insert(ctx: Context, stmt: exp.Insert) -> None:
    from .types import normalize
    target = stmt.this
    table = target.this if isinstance(target, exp.Schema) else target
    if not ctx.snap.has_table(ctx.table_name(table)):
        return
    info = ctx.snap.table(ctx.table_name(table))
    names = [i.name for i in target.expressions] if isinstance(target, exp.Schema) \
        else list(info.schema.names)
    for row in stmt.expression.expressions:
        items = row.expressions if isinstance(row, exp.Tuple) else [row]
        for n, it in zip(names, items, strict=False):
            if isinstance(it, exp.Placeholder) and it.this is not None:
                ctx.param_types.setdefault(int(str(it.this)),
                                           normalize(info.schema.field(n).type))


def _copy_from(tx: Any, ctx: Context, stmt: exp.Copy) -> int:
    """COPY table FROM 'file': the file's columns by position, streamed into ``tx.insert``."""
    from .types import normalize
    path, fmt, opts = files.copy_target(stmt)
    path = ctx.files.path(path)
    if not isinstance(stmt.this, exp.Table):
        raise NotSupportedError("COPY ... FROM loads into a table")
    full = ctx.table_name(stmt.this)
    if not ctx.snap.has_table(full):
        raise BindError(f"table {stmt.this.sql(dialect='duckdb')!r} does not exist")
    info = ctx.snap.table(full)
    target = pa.schema([pa.field(f.name, normalize(f.type)) for f in info.schema])
    reader = files.conform(files.open_reader(path, fmt, opts), target, path)
    return tx.insert(info.name, reader)


def _done() -> Result:
    return Result(pa.schema([]), None, -1)


def _is_query(stmt: exp.Expression) -> bool:
    return isinstance(stmt, _QUERY)


def _returns_rows(stmt: exp.Expression) -> bool:
    """INSERT / UPDATE / DELETE ... RETURNING: a write that answers with a result set."""
    return isinstance(stmt, (exp.Insert, exp.Update, exp.Delete)) and \
        bool(stmt.args.get("returning"))


def _placeholder_count(stmt: exp.Expression) -> int:
    nums = [int(str(p.this)) for p in stmt.find_all(exp.Placeholder) if p.this is not None]
    return max(nums, default=0)


def _all_placeholders(stmt: exp.Insert) -> bool:
    src = stmt.expression
    if not isinstance(src, exp.Values) or len(src.expressions) != 1:
        return False
    row = src.expressions[0]
    items = row.expressions if isinstance(row, exp.Tuple) else [row]
    return all(isinstance(i, exp.Placeholder) and str(i.this) == str(n + 1)
               for n, i in enumerate(items))


def _as_table(params: pa.RecordBatch | pa.Table | None) -> pa.Table:
    if isinstance(params, pa.RecordBatch):
        return pa.Table.from_batches([params])
    assert params is not None
    return params


def _param_rows(params: pa.RecordBatch | pa.Table | None) -> list[list[pa.Scalar]] | None:
    """Parameter rows as lists of Arrow scalars (values are never spliced into SQL text)."""
    if params is None:
        return None
    t = _as_table(params)
    if t.num_columns == 0:
        return None
    if t.num_rows == 1:  # a prepared query's usual binding
        return [[c[0] for c in t.columns]]
    cols = [c.combine_chunks() if c.num_chunks else pa.array([], c.type) for c in t.columns]
    return [[c[i] for c in cols] for i in range(t.num_rows)]
