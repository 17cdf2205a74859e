"""Row-level security: ``CREATE POLICY name ON t [FOR SELECT | INSERT | UPDATE | DELETE |
ALL] [TO role, ...] [USING (predicate)] [WITH CHECK (predicate)]``, kept as engine objects of
kind ``policy`` in the table's schema.

A table with at least one policy shows a user (other than an admin) only the rows some policy
for one of its roles passes (policies are permissive and OR-ed, as in PostgreSQL; none
applying: no rows). The binder puts the predicate in a :class:`~..plan.SecureFilter` directly
above the table's scan: every join, subquery, aggregate or view reads the table through it,
and the optimizer pushes no predicate of the query below it (but those made only of
comparisons of columns with constants, which cannot fail and so cannot leak a hidden row
through an error), so nothing of the query sees a hidden row.

Writes follow PostgreSQL: UPDATE and DELETE touch only the rows the USING predicates of the
user's UPDATE (DELETE) and ALL policies pass — and, when the statement reads the table's
columns (WHERE, SET, RETURNING), its SELECT policies too (``write_policies.py``); the rows
an INSERT or UPDATE writes must pass the WITH CHECK predicates (the USING one where a policy
has no WITH CHECK), else the statement fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlglot
from sqlglot import exp

from ..catalog.kinds import ObjectKind, register
from ..dialect import Grizzly
from ..errors import BindError
from ..plan import Node, SecureFilter
from ..scope import ColInfo, Scope
from .rights import Rights

POLICY = register(ObjectKind("policy", "policy"))


@dataclass(frozen=True)
class Policy:
    schema: str
    name: str
    table: str  # qualified
    command: str  # "select", "insert", "update", "delete" or "all"
    roles: tuple[str, ...]  # empty: everyone
    using: str | None  # which existing rows it passes, PL-Grizzly SQL (None: no USING)
    check: str | None = None  # which new rows it passes (None: its USING)

    def definition(self) -> dict[str, Any]:
        d = {"table": self.table, "command": self.command, "roles": list(self.roles),
             "using": self.using}
        if self.check is not None:
            d["check"] = self.check
        return d

    @classmethod
    def from_object(cls, o: Any) -> Policy:
        d = o.definition
        return cls(o.schema, o.name, d["table"], d["command"], tuple(d["roles"]), d["using"],
                   d.get("check"))

    def applies(self, command: str, rights: Rights) -> bool:
        """Whether the policy is one of ``rights``' user's for ``command``."""
        return self.command in (command, "all") and (
            not self.roles or rights.user in self.roles or bool(set(self.roles) & rights.roles))


COMMANDS = ("select", "insert", "update", "delete", "all")
MARK = "kodiak_write_target"  # the ``exp.Table.meta`` key of a write's target


@dataclass(frozen=True)
class WriteTarget:
    """Put on the target table of a write's keyed query (``statements/row_security.py``):
    the policy commands its rows are read under. Not a string, so no SQL comment (sqlglot
    reads ``/* sqlglot.meta ... */`` into meta) can forge it."""

    commands: tuple[str, ...]


def parse_expression(text: str) -> exp.Expression:
    """One SQL condition (a policy's predicate), nothing else."""
    try:
        e = sqlglot.parse_one(text, dialect=Grizzly)
    except sqlglot.errors.SqlglotError as err:
        raise BindError(f"cannot read the policy's predicate: {err}") from None
    if not isinstance(e, exp.Condition) or isinstance(e, exp.Query):
        raise BindError(f"a policy's USING must be a condition, not {text!r}")
    return e


def policies_on(snap: Any, qualified: str) -> list[Policy]:
    schema = qualified.split(".", 1)[0]
    return [p for o in snap.objects(POLICY.name, schema)
            for p in [Policy.from_object(o)] if p.table == qualified]


def put_policy(tx: Any, p: Policy) -> None:
    tx.create_object(POLICY.name, p.schema, p.name, p.definition())


def drop_policy(tx: Any, schema: str, name: str) -> None:
    tx.drop_object(POLICY.name, schema, name)


def restricted(rights: Rights, snap: Any, qualified: str) -> bool:
    """Whether row-level security filters what ``rights``' user reads or writes of the
    table (it has policies and the user is no admin)."""
    return not rights.is_admin and bool(policies_on(snap, qualified))


def predicate(policies: list[Policy], rights: Rights, command: str, *, new_rows: bool = False
              ) -> str:
    """The condition (SQL) the user's ``command`` policies put on rows: their USING (or,
    for ``new_rows``, WITH CHECK) predicates OR-ed; ``false`` when none applies."""
    texts = [(p.check or p.using) if new_rows else p.using
             for p in policies if p.applies(command, rights)]
    return " OR ".join(f"({t})" for t in texts if t is not None) or "false"


def secured(binder: Any, info: Any, node: Node, cols: list[ColInfo],
            commands: tuple[str, ...] = ("select",)) -> Node:
    """The scan ``node`` of table ``info`` under this user's policies for every one of
    ``commands`` (AND-ed; a write's target is read under its own command's policies):
    unchanged for admins and tables without policies."""
    rights: Rights = binder.ctx.rights
    if rights.is_admin:
        return node
    policies = policies_on(binder.ctx.snap, info.name)
    if not policies:
        return node
    scope = Scope([ColInfo(f.name, c.id, c.type, info.name.split(".", 1)[1])
                   for f, c in zip(info.schema, cols, strict=True)])
    text = " AND ".join(f"({predicate(policies, rights, c)})" for c in commands)
    try:
        cond = binder.nested(None).expr(parse_expression(text), scope)
    except BindError as e:  # a column it reads was dropped: fail closed, say which
        raise BindError(f"a row-level security policy on {info.name!r} no longer binds: "
                        f"{e}") from None
    return SecureFilter(node, cond)


def check_predicate(binder: Any, info: Any, using: str) -> str:  # USING and WITH CHECK
    """The predicate of a new policy, bound against the table now (a clear error if it
    does not bind), as it is stored."""
    ast = parse_expression(using)
    scope = Scope([ColInfo(f.name, f"p{i}", f.type, info.name.split(".", 1)[1])
                   for i, f in enumerate(info.schema)])
    binder.expr(ast, scope)
    return ast.sql(dialect=Grizzly)
