"""The one firing hook: every row write of the SQL layer goes through :class:`Firing`.

``Session`` hands each statement its engine transaction wrapped in a :class:`Firing`
(:func:`with_triggers`), so INSERT (VALUES, SELECT, parameter batches), UPDATE (row
expressions and UPDATE ... FROM), DELETE (and DELETE ... USING), upserts (ON CONFLICT,
INSERT OR REPLACE / IGNORE), COPY FROM and bulk ingest (``Session.ingest``: Flight and
``kodiak import``) all reach the engine through the same six methods here. A write to a
table without triggers is passed straight through (one dict lookup). With triggers, the
write and every trigger it fires run inside a savepoint: a failing body undoes the whole
statement, inside an open transaction too.

Timing: BEFORE triggers run before the engine write, over the rows it is about to change
(an INSERT's NEW rows as given, defaults not yet filled in); AFTER triggers run after it,
over the rows as written, once the whole statement has written (PostgreSQL's AFTER ROW
timing; SQLite interleaves rows and triggers). ``UPDATE OF cols`` fires when the SET list
names one of them (an upsert's update columns). Upserts fire INSERT triggers for rows that
are inserted (all rows for INSERT OR REPLACE, as SQLite does) and UPDATE triggers for rows
``ON CONFLICT DO UPDATE`` changes. Bodies run with their trigger owner's rights, and writes
they make fire triggers in turn, up to :data:`MAX_DEPTH` levels.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
from sqlglot import exp

from engine import errors

from ..access import definer_rights
from ..errors import ExecutionError, NotSupportedError, SqlError
from ..execution import ExecContext
from ..expr import repeated
from . import body
from .model import Trigger, triggers_on

MAX_DEPTH = 16
_INDEX = "__kodiak_i"
_savepoints = itertools.count()


def with_triggers(tx: Any, session: Any, snap: Any) -> Any:
    """``tx`` as the statements see it: writes through it fire triggers."""
    if tx is None or isinstance(tx, Firing):
        return tx
    return Firing(tx, session, snap)


def setting(tx: Any, columns: list[str]) -> None:
    """Tell the hook which columns the next ``replace`` sets (UPDATE ... FROM), for
    ``UPDATE OF``."""
    if isinstance(tx, Firing):
        tx.set_columns = frozenset(columns)


class Firing:
    """An engine transaction whose row writes fire the written table's triggers."""

    def __init__(self, tx: Any, session: Any, snap: Any, depth: int = 0) -> None:
        self._tx = tx
        self._session = session
        self._snap = snap
        self._depth = depth
        self.set_columns: frozenset[str] | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tx, name)

    # ------------------------------------------------------------------ the write paths

    def insert(self, name: str, data: Any) -> int:
        trigs = self._on(name, "insert")
        if not trigs:
            return self._tx.insert(name, data)
        return self._atomic(lambda: self._insert(name, data, trigs).num_rows)

    def insert_rows(self, name: str, data: Any) -> pa.Table:
        trigs = self._on(name, "insert")
        if not trigs:
            return self._tx.insert_rows(name, data)
        return self._atomic(lambda: self._insert(name, data, trigs))

    def delete(self, name: str, predicate: Any = None) -> int:
        trigs = self._on(name, "delete")
        if not trigs:
            return self._tx.delete(name, predicate)
        return self._atomic(lambda: self._delete(name, predicate, trigs).num_rows)

    def delete_rows(self, name: str, predicate: Any = None) -> pa.Table:
        trigs = self._on(name, "delete")
        if not trigs:
            return self._tx.delete_rows(name, predicate)
        return self._atomic(lambda: self._delete(name, predicate, trigs))

    def update(self, name: str, assignments: dict, predicate: Any = None) -> int:
        trigs = self._on(name, "update")
        if not trigs:
            return self._tx.update(name, assignments, predicate)
        return self._atomic(lambda: self._update(name, assignments, predicate, trigs)
                            .num_rows)

    def update_rows(self, name: str, assignments: dict, predicate: Any = None) -> pa.Table:
        trigs = self._on(name, "update")
        if not trigs:
            return self._tx.update_rows(name, assignments, predicate)
        return self._atomic(lambda: self._update(name, assignments, predicate, trigs))

    def replace(self, name: str, keys: pa.Table, rows: Any = None) -> int:
        columns, self.set_columns = self.set_columns, None
        trigs = self._on(name, "delete" if rows is None else "update")
        if not trigs:
            return self._tx.replace(name, keys, rows)
        return self._atomic(lambda: self._replace(name, keys, rows, trigs, columns))

    def upsert(self, name: str, data: Any, update_columns: Any = None) -> int:
        trigs = self._on(name, "insert") + self._on(name, "update")
        if not trigs:
            return self._tx.upsert(name, data, update_columns)
        return self._atomic(lambda: self._upsert(name, data, update_columns, trigs))

    def instead(self, view: str, event: str, schema: pa.Schema, old: pa.Table | None,
                new: pa.Table | None, cols: frozenset[str] | None = None) -> None:
        """Run the INSTEAD OF ``event`` triggers of view ``view`` (qualified) over the view
        rows ``old`` / ``new`` (columns of ``schema``), all or nothing; nothing is written
        to the view itself (``statements/instead_of.py`` computes the rows)."""
        trigs = self._on(view, event)
        self._atomic(lambda: self._fire(trigs, "instead of", event, view, old, new, cols,
                                        schema))

    # ------------------------------------------------------------------ each event

    def _insert(self, name: str, data: Any, trigs: list[Trigger]) -> pa.Table:
        table = self._table(name, data)
        self._fire(trigs, "before", "insert", name, None, self._full(name, table))
        rows = self._tx.insert_rows(name, table)
        self._fire(trigs, "after", "insert", name, None, rows)
        return rows

    def _delete(self, name: str, predicate: Any, trigs: list[Trigger]) -> pa.Table:
        if self._chosen(trigs, "before", "delete"):
            self._fire(trigs, "before", "delete", name, self._scan(name, predicate), None)
        rows = self._tx.delete_rows(name, predicate)
        self._fire(trigs, "after", "delete", name, rows, None)
        return rows

    def _update(self, name: str, assignments: dict, predicate: Any, trigs: list[Trigger]
                ) -> pa.Table:
        cols = frozenset(assignments)
        if not (self._chosen(trigs, "before", "update", cols) or
                self._chosen(trigs, "after", "update", cols)):
            return self._tx.update_rows(name, assignments, predicate)
        if self._chosen(trigs, "before", "update", cols):
            old = self._scan(name, predicate)
            new = self._preview(lambda: self._tx.update_rows(name, assignments, predicate))
            self._fire(trigs, "before", "update", name, old, new, cols)
        old = self._scan(name, predicate)
        new = self._tx.update_rows(name, assignments, predicate)
        if old.num_rows != new.num_rows:  # (the engine reads both in the same order)
            raise ExecutionError(f"UPDATE of {name!r}: the rows changed while triggers ran")
        self._fire(trigs, "after", "update", name, old, new, cols)
        return new

    def _replace(self, name: str, keys: pa.Table, rows: Any, trigs: list[Trigger],
                 columns: frozenset[str] | None) -> int:
        if rows is None:  # DELETE ... USING
            old = self._existing(name, keys)
            self._fire(trigs, "before", "delete", name, old, None)
            n = self._tx.replace(name, keys)
            self._fire(trigs, "after", "delete", name, old, None)
            return n
        new = self._table(name, rows)
        old = self._existing(name, keys)
        self._fire(trigs, "before", "update", name, old, new, columns)
        n = self._tx.replace(name, keys, new)
        self._fire(trigs, "after", "update", name, old, new, columns)
        return n

    def _upsert(self, name: str, data: Any, update_columns: Any, trigs: list[Trigger]
                ) -> int:
        table = self._table(name, data)
        key = list(self._info(name).primary_key)
        indexed = table.append_column(_INDEX, pa.array(np.arange(table.num_rows)))
        present = self._snap_now().lookup(name, table.select(key)).select(key)
        fresh = indexed.join(present, key, join_type="left anti").sort_by(_INDEX) \
            .drop_columns([_INDEX])
        inserted = table if update_columns is None else fresh
        old = new = None
        if update_columns:
            hits = indexed.join(present, key, join_type="left semi")
            old, new = self._merged(name, hits, list(update_columns))
        cols = frozenset(update_columns or ())
        self._fire(trigs, "before", "insert", name, None, self._full(name, inserted))
        if old is not None:
            self._fire(trigs, "before", "update", name, old, new, cols)
        n = self._tx.upsert(name, table, update_columns)
        self._fire(trigs, "after", "insert", name, None, self._full(name, inserted))
        if old is not None:
            self._fire(trigs, "after", "update", name, old, new, cols)
        return n

    # ------------------------------------------------------------------ firing

    def _on(self, name: str, event: str) -> list[Trigger]:
        qualified = name if "." in name else f"main.{name}"
        return [t for t in triggers_on(self._snap, qualified) if t.event == event]

    @staticmethod
    def _chosen(trigs: list[Trigger], timing: str, event: str,
                cols: frozenset[str] | None = None) -> list[Trigger]:
        return [t for t in trigs if t.fires_on(timing, event, cols)]

    def _fire(self, trigs: list[Trigger], timing: str, event: str, name: str,
              old: pa.Table | None, new: pa.Table | None,
              cols: frozenset[str] | None = None, schema: pa.Schema | None = None) -> None:
        chosen = self._chosen(trigs, timing, event, cols)
        if not chosen:
            return
        rows = transition(schema or self._info(name).schema, old, new)
        for t in chosen:
            if t.each == "row" and rows.num_rows == 0:
                continue
            if self._depth >= MAX_DEPTH:
                raise ExecutionError(
                    f"trigger {t.name!r} on {name!r}: triggers nested more than {MAX_DEPTH} "
                    "deep (a trigger whose writes fire it again without end?)")
            self._run(t, rows)

    def _run(self, t: Trigger, rows: pa.Table) -> None:
        """Run trigger ``t``'s body once over the transition ``rows``."""
        stmts = _parsed(t.body)
        if t.each == "row" and t.when:
            cond = _parsed_expression(t.when)
            body.rewrite_refs(cond, scalar=False)
            rows = self._query(t, rows, exp.select("*").from_(body.TRANSITION).where(cond))
            if rows.num_rows == 0:
                return
        plan = body.program(stmts, t.name, t.table, t.timing,
                            rows.num_rows if t.each == "row" else 1)
        from ..statements.common import run_query
        from ..statements.registry import statement_for
        for stmt, how in plan:
            with _in_trigger(t):
                ex = self._context(t, rows)
                if how == body.RAISE:
                    raised = run_query(ex.bind, stmt)
                    if raised.num_rows:
                        raise ExecutionError(f"trigger {t.name!r}: "
                                             f"{raised.column(0)[0].as_py()}")
                    continue
                if how == body.CHECK:
                    self._check(t, ex, stmt)
                statement_for(stmt).run(ex, stmt)

    def _context(self, t: Trigger, rows: pa.Table) -> ExecContext:
        session = self._session
        snap = self._tx.snapshot()
        ctx = session.context(snap, None)
        ctx.rights = definer_rights(ctx.rights, t.owner, snap)
        ctx.transition = rows
        inner = Firing(self._tx, session, snap, self._depth + 1)
        return ExecContext(session, snap, inner, None, session.interrupt, ctx)

    def _query(self, t: Trigger, rows: pa.Table, query: exp.Expression) -> pa.Table:
        from ..statements.common import run_query
        with _in_trigger(t, "WHEN"):
            out = run_query(self._context(t, rows).bind, query)
        return out.rename_columns(rows.column_names).cast(rows.schema)

    def _check(self, t: Trigger, ex: ExecContext, stmt: exp.Expression) -> None:
        from ..statements.common import run_query
        info = ex.bind.table(stmt.this, "update")
        if not info.primary_key:
            return  # UPDATE ... FROM refuses it with its own message
        if run_query(ex.bind, body.duplicate_check(stmt, list(info.primary_key))).num_rows:
            raise NotSupportedError(
                f"trigger {t.name!r}: a row of {stmt.this.name!r} is updated by more than one "
                "of the rows the statement changed, and its SET reads the row: row by row "
                "the updates would compound; Kodiak runs trigger bodies set-wise and "
                "refuses it")

    # ------------------------------------------------------------------ rows

    def _snap_now(self) -> Any:
        return self._tx.snapshot()

    def _info(self, name: str) -> Any:
        return self._snap_now().table(name)

    def _table(self, name: str, data: Any) -> pa.Table:
        if isinstance(data, pa.Table):
            return data
        if isinstance(data, pa.RecordBatch):
            return pa.Table.from_batches([data])
        if isinstance(data, list):  # Python tuples in column order (the engine's API)
            names = self._info(name).schema.names
            return pa.Table.from_pylist([dict(zip(names, r, strict=True)) for r in data],
                                        schema=self._info(name).schema)
        return data.read_all()  # a reader: COPY FROM, bulk ingest

    def _full(self, name: str, table: pa.Table) -> pa.Table:
        """``table``'s rows with every column of ``name`` (missing ones get their default,
        or NULL), as NEW."""
        info = self._info(name)
        n = table.num_rows
        return pa.table([table.column(f.name).cast(f.type) if f.name in table.column_names
                         else repeated(pa.scalar(info.defaults[f.name], f.type), n)
                         if info.defaults.get(f.name) is not None else pa.nulls(n, f.type)
                         for f in info.schema],
                        schema=pa.schema([f.with_nullable(True) for f in info.schema]))

    def _scan(self, name: str, predicate: Any) -> pa.Table:
        return self._snap_now().scan(name, None, predicate).read_all()

    def _existing(self, name: str, keys: pa.Table) -> pa.Table:
        """The stored rows with primary keys ``keys``, in the order of ``keys``."""
        key = list(self._info(name).primary_key)
        indexed = keys.select(key).append_column(_INDEX, pa.array(np.arange(keys.num_rows)))
        found = self._snap_now().lookup(name, keys.select(key))
        return found.join(indexed, key).sort_by(_INDEX).select(found.column_names)

    def _merged(self, name: str, hits: pa.Table, update: list[str]
                ) -> tuple[pa.Table, pa.Table]:
        """(old, new) rows of an upsert's updated rows, in input order."""
        info = self._info(name)
        key = list(info.primary_key)
        incoming = hits.select([*key, _INDEX, *update]).rename_columns(
            [*key, _INDEX, *[f"__in_{c}" for c in update]])
        both = self._snap_now().lookup(name, hits.select(key)).join(incoming, key) \
            .sort_by(_INDEX)
        old = both.select(info.schema.names)
        new = pa.table([both.column(f"__in_{f.name}").cast(f.type) if f.name in update
                        else both.column(f.name) for f in info.schema],
                       names=info.schema.names)
        return old, new

    def _preview(self, fn: Callable[[], pa.Table]) -> pa.Table:
        """What ``fn`` would write, undone again (a BEFORE UPDATE's NEW rows)."""
        sp = f"__kodiak_preview_{next(_savepoints)}"
        self._tx.savepoint(sp)
        try:
            return fn()
        finally:
            self._tx.rollback_to(sp)
            self._tx.release(sp)

    def _atomic(self, fn: Callable[[], Any]) -> Any:
        """Run a write and its triggers all or nothing."""
        sp = f"__kodiak_trigger_{next(_savepoints)}"
        self._tx.savepoint(sp)
        try:
            out = fn()
        except BaseException:
            self._tx.rollback_to(sp)
            self._tx.release(sp)
            raise
        self._tx.release(sp)
        return out


