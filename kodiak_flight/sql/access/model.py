"""What access control stores: roles and each grantee's grants, as engine objects.

Both live in the reserved schema ``kodiak_system`` (no statement but these can write it):
a role is an object of kind ``role`` (its definition says who created it); everything granted
to one user or role is one object of kind ``grants`` named after the grantee, with a user's
attributes (what ``current_user_attr('key')`` returns to row-level security policies)::

    {"roles": ["analyst"], "rights": [["select", "table", "main.t", false], ...],
     "attributes": {"region": "eu"}}

One object per grantee keeps a check to one lookup per role the user holds, and GRANT and
REVOKE to one read-modify-write. Being engine objects, grants are transactional, in the WAL,
snapshots and backups, and they move the catalog version, which every cache of rights and of
bound plans keys on: a REVOKE takes effect at the next statement.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..catalog.kinds import ObjectKind, register

SCHEMA = "kodiak_system"  # reserved (``catalog/names.py``), shared with the audit log
ROLE = register(ObjectKind("role", "role"))
GRANTS = register(ObjectKind("grants", "grants"))

SUPERUSER = "kodiak"  # the single-user server's user: holds every right, always
ADMIN = "admin"  # the built-in role that holds every right
# built-in roles for the server's files (``--file-root``), as PostgreSQL's
# pg_read_server_files / pg_write_server_files
READ_FILES = "read_server_files"
WRITE_FILES = "write_server_files"
BUILTIN_ROLES = (ADMIN, READ_FILES, WRITE_FILES)

RIGHTS = ("select", "insert", "update", "delete", "create", "usage", "execute", "reveal", "all")
KINDS = ("table", "schema", "function", "secret", "database")
# which rights mean something on which kind (GRANT refuses the rest by name); a right on a
# schema applies to every table (or function, secret) in it, one on the database everywhere
_TABLE = ("select", "insert", "update", "delete")
APPLIES = {
    "table": (*_TABLE, "all"),
    "schema": (*_TABLE, "create", "usage", "execute", "reveal", "all"),
    "function": ("execute", "all"),
    "secret": ("usage", "reveal", "all"),
    "database": RIGHTS,
}


@dataclass(frozen=True)
class Right:
    """One granted right: ``right`` on object ``name`` of ``kind`` ("" for the database)."""

    right: str
    kind: str
    name: str
    grant_option: bool = False

    def shown(self) -> str:
        on = "DATABASE" if self.kind == "database" else f"{self.kind.upper()} {self.name}"
        return f"{self.right.upper()} ON {on}"


@dataclass
class Grantee:
    """What one user or role was granted."""

    name: str
    roles: list[str] = field(default_factory=list)
    rights: list[Right] = field(default_factory=list)
    # a user's attributes (``ALTER USER u SET ATTRIBUTE k = 'v'``, ``current_user_attr``)
    attributes: dict[str, str] = field(default_factory=dict)

    def definition(self) -> dict[str, Any]:
        d: dict[str, Any] = {"roles": sorted(set(self.roles)),
                             "rights": [[r.right, r.kind, r.name, r.grant_option]
                                        for r in self.rights]}
        if self.attributes:
            d["attributes"] = dict(sorted(self.attributes.items()))
        return d

    @classmethod
    def from_object(cls, obj: Any) -> Grantee:
        d = obj.definition
        return cls(obj.name, list(d.get("roles") or []),
                   [Right(str(a), str(b), str(c), bool(g)) for a, b, c, g in d.get("rights") or []],
                   {str(k): str(v) for k, v in (d.get("attributes") or {}).items()})


def grantee(snap: Any, name: str) -> Grantee:
    obj = snap.object(GRANTS.name, SCHEMA, name)
    return Grantee.from_object(obj) if obj is not None else Grantee(name)


def put_grantee(tx: Any, g: Grantee) -> None:
    tx.create_schema(SCHEMA, if_not_exists=True)
    if not g.roles and not g.rights and not g.attributes:
        tx.drop_object(GRANTS.name, SCHEMA, g.name, if_exists=True)
        return
    tx.create_object(GRANTS.name, SCHEMA, g.name, g.definition(), replace=True)


def role_exists(snap: Any, name: str) -> bool:
    return name in BUILTIN_ROLES or snap.object(ROLE.name, SCHEMA, name) is not None


def roles(snap: Any) -> list[str]:
    return sorted({*BUILTIN_ROLES, *(o.name for o in snap.objects(ROLE.name, SCHEMA))})


def all_grantees(snap: Any) -> list[Grantee]:
    return [Grantee.from_object(o) for o in snap.objects(GRANTS.name, SCHEMA)]
