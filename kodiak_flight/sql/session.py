"""Session: the SQL layer's entry point for the server, the CLI and embedded use.

A session owns at most one engine transaction. Statements outside an explicit transaction
autocommit (queries just read a fresh snapshot); BEGIN/COMMIT/ROLLBACK statements and the
methods of the same names share one mechanism. What a statement is and how it runs comes
from the statement registry (``statements``); the session only decides the transaction it
runs in and builds its :class:`~.execution.ExecContext`. Queries stream: ``Result.reader``
pulls batches from the engine snapshot through the Acero plan as the client reads.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa
from sqlglot import exp

from . import files
from .access import EVERYTHING, Rights, UserDirectory, guarded_files, rights_for
from .activity import Activity, QueryInfo, Viewer, activity_for, shown_text
from .binder import Binder, Context, param_number
from .binder.coverage import check_supported
from .catalog import (
    TEMP_SCHEMA,
    Relation,
    Resolver,
    drop_temp_tables,
    system,
    upgrade_legacy_catalog,
)
from .dialect import parse
from .errors import BindError, NotSupportedError, ParameterError, TransactionError
from .execution import ExecContext
from .executor import Executor
from .executor.arrow_errors import arrow_errors
from .expr import ParamProbe
from .functions import generation as function_generation
from .incoming import check_table
from .ingest import IngestTarget, ingest
from .internal import reported
from .interrupt import Interrupt
from .kept import Kept
from .nesting import MAX_NESTING, guarded
from .pl.parser import is_script
from .pl.script import PreparedScript, run_script
from .pl.variables import Variables
from .plancache import Template, has_join, plain, planned
from .result import Result, rows, written
from .resultcache import ResultCache, attach, request
from .settings import SessionSettings
from .shapes import Shape, ShapedQuery, Shapes, literal_shape
from .statements import insert_table, is_query, statement_for
from .stats import cache_for
from .triggers.firing import with_triggers
from .types import normalize

__all__ = ["Session", "Prepared", "Result"]

_MAX_TEMPLATES = 8  # per prepared statement: one per distinct tuple of parameter types
_MAX_PREPARED = 64  # prepared statements a session keeps for reuse by their SQL text
_MAX_SHAPES = 256  # query shapes a session knows (``shapes``)


class Session:
    def __init__(self, db: Any, *, catalog: str = "kodiak", schema: str = "main",
                 temp_tag: str | None = None, file_access: files.FileAccess = files.ANYWHERE,
                 max_nesting: int = MAX_NESTING, activity: Activity | None = None,
                 user: str | None = None, result_cache: ResultCache | None = None,
                 users: UserDirectory | None = None) -> None:
        self.db = db
        self.users = users  # where CREATE/DROP/ALTER USER write; None: refused
        self.superuser: str | None = None  # a user holding every right (the server's own)
        self.result_cache = result_cache  # shared by the database's sessions; None: off
        if result_cache is not None:
            attach(db, result_cache)  # the one information_schema.kodiak_result_cache shows
        self.catalog = catalog
        self.schema = schema
        self.file_access = file_access  # which files its SQL may read and write
        self.max_nesting = max_nesting  # parentheses; deeper SQL is refused before parsing
        self._tx: Any = None
        # Temporary tables: a session made with another's ``temp_tag`` (a Flight SQL
        # transaction of a connection) sees that session's and leaves dropping them to it.
        self.owns_temp = temp_tag is None
        self._interrupt: Interrupt | None = None  # of the statement being run, if any
        self.variables = Variables()  # SET / LET / $name (``pl/variables.py``)
        self.settings = SessionSettings()  # SET memory_limit, query_timeout (``settings.py``)
        # by (SQL text, current schema): ``prepare``'s statements, and the queries
        # ``execute`` ran (schemas not described)
        self._prepared = Kept(_MAX_PREPARED)
        self._queries = Kept(_MAX_PREPARED)
        self._shapes = Shapes(self, _MAX_SHAPES)  # query texts by their constants' shape
        self.temp_tag = temp_tag or f"s{secrets.token_hex(6)}"
        # what kodiak_queries / kodiak_sessions show: shared by the sessions of one database
        # (or server); a session sharing another's temp_tag is part of that one's entry
        self.activity = activity if activity is not None else activity_for(db)
        self.activity_session = self.activity.join(self, self.temp_tag)
        if user is not None:
            self.activity_session.user = user
        upgrade_legacy_catalog(db)

    # ------------------------------------------------------------------ transactions

    @property
    def in_transaction(self) -> bool:
        return self._tx is not None

    @property
    def transaction(self) -> Any:
        """The open engine transaction (for savepoints), or None."""
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
        tx, self._tx = self._open_tx(), None
        tx.commit()

    def rollback(self) -> None:
        tx, self._tx = self._open_tx(), None
        tx.rollback()

    def close(self) -> None:
        if self._tx is not None:
            self.rollback()
        if self.owns_temp:
            self.activity.leave(self.activity_session)
            drop_temp_tables(self.db, f"{self.temp_tag}_")

    @property
    def user(self) -> str | None:
        """Who runs this session's statements (None: embedded, or a server without users):
        kodiak_queries shows it, KILL checks it, the result cache keeps users apart by it."""
        return self.activity_session.user

    @user.setter
    def user(self, name: str | None) -> None:
        self.activity_session.user = name

    @property
    def _temp_prefix(self) -> str:
        """Where this session's temporary tables are: ``kodiak_temp.<tag>_``."""
        return f"{TEMP_SCHEMA}.{self.temp_tag}_"

    def temp_table(self, name: str) -> str:
        """The engine name of this session's temporary table ``name``."""
        return self._temp_prefix + name.lower()

    # ------------------------------------------------------------------ the catalog

    def snapshot(self) -> Any:
        """What this session reads now: its transaction's snapshot, or the latest."""
        return self._tx.snapshot() if self._tx is not None else self.db.snapshot()

    def resolver(self) -> Resolver:
        """Names as this session sees them now (tables, views, system views)."""
        snap = self.snapshot()
        rights = self.rights(snap)
        return Resolver(snap, schema=self.schema, catalog=self.catalog,
                        temp_prefix=self._temp_prefix, viewer=self.viewer(rights),
                        rights=rights)

    def rights(self, snap: Any) -> Rights:
        """What this session's user may do as ``snap`` records it (``sql/access``)."""
        if self.user is None:
            return EVERYTHING
        return rights_for(self.db, snap, self.user, superuser=self.user == self.superuser)

    def viewer(self, rights: Rights = EVERYTHING) -> Viewer:
        """What the activity views show: an admin sees every statement's text."""
        return Viewer(self.activity, None if rights.is_admin else self.user, db=self.db,
                      session=self.activity_session)

    def relation_schema(self, rel: Relation) -> pa.Schema | None:
        """A relation's columns: a table's, a view's by binding it (None if it no longer
        binds), a system view's."""
        if rel.kind == "table":
            return rel.table.schema
        if rel.kind == "view":
            return Binder(self.context(self.snapshot(), None)).view_schema(rel.view)
        return system.columns(rel.name)

    def ingest(self, target: IngestTarget, data: pa.RecordBatchReader) -> int:
        """Bulk load ``data`` (Flight ingest, ``kodiak import``), in the open transaction
        or one of its own; the number of rows loaded."""
        temp = self.temp_table(target.table) if target.temporary else None
        return self._write(lambda ex: written(ingest(ex.tx, ex.resolver, target, data, temp)),
                           None).rowcount

    # ------------------------------------------------------------------ statements

    def execute(self, sql: str, params: pa.RecordBatch | pa.Table | None = None, *,
                interrupt: Interrupt | None = None) -> Result:
        """Run ``sql``; ``interrupt`` lets another thread stop a query while it is read
        (``KILL QUERY`` stops it through the same interrupt)."""
        result = None
        with self._interruptible(interrupt, sql) as query, guarded():
            if is_script(sql):  # blocks, control flow, {name}: the PL interpreter
                return self.activity.watch(query, run_script(self, sql, params))
            version = catalog_key(self.snapshot()) if params is None else None
            again = self._queries.get((sql, self.schema), version) \
                if params is None else None
            if again is not None:
                return self.activity.watch(query, again.run())
            shape = literal_shape(sql) if params is None else None
            if shape is not None and (found := self._shapes.kept(shape, version)) is not None:
                return self.activity.watch(query, _run_shaped(*found))
            stmts = parse(sql, self.max_nesting)
            if len(stmts) == 1 and params is None and reusable(stmts[0]):
                prepared = self._query(sql, stmts[0], version)
                if shape is not None:
                    self._shapes.learn(shape, prepared, version)
                return self.activity.watch(query, prepared.run())
            for stmt in stmts:
                result = self.run_statement(stmt, params)
            assert result is not None
            return self.activity.watch(query, result)

    def _query(self, sql: str, stmt: exp.Expression, version: tuple[int, int]) -> Prepared:
        """A query ``execute`` runs, prepared and kept by its text like ``prepare``'s, so
        running the same text again skips parsing and binding: its plan is kept per
        catalog version (``plancache``) and optimised again on each run. Through Flight SQL
        a client's plain statement (ADBC's ``execute`` without parameters) is such a call:
        parse and bind were 4–5 ms of TPC-H Q2's, Q11's and Q22's 22–35 ms."""
        check_supported(stmt)
        with reported(stmt):
            prepared = Prepared(self, stmt, sql, describe=False)
        self._queries.put((sql, self.schema), version, prepared)
        return prepared

    def run_shaped(self, sql: str, shape: Shape, interrupt: Interrupt | None = None
                   ) -> Result | None:
        """Run text ``sql`` of ``shape`` by the shape's prepared statement; None if the
        shape is no longer kept (the catalog changed)."""
        found = self._shapes.kept(shape, catalog_key(self.snapshot()))
        if found is None:
            return None
        with self._interruptible(interrupt, sql) as query, guarded():
            return self.activity.watch(query, _run_shaped(*found))

    def run_statement(self, stmt: exp.Expression,
                      params: pa.RecordBatch | pa.Table | None = None) -> Result:
        """One parsed statement, as ``execute`` runs each (a script's statements too)."""
        check_supported(stmt)  # refuse by name what binding would ignore
        with reported(stmt):
            return self._run(stmt, params)

    @property
    def interrupt(self) -> Interrupt | None:
        """The interrupt of the statement (or script) running now, if any."""
        return self._interrupt

    @contextlib.contextmanager
    def running(self, text: str, interrupt: Interrupt | None = None) -> Iterator[QueryInfo]:
        """Run work outside ``execute`` (a background job's call) as statement ``text``:
        shown in kodiak_queries and stopped by ``interrupt``."""
        with self._interruptible(interrupt, text) as query, guarded():
            yield query

    def detached(self) -> Session:
        """A new session with this one's database, schema, user and file rights, for work
        that outlives the statement that started it (a background job); close it after."""
        return Session(self.db, catalog=self.catalog, schema=self.schema,
                       file_access=self.file_access, max_nesting=self.max_nesting,
                       activity=self.activity, user=self.user,
                       result_cache=self.result_cache)

    @contextlib.contextmanager
    def _interruptible(self, interrupt: Interrupt | None, text: str, *, shown: bool = False
                       ) -> Iterator[QueryInfo]:
        """Run a statement registered in the activity (as ``text``; ``shown``: already as
        the activity shows it) with an interrupt."""
        self._interrupt = interrupt if interrupt is not None else Interrupt()
        self.settings.apply(self._interrupt)
        try:
            with self.activity.track(self.activity_session, text, self._interrupt,
                                     shown=shown) as query:
                yield query
        finally:
            self._interrupt = None

    def prepare(self, sql: str) -> Prepared | PreparedScript | ShapedQuery:
        """A prepared statement; preparing the same text again reuses it (and the plans it
        keeps) while the catalog version, the functions and the current schema are unchanged: clients
        such as ADBC prepare anew whenever a cursor's SQL text changes."""
        version = catalog_key(self.snapshot())
        key = (sql, self.schema)
        hit = self._prepared.get(key, version)
        if hit is not None:
            return hit
        if is_script(sql):  # run whole when executed (``pl/script.py``)
            return PreparedScript(self, sql)
        shape = literal_shape(sql)
        if shape is not None and (found := self._shapes.kept(shape, version)) is not None:
            return ShapedQuery(self, sql, shape, found[0])
        stmts = parse(sql, self.max_nesting)
        if len(stmts) != 1:
            raise NotSupportedError("prepare one statement at a time")
        check_supported(stmts[0])
        with guarded(), reported(stmts[0]):
            prepared = Prepared(self, stmts[0], sql)
        if statement_for(stmts[0]).sensitive:  # CREATE SECRET: its text is not kept
            return prepared
        if shape is not None and reusable(stmts[0]):
            self._shapes.learn(shape, prepared, version)
        self._prepared.put(key, version, prepared)
        return prepared

    def prepare_parsed(self, stmt: exp.Expression, *, describe: bool = False) -> Prepared:
        """A prepared statement of a parsed one, not kept by its text (a script keeps it on
        its AST node, so a loop binds each statement once); its schemas are found only if
        ``describe`` (that binds it once more)."""
        check_supported(stmt)
        with guarded(), reported(stmt):
            return Prepared(self, stmt, describe=describe)

    def context(self, snap: Any, params: list[pa.Scalar] | None) -> Context:
        """The binder's context for a statement reading ``snap``."""
        rights = self.rights(snap)
        return Context(snap, schema=self.schema, catalog=self.catalog, params=params,
                       stats=cache_for(self.db), temp_prefix=self._temp_prefix,
                       files=guarded_files(self.file_access, rights), viewer=self.viewer(rights),
                       rights=rights, user=self.user, variables=self.variables.visible())

    def _exec(self, snap: Any, tx: Any, params: list[pa.Scalar] | None) -> ExecContext:
        return ExecContext(self, snap, with_triggers(tx, self, snap), params, self._interrupt,
                           self.context(snap, params))

    def _run(self, stmt: exp.Expression, params: pa.RecordBatch | pa.Table | None) -> Result:
        batch = _param_rows(params)
        if batch is None or len(batch) <= 1:
            return self._run_one(stmt, batch[0] if batch else None)
        if is_query(stmt):
            raise ParameterError("a query can bind only one row of parameters")
        if statement_for(stmt).returns_rows(stmt):
            raise ParameterError("a statement with RETURNING binds only one row of parameters")
        if isinstance(stmt, exp.Insert) and _all_placeholders(stmt):
            return self._write(lambda ex: written(insert_table(ex.tx, ex.bind, stmt,
                                                               _as_table(params))), None)
        total = sum(self._run_one(stmt, r).rowcount for r in batch)
        return Result(pa.schema([]), None, total)

    def _run_one(self, stmt: exp.Expression, params: list[pa.Scalar] | None) -> Result:
        spec = statement_for(stmt)
        if spec.writes:  # (the engine evaluates a DML's conditions: Arrow's errors in SQL's words)
            return self._write(arrow_errors(lambda ex: spec.run(ex, stmt)), params)
        snap = self.snapshot()
        return spec.run(self._exec(snap, self._tx, params), stmt)

    def _write(self, fn: Callable[[ExecContext], Result],
               params: list[pa.Scalar] | None) -> Result:
        """Run a writing statement in the open transaction or its own."""
        if self._tx is not None:
            return fn(self._exec(self._tx.snapshot(), self._tx, params))
        tx = self.db.begin()
        try:
            result = fn(self._exec(tx.snapshot(), tx, params))
        except BaseException:
            tx.rollback()
            raise
        tx.commit()
        return result