def transition(schema: pa.Schema, old: pa.Table | None, new: pa.Table | None) -> pa.Table:
    """The transition relation: ``new$c`` and ``old$c`` for each column ``c`` (NULL columns
    for the side an event lacks), one row per changed row."""
    n = (new if new is not None else old).num_rows  # type: ignore[union-attr]
    cols, names = [], []
    for side, rows in (("new", new), ("old", old)):
        for f in schema:
            names.append(body.column(side, f.name))
            cols.append(rows.column(f.name).cast(f.type) if rows is not None
                        else pa.nulls(n, f.type))
    return pa.table(cols, names=names)


_bodies: dict[str, list[exp.Expression]] = {}


def _parsed(text: str) -> list[exp.Expression]:
    if text not in _bodies:
        from ..dialect import parse
        _bodies[text] = parse(text)
    return _bodies[text]


def _parsed_expression(text: str) -> exp.Expression:
    from ..dialect import parse
    return parse(f"SELECT 1 WHERE {text}")[0].args["where"].this


class _in_trigger:
    """Prefix an error raised while a trigger runs with the trigger's name."""

    def __init__(self, t: Trigger, part: str = "body") -> None:
        self.t, self.part = t, part

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, e: BaseException | None, tb: Any) -> bool:
        if isinstance(e, SqlError | errors.KodiakError) and e.args and \
                isinstance(e.args[0], str) and not e.args[0].startswith("trigger "):
            e.args = (f"trigger {self.t.name!r} ({self.part}): {e.args[0]}", *e.args[1:])
        return False
