"""Row-level security on writes (PostgreSQL's semantics; policies in
``access/policies.py``).

* UPDATE and DELETE by a user policies restrict take the keyed path (a query picks the
  target's rows by primary key): the target is read there under the user's UPDATE (DELETE)
  and ALL policies, AND-ed with its SELECT policies when the statement reads the table's
  columns, in a ``SecureFilter`` — so the statement's own WHERE is evaluated only on rows
  the user may touch, and an error in it cannot reveal a hidden row.
* The rows an INSERT or UPDATE writes must pass the WITH CHECK predicates of the user's
  INSERT (UPDATE) and ALL policies (a policy's USING where it has no WITH CHECK); else the
  statement fails and nothing is written.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.acero as ac
from sqlglot import exp

from ..access.policies import (
    MARK,
    WriteTarget,
    parse_expression,
    policies_on,
    predicate,
    restricted,
)
from ..binder import Binder, Context
from ..errors import NotSupportedError, PermissionDenied
from ..expr import repeated
from ..functions import as_condition
from .common import compile_row_expr, row_scope


def reads_columns(node: exp.Expression) -> bool:
    """Whether an UPDATE or DELETE reads its target's columns (WHERE, SET values,
    RETURNING): then it needs SELECT on the table and passes its SELECT policies, as in
    PostgreSQL."""
    parts = [node.args.get("where"), node.args.get("returning"),
             *[a.expression for a in node.expressions if isinstance(node, exp.Update)]]
    return any(p is not None and (p.find(exp.Column) is not None or p.find(exp.Star))
               for p in parts)


def check_reads(ctx: Context, info: Any, node: exp.Expression) -> None:
    """SELECT on the target when an UPDATE or DELETE reads its columns."""
    if reads_columns(node):
        ctx.check_table("select", info.name)


def mark_target(query: exp.Select, node: exp.Expression, command: str) -> exp.Select:
    """``query`` (the keyed path's) with its first FROM item, the write's target, marked."""
    frm = query.find(exp.From)
    if frm is not None and isinstance(frm.this, exp.Table):
        commands = (command, "select") if reads_columns(node) else (command,)
        frm.this.meta[MARK] = WriteTarget(commands)
    return query


def is_restricted(ctx: Context, info: Any) -> bool:
    return restricted(ctx.rights, ctx.snap, info.name)


def refuse_upsert(ctx: Context, info: Any, what: str) -> None:
    """Refuse a write that could change rows the user cannot see, or that bypasses the
    checks (COPY FROM streams), by name."""
    if is_restricted(ctx, info):
        raise NotSupportedError(f"{what} into {info.name} is not supported for a user its "
                                "row-level security policies restrict")


def check_new_rows(ctx: Context, info: Any, command: str, data: pa.Table) -> None:
    """Fail unless every row of ``data`` (rows about to be written to ``info``) passes the
    user's WITH CHECK predicates for ``command``."""
    if not data.num_rows or not is_restricted(ctx, info):
        return
    text = predicate(policies_on(ctx.snap, info.name), ctx.rights, command, new_rows=True)
    data = _whole_rows(info, data)
    if data is None:  # values the table cannot hold: the write itself refuses them
        return
    scope, fixes = row_scope(info, info.name.split(".", 1)[1])
    cond = compile_row_expr(ctx, as_condition(Binder(ctx).expr(parse_expression(text), scope)),
                            fixes)
    passing = ac.Declaration.from_sequence([
        ac.Declaration("table_source", ac.TableSourceNodeOptions(data)),
        ac.Declaration("filter", ac.FilterNodeOptions(cond)),  # NULL fails, as false
    ]).to_table(use_threads=False).num_rows
    if passing != data.num_rows:
        raise PermissionDenied(f"new row violates row-level security policy for table "
                               f"{info.name} ({command.upper()} by user {ctx.rights.user})",
                               user=ctx.rights.user, right=command, kind="table",
                               name=info.name)


def _whole_rows(info: Any, data: pa.Table) -> pa.Table | None:
    """``data`` as the table will store it: every column, by name, in the table's types,
    omitted ones at their default (as the engine fills them)."""
    given = {n.lower(): i for i, n in enumerate(data.column_names)}
    cols = []
    try:
        for f in info.schema:
            if f.name.lower() in given:
                cols.append(data.column(given[f.name.lower()]).cast(f.type))
            else:
                cols.append(repeated(pa.scalar(info.defaults.get(f.name), f.type),
                                      data.num_rows))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, TypeError):
        return None
    return pa.Table.from_arrays(cols, schema=info.schema)
