"""Secrets: engine objects of kind ``secret`` whose sensitive fields are encrypted at rest,
and the lookup API the features that read remote data call.

A persistent secret is the object ``secret/<name>`` in the reserved schema ``kodiak_system``.
Its clear part (type, scope, region, endpoint, owner, created, version) is readable without
any key; its sensitive fields are one AES-256-GCM ciphertext under the database's DEK
(``keyring.py``), with a random 96-bit nonce per encryption and the secret's name and version
as associated data, so a ciphertext copied to another name or version fails to decrypt.
Decrypting is all or nothing. A temporary secret lives only in its session's memory, sealed
the same way under a key made for this process.

Which fields are clear is a short list (:data:`CLEAR`); every other option is sensitive.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import threading
import weakref
from dataclasses import dataclass, field, replace
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..errors import BindError, ExecutionError, suggest
from . import keyring

SECRET_KIND = "secret"
SECRET_SCHEMA = keyring.KEYRING_SCHEMA
TYPES = ("s3", "http", "bearer", "password", "key", "certificate", "custom")
# options kept in clear; every other option is sensitive and encrypted
CLEAR = frozenset({"REGION", "ENDPOINT", "URL_STYLE", "USE_SSL", "PROVIDER", "ACCOUNT_NAME",
                   "URL_COMPATIBILITY_MODE"})
# where a secret of a type applies when it names no SCOPE (DuckDB's defaults)
DEFAULT_SCOPES = {"s3": ("s3://", "s3a://", "s3n://"), "http": ("http://", "https://")}
_PROCESS_KEY = AESGCM.generate_key(bit_length=256)  # seals temporary secrets


class SecretError(ExecutionError):
    """A secret that cannot be decrypted (tampered with, moved to another name)."""


@dataclass(frozen=True)
class Secret:
    """One secret as the catalog holds it: the clear part, and the sealed fields."""

    name: str
    type: str
    scope: tuple[str, ...]
    options: dict[str, Any]  # the clear options (REGION, ENDPOINT...)
    owner: str | None
    created: str  # ISO 8601, UTC
    version: int
    persistent: bool
    sealed: dict[str, str] = field(repr=False)  # nonce and ciphertext, base64
    sensitive_keys: tuple[str, ...] = ()  # the names (never the values) of sealed fields

    def definition(self) -> dict[str, Any]:
        return {"type": self.type, "scope": list(self.scope), "options": self.options,
                "owner": self.owner, "created": self.created, "version": self.version,
                "sensitive_keys": list(self.sensitive_keys), "sealed": self.sealed}

    @classmethod
    def from_definition(cls, name: str, d: dict[str, Any], persistent: bool) -> Secret:
        return cls(name, d["type"], tuple(d.get("scope") or ()), dict(d.get("options") or {}),
                   d.get("owner"), d["created"], int(d["version"]), persistent,
                   dict(d["sealed"]), tuple(d.get("sensitive_keys") or ()))

    @property
    def scopes(self) -> tuple[str, ...]:
        """Where it applies: its SCOPE, else its type's default prefixes."""
        return self.scope or DEFAULT_SCOPES.get(self.type, ())


def associated_data(name: str, version: int) -> bytes:
    """What each ciphertext is bound to: a value moved to another name or version fails."""
    return json.dumps(["kodiak secret", name, version]).encode()


def seal(key: bytes, name: str, version: int, fields: dict[str, Any]) -> dict[str, str]:
    nonce = os.urandom(12)
    plain = bytearray(json.dumps(fields, ensure_ascii=False).encode())
    try:
        data = AESGCM(key).encrypt(nonce, bytes(plain), associated_data(name, version))
    finally:
        plain[:] = bytes(len(plain))  # the one copy this module owns
    return {"nonce": base64.b64encode(nonce).decode(),
            "ciphertext": base64.b64encode(data).decode()}


def unseal(key: bytes, secret: Secret) -> dict[str, Any]:
    """The sensitive fields of ``secret``, all of them or an error (never some)."""
    try:
        plain = AESGCM(key).decrypt(base64.b64decode(secret.sealed["nonce"]),
                                    base64.b64decode(secret.sealed["ciphertext"]),
                                    associated_data(secret.name, secret.version))
    except (InvalidTag, KeyError, ValueError):
        raise SecretError(f"secret {secret.name!r} cannot be decrypted: its stored value was "
                          f"changed or belongs to another secret") from None
    return json.loads(plain)


# ---------------------------------------------------------------------- where they live

