"""INSERT ... ON CONFLICT (key) DO UPDATE SET col = expression [WHERE condition]: the new
values of the rows whose key exists computed by a query over the incoming rows (named
``excluded``) joined to the stored ones by key, then written by key.

The simple form, ``SET col = excluded.col`` with no WHERE, is the engine's upsert itself
(``insert.store``); this module takes the rest: expressions over both rows (``SET n =
t.n + excluded.n``) and a WHERE that keeps a stored row as it is where it fails."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from .. import functions as F
from ..binder import Binder, Context, new_id
from ..errors import ExecutionError, NotSupportedError
from ..executor import Executor
from ..expr import Col, Expr, call, cast, lit
from ..functions import coerce_literal
from ..optimizer import optimize
from ..plan import Filter, Join, Node, Project, Values
from ..scope import ColInfo, Scope
from ..types import normalize
from .common import assignments, set_clauses


def simple(conflict: exp.OnConflict) -> list[str] | None:
    """The columns of ``SET col = excluded.col, ...`` with no WHERE; None for another form."""
    if conflict.args.get("where") is not None:
        return None
    cols = []
    for name, rhs in assignments(conflict.expressions):
        if not (isinstance(rhs, exp.Column) and rhs.text("table").lower() == "excluded"
                and rhs.name == name):
            return None
        cols.append(name)
    return cols


def conflict_key(info: Any, conflict: exp.OnConflict) -> list[str]:
    """The primary key, which the ON CONFLICT target, where written, must name."""
    key = list(info.primary_key)
    if not key:
        raise NotSupportedError(f"ON CONFLICT needs a primary key on {info.name!r}")
    target = [o.this.name if isinstance(o, exp.Ordered) else o.name
              for o in conflict.args.get("conflict_keys") or []]
    if target and sorted(target) != sorted(key):
        raise NotSupportedError(f"ON CONFLICT ({', '.join(target)}) must name the primary key "
                                f"({', '.join(key)}) of {info.name!r}")
    return key


def upsert(tx: Any, ctx: Context, info: Any, table: exp.Expression,
           conflict: exp.OnConflict, data: pa.Table) -> int:
    """Insert the rows of ``data`` whose key is new; for the others, write the stored row
    with the SET expressions applied (where the WHERE holds)."""
    key = conflict_key(info, conflict)
    counts = data.group_by(key, use_threads=False).aggregate([([], "count_all")])
    if counts.num_rows and pc.max(counts.column("count_all")).as_py() > 1:
        raise ExecutionError("ON CONFLICT DO UPDATE cannot change a row twice: the rows "
                             "inserted repeat a key")
    updated = _updated_rows(ctx, info, table, conflict, data, key)
    inserted = tx.upsert(info.name, data, update_columns=[])  # the new keys only
    if updated.num_rows:
        tx.upsert(info.name, updated, update_columns=None)
    return inserted + updated.num_rows


def _updated_rows(ctx: Context, info: Any, table: exp.Expression, conflict: exp.OnConflict,
                  data: pa.Table, key: list[str]) -> pa.Table:
    names = list(info.schema.names)
    sets = set_clauses(info, conflict.expressions)
    if set(sets) & set(key):
        raise NotSupportedError("ON CONFLICT DO UPDATE cannot change the primary key")
    b = Binder(ctx)
    stored, stored_cols = b.from_item(table)
    ids = {n: new_id() for n in data.column_names}
    incoming = Values(data.rename_columns([ids[n] for n in data.column_names]))
    # excluded.x names an incoming value; a bare x the stored one (hidden: never ambiguous)
    excluded = [ColInfo(n, ids[n], data.schema.field(n).type, "excluded", hidden=True)
                for n in data.column_names]
    by_name = {c.name: c for c in stored_cols}
    joined = Join(incoming, stored, "inner", [Col(ids[k], data.schema.field(k).type)
                                              for k in key],
                  [Col(by_name[k].id, by_name[k].type) for k in key])
    scope = Scope(excluded + stored_cols)
    rows: Node = joined
    where = conflict.args.get("where")
    if where is not None:  # a stored row the condition fails stays as it is: not written
        holds = F.as_condition(b.expr(where.this, scope))
        rows = Filter(joined, call("coalesce", [holds, lit(False)]))
    exprs: list[tuple[str, Expr]] = []
    for n in names:
        t = normalize(info.schema.field(n).type)
        old: Expr = Col(by_name[n].id, by_name[n].type)
        exprs.append((new_id(), cast(coerce_literal(b.expr(sets[n], scope), t), t)
                      if n in sets else old))
    out = Executor(ctx.snap).table(optimize(Project(rows, exprs)))
    return out.rename_columns(names)
