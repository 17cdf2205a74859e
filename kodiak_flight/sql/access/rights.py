"""The rights checker a statement binds with (``Context.rights``).

``rights_for(db, snap, user)`` is what a session asks once per statement: the effective
rights of ``user`` (its grants and those of every role it holds, transitively) are computed
once per catalog version and user and then shared, so a check is a few set lookups. A
session with no user (embedded use, a server without authentication) holds every right.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from typing import Any

from ..audit import audit_for
from ..errors import PermissionDenied
from .model import ADMIN, SUPERUSER, grantee

Key = tuple[str, str, str]  # (right, kind, name)


@dataclass(frozen=True)
class Rights:
    """What one user may do in one catalog version."""

    user: str | None
    held: frozenset[Key] = frozenset()
    grantable: frozenset[Key] = frozenset()  # held WITH GRANT OPTION
    roles: frozenset[str] = frozenset()
    db: Any = None  # for the audit log of denials
    superuser: bool = False  # the server's own user (or ``kodiak``): every right

    @property
    def unrestricted(self) -> bool:
        """No user: embedded, or a server without users; every right, and no audit."""
        return self.user is None

    @property
    def is_admin(self) -> bool:
        return self.user is None or self.superuser or self.user == SUPERUSER \
            or ADMIN in self.roles

    def allows(self, right: str, kind: str, name: str = "") -> bool:
        return self.is_admin or _covers(self.held, right, kind, name)

    def may_grant(self, right: str, kind: str, name: str = "") -> bool:
        return self.is_admin or _covers(self.grantable, right, kind, name)

    def require(self, right: str, kind: str, name: str = "") -> None:
        """Raise PermissionDenied (and audit it) unless the user holds ``right``."""
        if not self.allows(right, kind, name):
            what = "the database" if kind == "database" else f"{kind} {name}"
            self.deny(right, what, f"may not {right.upper()} {what}")

    def require_admin(self, doing: str) -> None:
        if not self.is_admin:
            self.deny("admin", doing, f"may not {doing} (admins only)")

    def sees(self, kind: str, name: str) -> bool:
        """Whether metadata shows the object: the user holds some right on it, on its
        schema or on the database."""
        if self.is_admin:
            return True
        schema = name.split(".", 1)[0] if kind != "schema" else name
        return any((k == kind and n == name) or (k == "schema" and n == schema)
                   or k == "database" for _, k, n in self.held)

    def deny(self, action: str, what: str, says: str) -> None:
        if self.db is not None:
            audit_for(self.db).record(user=self.user, action=action, object=what,
                                      allowed=False, detail="permission denied")
        raise PermissionDenied(f"permission denied: user {self.user} {says}",
                               user=self.user, right=action, kind=what.split(" ", 1)[0],
                               name=what)


EVERYTHING = Rights(None)


def definer_rights(current: Rights, owner: str | None, snap: Any) -> Rights:
    """The rights a view's query is bound with: its owner's, as in PostgreSQL (a view made
    by a session without a user, or before access control, holds every right)."""
    if current.unrestricted or owner is None:
        return EVERYTHING
    return rights_for(current.db, snap, owner)


def _covers(held: frozenset[Key], right: str, kind: str, name: str) -> bool:
    schema = name.split(".", 1)[0] if kind != "schema" and "." in name else None
    for r in (right, "all"):
        if (r, kind, name) in held or (r, "database", "") in held:
            return True
        if schema is not None and (r, "schema", schema) in held:
            return True
    return False


class _Cache:
    """Effective rights by user, for one catalog version of one database."""

    def __init__(self, version: int) -> None:
        self.version = version
        self.by_user: dict[str, Rights] = {}


_lock = threading.Lock()
_by_db: weakref.WeakKeyDictionary[Any, _Cache] = weakref.WeakKeyDictionary()


def rights_for(db: Any, snap: Any, user: str | None, *, superuser: bool = False) -> Rights:
    """The rights of ``user`` as ``snap`` records them (cached per catalog version)."""
    if user is None:
        return EVERYTHING
    if superuser:
        return Rights(user, superuser=True, db=db)
    version = snap.catalog_version
    if version < 0:  # inside a transaction that changed the catalog: not shared
        return compute(db, snap, user)
    with _lock:
        cache = _by_db.get(db)
        if cache is None or cache.version != version:
            cache = _by_db[db] = _Cache(version)
        found = cache.by_user.get(user)
    if found is None:
        found = compute(db, snap, user)
        with _lock:
            cache.by_user[user] = found
    return found


def compute(db: Any, snap: Any, user: str) -> Rights:
    """Gather the grants of ``user`` and of every role it holds, transitively."""
    held: set[Key] = set()
    grantable: set[Key] = set()
    seen: set[str] = set()
    todo = [user]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        g = grantee(snap, name)
        todo.extend(g.roles)
        for r in g.rights:
            held.add((r.right, r.kind, r.name))
            if r.grant_option:
                grantable.add((r.right, r.kind, r.name))
    return Rights(user, frozenset(held), frozenset(grantable), frozenset(seen - {user}), db)
