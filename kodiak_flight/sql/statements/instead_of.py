"""INSERT, UPDATE and DELETE on a view, run by its INSTEAD OF triggers (SQLite's rule).

A view with an INSTEAD OF trigger for the statement's event takes the write: the statement
computes the view rows it would have changed, set-wise, and hands them to the trigger as the
transition rows (``Firing.instead``); nothing is written to the view itself. NEW of an
INSERT is each row it would have written (the view's columns, by its column list, the
others NULL: a view has no defaults); OLD of an UPDATE or DELETE is each view row its WHERE
selects, and NEW of an UPDATE the same row with the SET applied. A view without such a
trigger is refused by the write as before. The statement reports 0 rows changed, as
SQLite's ``changes()`` does for the view statement itself.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from sqlglot import exp

from ..access import EVERYTHING
from ..binder import Binder, Context
from ..catalog.resolver import Relation
from ..dialect import Grizzly
from ..errors import BindError, NotSupportedError, suggest
from ..triggers.firing import Firing
from ..triggers.model import triggers_on
from .common import cast_table, join_query, quoted, run_query, write_right

_SET = "__kodiak_set_"
_REFUSED = (("returning", "RETURNING"), ("conflict", "ON CONFLICT"),
            ("alternative", "INSERT OR ..."), ("from_", "UPDATE ... FROM"),
            ("from", "UPDATE ... FROM"), ("using", "DELETE ... USING"))


@dataclass(frozen=True)
class ViewTarget:
    """A view written through its INSTEAD OF triggers; stands in for the engine table a
    write statement checks its columns against (``name``, ``schema``)."""

    rel: Relation
    schema: pa.Schema
    primary_key: tuple[str, ...] = ()
    defaults: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.rel.qualified

    def insert(self, tx: Any, data: pa.Table) -> int:
        """INSERT: ``data`` (the statement's rows, by its column list) as NEW."""
        n = data.num_rows
        new = pa.table([data.column(f.name).cast(f.type) if f.name in data.column_names
                        else pa.nulls(n, f.type) for f in self.schema], schema=self.schema)
        _firing(tx).instead(self.name, "insert", self.schema, None, new)
        return 0

    def update(self, tx: Any, ctx: Context, node: exp.Update) -> int:
        """UPDATE: OLD the view rows WHERE selects, NEW them with the SET applied."""
        names = self.schema.names
        sets: dict[str, exp.Expression] = {}
        for a in node.expressions:
            col = a.this.name
            if col not in names:
                raise BindError(f"column {col!r} not found in view {self.rel.name!r}"
                                + suggest(col, names))
            if col in sets:
                raise BindError(f"column {col!r} is assigned more than once")
            sets[col] = a.expression
        items = [f"{quoted(node.this.alias_or_name)}.*"] + [
            f"({e.sql(dialect=Grizzly)}) AS {quoted(_SET + str(i))}"
            for i, e in enumerate(sets.values())]
        found = run_query(ctx, join_query(node, ", ".join(items), []))
        n = len(names)
        old = self._rows(found.select(list(range(n))))
        values = cast_table(found.select(list(range(n, n + len(sets)))).rename_columns(
            list(sets)), [self.schema.field(c).type for c in sets])
        new = pa.table([values.column(f.name) if f.name in sets else old.column(f.name)
                        for f in self.schema], schema=self.schema)
        _firing(tx).instead(self.name, "update", self.schema, old, new, frozenset(sets))
        return 0

    def delete(self, tx: Any, ctx: Context, node: exp.Delete) -> int:
        """DELETE: OLD the view rows WHERE selects."""
        found = run_query(ctx, join_query(node, f"{quoted(node.this.alias_or_name)}.*", []))
        _firing(tx).instead(self.name, "delete", self.schema, self._rows(found), None)
        return 0

    def _rows(self, t: pa.Table) -> pa.Table:
        t = t.rename_columns(self.schema.names)
        return cast_table(t, list(self.schema.types)).cast(self.schema)


def view_target(ctx: Context, node: exp.Expression) -> ViewTarget | None:
    """The view ``node`` (INSERT, UPDATE or DELETE) writes, when an INSTEAD OF trigger of
    the view takes that write; None otherwise (a table, or a view the write refuses)."""
    t = node.this.this if isinstance(node.this, exp.Schema) else node.this
    rel = ctx.resolve(t) if isinstance(t, exp.Table) else None
    if rel is None or rel.kind != "view":
        return None
    event = write_right(node)
    cols = frozenset(a.this.name for a in node.expressions) if event == "update" else None
    if not any(tr.fires_on("instead of", event, cols)  # (UPDATE OF: SQLite's rule too)
               for tr in triggers_on(ctx.snap, rel.qualified)):
        return None
    ctx.check_table(event, rel.qualified)
    for arg, what in _REFUSED:
        if node.args.get(arg):
            raise NotSupportedError(f"{what} on view {rel.name!r} is not supported: a write "
                                    "to a view runs its INSTEAD OF trigger")
    return ViewTarget(rel, view_schema(ctx, rel))


def view_schema(ctx: Context, rel: Relation) -> pa.Schema:
    """The columns of view ``rel`` as its query binds them now. Only bound, never run, so
    bound with every right: an INSERT through the view needs INSERT on it, not SELECT
    (PostgreSQL's rule); an UPDATE or DELETE reads the view's rows with the user's."""
    query = exp.select("*").from_(exp.table_(rel.name, db=rel.schema, quoted=True))
    cols = [c for c in Binder(dataclasses.replace(ctx, rights=EVERYTHING))
            .bind_query(query).cols if not c.hidden]
    return pa.schema([pa.field(c.name, c.type) for c in cols])


def _firing(tx: Any) -> Firing:
    if not isinstance(tx, Firing):
        raise NotSupportedError("a write to a view through its INSTEAD OF trigger needs a "
                                "session's transaction")
    return tx