class Prepared:
    """A parsed statement. Queries keep their bound plan per parameter types
    (``plancache``); other statements bind again on each execution."""

    def __init__(self, session: Session, stmt: exp.Expression, text: str = "", *,
                 describe: bool = True) -> None:
        self.session = session
        self.stmt = stmt
        self.text = text or stmt.sql(dialect="duckdb")  # as kodiak_queries shows it
        self.shown = shown_text(self.text)  # masked and cut once, not per execution
        spec = statement_for(stmt)
        self.is_update = not spec.returns_rows(stmt)
        ctx = session.context(session.snapshot(), None)
        # binding for the schemas hints the types of $n
        self.dataset_schema: pa.Schema | None = spec.describe(ctx, stmt) if describe else None
        count = _placeholder_count(stmt)
        self.parameter_schema = pa.schema(
            [pa.field(f"${i}", ctx.param_types.get(i, pa.null())) for i in range(1, count + 1)])
        self.variable_names = variable_names(stmt)  # the ``$name``s it reads
        self._templates: dict[tuple[pa.DataType | None, ...], Template] = {}

    def execute(self, params: pa.RecordBatch | pa.Table | None = None, *,
                interrupt: Interrupt | None = None) -> Result:
        with self.session._interruptible(interrupt, self.shown, shown=True) as query, \
                guarded():
            return self.session.activity.watch(query, self.run(params))

    def run(self, params: pa.RecordBatch | pa.Table | None = None) -> Result:
        """Run inside the statement already running (a script's: its interrupt, its entry
        in the activity)."""
        if is_query(self.stmt):
            batch = _param_rows(params)
            if batch is None or len(batch) == 1:
                return self.run_bound(*self.bound(batch[0] if batch else []))
        with reported(self.stmt):
            return self.session._run(self.stmt, params)

    def bound(self, row: list[pa.Scalar]) -> tuple[Template, list[pa.Scalar]]:
        """The plan template for these parameters and the variables' current values (bound
        now if none is kept), and the values to put in: ``row``, then the variables it
        reads. A query without variables or positional parameters binds once."""
        with reported(self.stmt):
            return self._bound(row)

    def _bound(self, row: list[pa.Scalar]) -> tuple[Template, list[pa.Scalar]]:
        session = self.session
        snap = session.snapshot()
        seen = session.variables.visible() if self.variable_names else {}
        variables = [seen.get(n) for n in self.variable_names]  # None: not set
        types = tuple(normalize(s.type) for s in row) + \
            tuple(None if v is None else normalize(v.type) for v in variables)
        tpl = self._templates.get(types)
        if tpl is None or tpl.catalog_key != catalog_key(snap) or tpl.schema != session.schema:
            tpl = self._bind(snap, row, types)
        return tpl, [*row, *(seen[n] for n in tpl.variables)]

    def run_bound(self, tpl: Template, values: list[pa.Scalar]) -> Result:
        """Run template ``tpl`` with ``values`` put in (``bound``), through the result
        cache (its key holds the values, variables' included)."""
        with reported(self.stmt):
            return self._run_bound(tpl, values)

    def _run_bound(self, tpl: Template, values: list[pa.Scalar]) -> Result:
        session = self.session
        snap = session.snapshot()
        cached = request(session, self.stmt, values, snap)  # the result cache, if on
        if cached is not None and (table := cached.hit()) is not None:
            return rows(table)
        plan = planned(tpl, plain(values), snap)
        fields = tpl.result_fields(plan, session.catalog)
        out = Executor(snap, session._interrupt).output(plan, fields)
        if cached is not None:  # a plan not kept for reuse is volatile (or read a value)
            out = cached.keep(out, plan, not tpl.kept)
        return rows(out)

    def _bind(self, snap: Any, row: list[pa.Scalar], types: tuple[pa.DataType | None, ...]
              ) -> Template:
        """Bind the query for parameters and variables of these types; keep the plan if it
        holds no value fixed at bind time."""
        ctx = self.session.context(snap, row)
        ctx.probe = ParamProbe()
        ctx.variable_slots = []
        bound = Binder(ctx).bind_query(self.stmt)
        tpl = Template(bound.plan, [c.name for c in bound.cols], catalog_key(snap),
                       self.session.schema, has_join(bound.plan), ctx.variable_slots)
        # a variable read where the text names none (a view's body) is not in ``types``
        if ctx.probe.read or ctx.volatile or \
                not set(ctx.variable_slots) <= set(self.variable_names):
            self._templates.pop(types, None)
        elif len(self._templates) < _MAX_TEMPLATES:
            self._templates[types] = tpl
            tpl.kept = True
        return tpl


