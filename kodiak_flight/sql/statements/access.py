"""Roles, grants and users in SQL: CREATE/DROP ROLE, GRANT, REVOKE, SHOW GRANTS,
CREATE/DROP USER and ALTER USER ... PASSWORD (see ``sql/access``).

Only admins create roles and users and grant roles; rights are granted by admins or by
holders of the right WITH GRANT OPTION. Every grant and revoke, and every denied attempt, is
written to the audit log.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pyarrow as pa
from sqlglot import exp

from ..access import model, syntax
from ..access.model import Right
from ..audit import audit_for
from ..binder import Context
from ..catalog import fold
from ..errors import BindError, NotSupportedError
from ..execution import ExecContext
from ..result import Result, done, rows
from .registry import Statement, register


class AccessStatement(Statement):
    """A statement known by its leading words (``CREATE ROLE``)."""

    lead: ClassVar[tuple[str, ...]]
    node = (exp.Command, exp.Grant, exp.Revoke)

    def matches(self, node: exp.Expression) -> bool:
        if not isinstance(node, self.node):
            return False
        return tuple(syntax.words(node)[:len(self.lead)]) == self.lead


def _audit(ex: ExecContext, action: str, obj: str, detail: str = "") -> None:
    audit_for(ex.session.db).record(user=ex.session.user, action=action, object=obj,
                                    detail=detail)


def _rights(ex: ExecContext) -> Any:
    assert ex.bind is not None
    return ex.bind.rights


@register
class CreateRole(AccessStatement):
    lead = ("CREATE", "ROLE")

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        t = syntax.Tokens.of(node)
        t.expect("CREATE", "ROLE")
        name = t.name("role")
        t.end()
        _rights(ex).require_admin(f"CREATE ROLE {name}")
        snap = ex.tx.snapshot()
        if model.role_exists(snap, name):
            raise BindError(f"role {name!r} already exists")
        if _is_user(ex, name):
            raise BindError(f"{name!r} is a user; a role cannot share a user's name")
        ex.tx.create_schema(model.SCHEMA, if_not_exists=True)
        ex.tx.create_object(model.ROLE.name, model.SCHEMA, name,
                            {"created_by": ex.session.user})
        _audit(ex, "role.create", f"role {name}")
        return done()


@register
class DropRole(AccessStatement):
    lead = ("DROP", "ROLE")

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        t = syntax.Tokens.of(node)
        t.expect("DROP", "ROLE")
        if_exists = t.take("IF", "EXISTS")
        name = t.name("role")
        t.end()
        _rights(ex).require_admin(f"DROP ROLE {name}")
        snap = ex.tx.snapshot()
        if name in model.BUILTIN_ROLES:
            raise BindError(f"role {name!r} is built in and cannot be dropped")
        if not model.role_exists(snap, name):
            if if_exists:
                return done()
            raise BindError(f"role {name!r} does not exist")
        ex.tx.drop_object(model.ROLE.name, model.SCHEMA, name)
        _forget(ex.tx, snap, name)
        _audit(ex, "role.drop", f"role {name}")
        return done()


def _forget(tx: Any, snap: Any, name: str) -> None:
    """Drop what ``name`` was granted and every membership in it."""
    tx.drop_object(model.GRANTS.name, model.SCHEMA, name, if_exists=True)
    for g in model.all_grantees(snap):
        if name in g.roles:
            g.roles = [r for r in g.roles if r != name]
            model.put_grantee(tx, g)


@register
class Grant(AccessStatement):
    lead = ("GRANT",)

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        change(ex, node, revoke=False)
        return done()


@register
class Revoke(AccessStatement):
    lead = ("REVOKE",)

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        change(ex, node, revoke=True)
        return done()


def change(ex: ExecContext, node: exp.Expression, *, revoke: bool) -> None:
    parsed = syntax.grant(node, revoke)
    snap = ex.tx.snapshot()
    for who in parsed.grantees:
        _check_grantee(ex, snap, who)
    if isinstance(parsed, syntax.RoleGrant):
        _change_roles(ex, snap, parsed, revoke)
    else:
        _change_rights(ex, snap, parsed, revoke)


def _check_grantee(ex: ExecContext, snap: Any, who: str) -> None:
    if who == model.SUPERUSER:
        raise BindError(f"user {who!r} holds every right; its rights cannot change")
    if not model.role_exists(snap, who) and not _is_user(ex, who, unknown=True):
        raise BindError(f"no user or role named {who!r}")


def _is_user(ex: ExecContext, name: str, unknown: bool = False) -> bool:
    """Whether ``name`` is a user (``unknown`` when there is no user directory to ask)."""
    users = getattr(ex.session, "users", None)
    return unknown if users is None else name in users.names()


def _change_roles(ex: ExecContext, snap: Any, g: syntax.RoleGrant, revoke: bool) -> None:
    verb = "REVOKE" if revoke else "GRANT"
    for role in g.roles:
        _rights(ex).require_admin(f"{verb} role {role}")
        if not model.role_exists(snap, role):
            raise BindError(f"role {role!r} does not exist"
                            + ("" if not _is_user(ex, role) else " (it is a user)"))
    for who in g.grantees:
        entry = model.grantee(snap, who)
        for role in g.roles:
            if revoke:
                entry.roles = [r for r in entry.roles if r != role]
            elif role not in entry.roles:
                if who == role or who in _members_of(snap, role):
                    raise BindError(f"granting role {role!r} to {who!r} would make a cycle")
                entry.roles.append(role)
            _audit(ex, verb.lower(), f"role {role}", f"{'FROM' if revoke else 'TO'} {who}")
        model.put_grantee(ex.tx, entry)


def _members_of(snap: Any, role: str) -> set[str]:
    """The roles ``role`` holds, transitively."""
    seen: set[str] = set()
    todo = [role]
    while todo:
        for r in model.grantee(snap, todo.pop()).roles:
            if r not in seen:
                seen.add(r)
                todo.append(r)
    return seen


def _change_rights(ex: ExecContext, snap: Any, g: syntax.RightsGrant, revoke: bool) -> None:
    assert ex.bind is not None
    target = _target(ex.bind, g.kind, g.target)
    verb = "REVOKE" if revoke else "GRANT"
    shown = "the database" if g.kind == "database" else f"{g.kind} {target}"
    for r in g.rights:
        if not _rights(ex).may_grant(r, g.kind, target):
            _rights(ex).deny(verb.lower(), shown, f"may not {verb} {r.upper()} on {shown}")
    for who in g.grantees:
        entry = model.grantee(snap, who)
        for r in g.rights:
            new = Right(r, g.kind, target, g.grant_option)
            kept = [x for x in entry.rights if (x.right, x.kind, x.name) != (r, g.kind, target)
                    and not (revoke and r == "all" and (x.kind, x.name) == (g.kind, target))]
            if revoke and g.grant_option:  # REVOKE GRANT OPTION FOR: the right stays
                kept += [Right(x.right, x.kind, x.name) for x in entry.rights if x not in kept]
            entry.rights = kept if revoke else [*kept, new]
            _audit(ex, verb.lower(), shown,
                   f"{r.upper()} {'FROM' if revoke else 'TO'} {who}"
                   + (" WITH GRANT OPTION" if g.grant_option and not revoke else ""))
        model.put_grantee(ex.tx, entry)


def _target(ctx: Context, kind: str, written: str) -> str:
    """The object a grant names, as checks see it: a table's qualified name, a schema's."""
    if kind == "database":
        return ""
    if kind == "table":
        schema, _, name = written.rpartition(".")
        rel = ctx.resolver.require(name, schema or None)
        if rel.kind == "system" or rel.schema == "temp":
            raise BindError(f"rights cannot be granted on {rel.qualified!r}")
        return rel.qualified
    if kind == "schema":
        name = fold(written)
        if name not in ctx.resolver.schemas() or name == "information_schema":
            raise BindError(f"schema {written!r} does not exist")
        return name
    if kind == "function":  # checked as schema.name (all overloads and receivers of name)
        schema, _, name = fold(written).rpartition(".")
        return f"{schema or fold(ctx.schema)}.{name}"
    return written  # a secret: its name as the secrets manager keeps it


_GRANT_SCHEMA = pa.schema([("grantee", pa.string()), ("privilege", pa.string()),
                           ("object_type", pa.string()), ("object_name", pa.string()),
                           ("grantable", pa.bool_())])


@register
class ShowGrants(AccessStatement):
    lead = ("SHOW", "GRANTS")
    writes = False

    def returns_rows(self, node: exp.Expression) -> bool:
        return True

    def describe(self, ctx: Context, node: exp.Expression) -> pa.Schema | None:
        return _GRANT_SCHEMA

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        t = syntax.Tokens.of(node)
        t.expect("SHOW", "GRANTS")
        who = t.name("user or role") if t.take("FOR") else None
        t.end()
        rights = _rights(ex)
        me = ex.session.user
        if who is not None and who != me and who not in rights.roles:
            rights.require_admin(f"SHOW GRANTS FOR {who}")
        if who is None and not rights.is_admin:
            who = me
        entries = [model.grantee(ex.snap, who)] if who is not None else \
            model.all_grantees(ex.snap)
        out = []
        for g in entries:
            out += [(g.name, "MEMBER", "role", r, False) for r in g.roles]
            out += [(g.name, r.right.upper(), r.kind, r.name, r.grant_option) for r in g.rights]
        return rows(pa.Table.from_pylist(
            [dict(zip(_GRANT_SCHEMA.names, r, strict=True)) for r in out], schema=_GRANT_SCHEMA))


def _directory(ex: ExecContext, doing: str) -> Any:
    users = getattr(ex.session, "users", None)
    if users is None:
        raise NotSupportedError(f"{doing}: this session has no user directory (users are "
                                "managed by the server: `kodiak serve` with a users file)")
    return users


@register
class CreateUser(AccessStatement):
    lead = ("CREATE", "USER")
    writes = False  # the user directory is outside the engine's transactions

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        t = syntax.Tokens.of(node)
        t.expect("CREATE", "USER")
        name = t.name("user")
        t.take("WITH")
        t.expect("PASSWORD")
        password = t.string("password")
        t.end()
        _rights(ex).require_admin(f"CREATE USER {name}")
        if model.role_exists(ex.snap, name):
            raise BindError(f"{name!r} is a role; a user cannot share a role's name")
        _directory(ex, "CREATE USER").add(name, password)
        _audit(ex, "user.create", f"user {name}")
        return done()


@register
class AlterUser(AccessStatement):
    lead = ("ALTER", "USER")
    writes = False

    def matches(self, node: exp.Expression) -> bool:  # not SET ATTRIBUTE (user_attribute.py)
        return super().matches(node) and "ATTRIBUTE" not in \
            syntax.statement_text(node).upper().split()[3:6]

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        t = syntax.Tokens.of(node)
        t.expect("ALTER", "USER")
        name = t.name("user")
        t.take("WITH")
        t.expect("PASSWORD")
        password = t.string("password")
        t.end()
        if name != ex.session.user:
            _rights(ex).require_admin(f"ALTER USER {name}")
        _directory(ex, "ALTER USER").set_password(name, password)
        _audit(ex, "user.password", f"user {name}")
        return done()


@register
class DropUser(AccessStatement):
    lead = ("DROP", "USER")

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        t = syntax.Tokens.of(node)
        t.expect("DROP", "USER")
        if_exists = t.take("IF", "EXISTS")
        name = t.name("user")
        t.end()
        _rights(ex).require_admin(f"DROP USER {name}")
        users = _directory(ex, "DROP USER")
        if name == model.SUPERUSER or name == ex.session.user:
            raise BindError(f"user {name!r} cannot be dropped (it is {'built in' if name == model.SUPERUSER else 'you'})")
        if name not in users.names():
            if if_exists:
                return done()
            raise BindError(f"user {name!r} does not exist")
        _forget(ex.tx, ex.tx.snapshot(), name)
        users.remove(name)
        _audit(ex, "user.drop", f"user {name}")
        return done()