_temp_lock = threading.Lock()
# the temporary secrets of each connection (its activity SessionInfo), by name
_temporary: weakref.WeakKeyDictionary[Any, dict[str, Secret]] = weakref.WeakKeyDictionary()


def temporary(session_info: Any) -> dict[str, Secret]:
    """The temporary secrets of the connection ``session_info`` (a live dict)."""
    if session_info is None:
        return {}
    with _temp_lock:
        return _temporary.setdefault(session_info, {})


def persistent(snap: Any) -> dict[str, Secret]:
    return {o.name: Secret.from_definition(o.name, o.definition, True)
            for o in snap.objects(SECRET_KIND, SECRET_SCHEMA)}


def all_secrets(snap: Any, session_info: Any) -> list[Secret]:
    """Every secret the session sees, temporary ones first, each by name."""
    temp = temporary(session_info)
    return sorted([*temp.values(), *persistent(snap).values()],
                  key=lambda s: (s.name, s.persistent))


def key_for(secret: Secret, snap: Any) -> bytes:
    """The key that opens ``secret``: the process key, or the database's DEK."""
    return keyring.data_key(snap) if secret.persistent else _PROCESS_KEY


def put(tx: Any, session_info: Any, secret: Secret, plain: dict[str, Any]) -> Secret:
    """Store ``secret`` with the sensitive fields ``plain`` (sealed here)."""
    if secret.persistent:
        dek = keyring.ensure_data_key(tx)
        sealed = replace(secret, sealed=seal(dek, secret.name, secret.version, plain))
        tx.create_object(SECRET_KIND, SECRET_SCHEMA, secret.name, sealed.definition(),
                         replace=True)
        return sealed
    sealed = replace(secret, sealed=seal(_PROCESS_KEY, secret.name, secret.version, plain))
    temporary(session_info)[secret.name] = sealed
    return sealed


def drop(tx: Any, session_info: Any, secret: Secret) -> None:
    if secret.persistent:
        tx.drop_object(SECRET_KIND, SECRET_SCHEMA, secret.name)
    else:
        temporary(session_info).pop(secret.name, None)


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


# ---------------------------------------------------------------------- the lookup API


def _session_info(ctx: Any) -> Any:
    return getattr(getattr(ctx, "viewer", None), "session", None)


def find(ctx: Any, name: str) -> Secret | None:
    """The secret called ``name`` (names are case-insensitive unless quoted), or None."""
    temp = temporary(_session_info(ctx))
    if name in temp:
        return temp[name]
    obj = ctx.snap.object(SECRET_KIND, SECRET_SCHEMA, name)
    return None if obj is None else Secret.from_definition(name, obj.definition, True)


def secret_by_name(ctx: Any, name: str) -> Secret:
    """The secret ``name`` for a statement with binder context ``ctx`` (``USING SECRET``);
    a BindError naming it if there is none."""
    found = find(ctx, name)
    if found is None:
        names = [s.name for s in all_secrets(ctx.snap, _session_info(ctx))]
        raise BindError(f"secret {name!r} does not exist" + suggest(name, names))
    return found


def secret_for_path(ctx: Any, path: str, type: str | None = None) -> Secret | None:
    """The secret whose scope is the longest prefix of ``path`` (of ``type``, if given);
    a temporary secret wins a tie, then the smaller name."""
    best: tuple[int, bool, str] | None = None
    chosen = None
    for s in all_secrets(ctx.snap, _session_info(ctx)):
        if type is not None and s.type != type:
            continue
        for prefix in s.scopes:
            if path.startswith(prefix):
                rank = (len(prefix), not s.persistent, s.name)
                if best is None or rank[:2] > best[:2] or \
                        (rank[:2] == best[:2] and rank[2] < best[2]):
                    best, chosen = rank, s
    return chosen


def fields_of(ctx: Any, secret: Secret) -> dict[str, Any]:
    """The decrypted sensitive fields of ``secret`` (needs the master key for a persistent
    one). Callers keep the result no longer than the request that needs it."""
    return unseal(key_for(secret, ctx.snap), secret)


def source_secret(ctx: Any, path: str, opts: dict[str, Any]) -> Secret | None:
    """The secret a file source uses: the one its ``secret`` option names (``USING SECRET``;
    it must exist), else the one whose scope matches ``path``. The option is taken out of
    ``opts``. Local files need none: for them the secret is found and checked, then unused
    (remote sources, which will use it, come later)."""
    named = opts.pop("secret", None)
    if named is not None:
        if not isinstance(named, str) or not named:
            raise BindError("the secret option names a secret: secret = 'name'")
        return secret_by_name(ctx, named)
    return secret_for_path(ctx, path) if "://" in path else None