def _run_shaped(prepared: Prepared, shape: Shape) -> Result:
    return prepared.run_bound(*prepared.bound(shape.values))


def reusable(stmt: exp.Expression) -> bool:
    """Whether ``execute`` keeps ``stmt`` as a prepared query (``Session._query``): a query
    naming no parameter and no variable. (A prepared query reads a ``$name`` as a parameter
    slot, which a table function's LIMIT, say, refuses where the value itself is taken.)"""
    return is_query(stmt) and not variable_names(stmt) and not _placeholder_count(stmt)


def catalog_key(snap: Any) -> tuple[int, int]:
    """What a bound plan depends on besides its text and schema: the snapshot's catalog
    version and the function registry's generation (a function added or removed)."""
    return snap.catalog_version, function_generation()


def variable_names(stmt: exp.Expression) -> tuple[str, ...]:
    """The variables (``$name``, not ``$1``) a statement's text reads, each once."""
    names = {str(p.this).lower() for p in stmt.find_all(exp.Placeholder)
             if p.this is not None and param_number(p) is None}
    return tuple(sorted(names))


def _placeholder_count(stmt: exp.Expression) -> int:
    nums = [n for p in stmt.find_all(exp.Placeholder) if (n := param_number(p)) is not None]
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
    if params is None:
        raise BindError("no parameters were bound")
    return params


def _param_rows(params: pa.RecordBatch | pa.Table | None) -> list[list[pa.Scalar]] | None:
    """Parameter rows as lists of Arrow scalars (values are never spliced into SQL text)."""
    if params is None:
        return None
    t = _as_table(params)
    if t.num_columns == 0:
        return None
    check_table(t, "parameter")
    if t.num_rows == 1:  # a prepared query's usual binding
        return [[c[0] for c in t.columns]]
    cols = [c.combine_chunks() if c.num_chunks else pa.array([], c.type) for c in t.columns]
    return [[c[i] for c in cols] for i in range(t.num_rows)]
