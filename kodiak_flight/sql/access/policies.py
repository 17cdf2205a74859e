"""Row-level security: ``CREATE POLICY name ON t [FOR SELECT | ALL] [TO role, ...] USING
(predicate)``, kept as engine objects of kind ``policy`` in the table's schema.

A table with at least one policy shows a user (other than an admin) only the rows some policy
for one of its roles passes (policies are permissive and OR-ed, as in PostgreSQL; none
applying: no rows). The binder puts the predicate in a :class:`~..plan.SecureFilter` directly
above the table's scan: every join, subquery, aggregate or view reads the table through it,
and the optimizer pushes no predicate of the query below it (but those made only of
comparisons of columns with constants, which cannot fail and so cannot leak a hidden row
through an error), so nothing of the query sees a hidden row.
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
    command: str  # "select" or "all"
    roles: tuple[str, ...]  # empty: everyone
    using: str  # the predicate, PL-Grizzly SQL

    def definition(self) -> dict[str, Any]:
        return {"table": self.table, "command": self.command, "roles": list(self.roles),
                "using": self.using}

    @classmethod
    def from_object(cls, o: Any) -> Policy:
        d = o.definition
        return cls(o.schema, o.name, d["table"], d["command"], tuple(d["roles"]), d["using"])


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


def secured(binder: Any, info: Any, node: Node, cols: list[ColInfo]) -> Node:
    """The scan ``node`` of table ``info`` under its policies for this user (unchanged for
    admins and tables without policies)."""
    rights: Rights = binder.ctx.rights
    if rights.is_admin:
        return node
    policies = policies_on(binder.ctx.snap, info.name)
    if not policies:
        return node
    mine = [p for p in policies
            if not p.roles or rights.user in p.roles or set(p.roles) & rights.roles]
    scope = Scope([ColInfo(f.name, c.id, c.type, info.name.split(".", 1)[1])
                   for f, c in zip(info.schema, cols, strict=True)])
    if not mine:
        return SecureFilter(node, binder.expr(parse_expression("false"), scope))
    text = " OR ".join(f"({p.using})" for p in mine)
    try:
        cond = binder.nested(None).expr(parse_expression(text), scope)
    except BindError as e:  # a column it reads was dropped: fail closed, say which
        raise BindError(f"a row-level security policy on {info.name!r} no longer binds: "
                        f"{e}") from None
    return SecureFilter(node, cond)


def check_predicate(binder: Any, info: Any, using: str) -> str:
    """The predicate of a new policy, bound against the table now (a clear error if it
    does not bind), as it is stored."""
    ast = parse_expression(using)
    scope = Scope([ColInfo(f.name, f"p{i}", f.type, info.name.split(".", 1)[1])
                   for i, f in enumerate(info.schema)])
    binder.expr(ast, scope)
    return ast.sql(dialect=Grizzly)
