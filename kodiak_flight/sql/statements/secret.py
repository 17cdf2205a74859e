"""CREATE / DROP / ALTER SECRET and SHOW SECRETS (DuckDB's syntax; ``secrets/syntax.py``).

Secrets are kept by ``secrets/store.py``; these statements check what the user typed, keep
the values out of every message and record each change in the audit log (never a value).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from sqlglot import exp

from engine import errors

from ..audit import audit_for
from ..binder import Context
from ..catalog.secrets_view import SECRETS_SCHEMA, secret_rows
from ..errors import BindError
from ..execution import ExecContext
from ..result import Result, done, rows
from ..secrets import store
from ..secrets.syntax import SecretStatement, is_secret_command, parse_secret
from .registry import Statement, register


class _SecretCommand(Statement):
    node = exp.Command
    sensitive = True
    verb: str

    def matches(self, node: exp.Expression) -> bool:
        return isinstance(node, exp.Command) and node.name.upper() == self.verb and \
            is_secret_command(self.verb, _text(node))

    def parsed(self, node: exp.Expression) -> SecretStatement:
        return parse_secret(self.verb, _text(node))


def _text(node: exp.Expression) -> str:
    tail = node.args.get("expression")
    return tail if isinstance(tail, str) else tail.name if tail is not None else ""


def _audit(ex: ExecContext, action: str, name: str, detail: str = "") -> None:
    audit_for(ex.session.db).record(user=ex.session.user, action=action, object=name,
                                    detail=detail)


def _may_change(ex: ExecContext, verb: str, name: str, existing: store.Secret | None,
                persistent: bool) -> None:
    """Who may change a secret: anyone their own session's temporary ones; a new persistent
    one needs CREATE on the database; replacing, rotating or dropping a persistent one, its
    owner or an admin (else a user could swap the credentials others' reads use)."""
    assert ex.bind is not None
    rights = ex.bind.rights
    if existing is not None and existing.persistent and not rights.is_admin and \
            existing.owner != ex.session.user:
        rights.deny(verb.lower(), f"secret {name}",
                    f"may not {verb} secret {name} (only its owner or an admin may)")
    if persistent and existing is None:
        rights.require("create", "database")


@register
class CreateSecret(_SecretCommand):
    verb = "CREATE"

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        st = self.parsed(node)
        info = ex.session.activity_session
        existing = store.find(ex.bind, st.name)
        if existing is not None:
            if st.if_exists:
                return done()
            if not st.replace:
                raise errors.AlreadyExists(f"secret {st.name!r} already exists (use CREATE "
                                           f"OR REPLACE SECRET, or ALTER SECRET ... ROTATE)")
        _may_change(ex, "REPLACE" if existing is not None else "CREATE", st.name, existing,
                    st.storage != "temporary")
        secret, plain = build(st, ex.session.user, existing)
        try:
            if existing is not None and existing.persistent != secret.persistent:
                store.drop(ex.tx, info, existing)  # it moves between storages
            store.put(ex.tx, info, secret, plain)
        finally:
            plain.clear()
        _audit(ex, "secret.create", st.name,
               f"{'persistent' if secret.persistent else 'temporary'} {secret.type}"
               + (" (replaced)" if existing is not None else ""))
        return done()


def build(st: SecretStatement, owner: str | None, existing: store.Secret | None
          ) -> tuple[store.Secret, dict[str, Any]]:
    """The secret CREATE SECRET describes, and its sensitive fields (to be sealed)."""
    opts = dict(st.options)
    kind = opts.pop("TYPE", None)
    if not isinstance(kind, str) or kind.lower() not in store.TYPES:
        raise BindError(f"CREATE SECRET {st.name!r} needs TYPE, one of "
                        f"{', '.join(store.TYPES)}")
    scope = _scope(st.name, opts.pop("SCOPE", None))
    clear = {k: v for k, v in opts.items() if k in store.CLEAR}
    plain = {k: v for k, v in opts.items() if k not in store.CLEAR}
    version = existing.version + 1 if existing is not None else 1
    secret = store.Secret(st.name, kind.lower(), scope, clear, owner, store.now(), version,
                          st.storage != "temporary", {}, tuple(sorted(plain)))
    return secret, plain


def _scope(name: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(i, str) and i for i in items):
        raise BindError(f"SCOPE of secret {name!r} must be a path prefix or a list of them")
    return tuple(items)


@register
class DropSecret(_SecretCommand):
    verb = "DROP"

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        st = self.parsed(node)
        found = store.find(ex.bind, st.name)
        if found is not None and st.storage is not None and \
                found.persistent != (st.storage == "persistent"):
            found = None
        if found is None:
            if st.if_exists:
                return done()
            store.secret_by_name(ex.bind, st.name)  # raises, naming close names
            raise BindError(f"there is no {st.storage} secret {st.name!r}")
        _may_change(ex, "DROP", st.name, found, False)
        store.drop(ex.tx, ex.session.activity_session, found)
        _audit(ex, "secret.drop", st.name)
        return done()


@register
class AlterSecret(_SecretCommand):
    verb = "ALTER"

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        st = self.parsed(node)
        old = store.secret_by_name(ex.bind, st.name)
        _may_change(ex, "ALTER", st.name, old, False)
        for fixed in ("TYPE", "SCOPE"):
            if fixed in st.options:
                raise BindError(f"ALTER SECRET {st.name!r} ROTATE changes values; {fixed} "
                                f"changes with CREATE OR REPLACE SECRET")
        if not st.options:
            raise BindError(f"ALTER SECRET {st.name!r} ROTATE needs the new values")
        plain = store.fields_of(ex.bind, old)
        try:
            plain.update({k: v for k, v in st.options.items() if k not in store.CLEAR})
            clear = {**old.options, **{k: v for k, v in st.options.items()
                                       if k in store.CLEAR}}
            new = store.Secret(old.name, old.type, old.scope, clear, old.owner, old.created,
                               old.version + 1, old.persistent, {}, tuple(sorted(plain)))
            store.put(ex.tx, ex.session.activity_session, new, plain)
        finally:
            plain.clear()
        _audit(ex, "secret.rotate", st.name, f"version {old.version + 1}")
        return done()


@register
class ShowSecrets(_SecretCommand):
    verb = "SHOW"
    writes = False

    def returns_rows(self, node: exp.Expression) -> bool:
        return True

    def describe(self, ctx: Context, node: exp.Expression) -> pa.Schema:
        return SECRETS_SCHEMA

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        self.parsed(node)
        assert ex.bind is not None
        return rows(pa.Table.from_pylist(secret_rows(ex.bind.snap, ex.bind.viewer),
                                         schema=SECRETS_SCHEMA))
