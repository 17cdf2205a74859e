"""Key management for secrets: one random data-encryption key (DEK) per database, wrapped by
a master key the database never stores.

The master key comes from the ``KODIAK_MASTER_KEY`` environment variable or from a key file
(``kodiak serve --master-key-file``, the ``serve.master_key_file`` setting), which is refused
when its group or others may read it. It is stretched with PBKDF2-HMAC-SHA256 at 600,000
iterations (OWASP's 2023 figure; FIPS-approved, in every OpenSSL ``cryptography`` ships, and
its cost needs no memory tuning per machine, which scrypt's does) over a random per-database
salt, once per process per (salt, source): the derived key is cached in memory.

The wrapped DEK, the salt and the KDF parameters are the engine object ``keyring/default``
in the reserved schema ``kodiak_system``: transactional, in the WAL and in backups, like any
object. A database that never stored a persistent secret has no keyring and never needs a
master key. Rotating the master key re-wraps the DEK (a new salt, the new master key): the
secrets themselves are not re-encrypted.
"""

from __future__ import annotations

import base64
import hashlib
import os
import stat
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..audit import AUDIT_SCHEMA, audit_for
from ..errors import ExecutionError

KEYRING_KIND = "keyring"
KEYRING_SCHEMA = AUDIT_SCHEMA  # reserved: no SQL statement reaches its objects
KEYRING_NAME = "default"
ENV = "KODIAK_MASTER_KEY"
ITERATIONS = 600_000
_WRAP_AAD = b"kodiak keyring v1"
NEEDED = "secrets need the master key: set KODIAK_MASTER_KEY or pass --master-key-file"


class MasterKeyError(ExecutionError):
    """The master key is missing, unreadable or not the one the keyring was wrapped with."""


@dataclass(frozen=True)
class MasterSource:
    """Where a master key comes from: its bytes and a label (never the key) for messages."""

    secret: bytes
    label: str

    @property
    def fingerprint(self) -> bytes:
        """Identifies the source in the derivation cache without keeping its bytes there."""
        return hashlib.sha256(b"kodiak master source\0" + self.secret).digest()


_key_file: Path | None = None
_lock = threading.Lock()
_derived: dict[tuple[bytes, bytes, int], bytes] = {}  # (salt, source fingerprint, iters)


def use_master_key_file(path: str | os.PathLike[str] | None) -> None:
    """Read the master key from ``path`` from now on (``kodiak serve --master-key-file``);
    None: from ``KODIAK_MASTER_KEY`` only. The file is checked at once."""
    global _key_file
    _key_file = None if path is None else Path(path)
    if _key_file is not None:
        read_key_file(_key_file)


def read_key_file(path: Path) -> MasterSource:
    """The master key in ``path``; refused when its group or others may read it."""
    try:
        st = path.stat()
        if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise MasterKeyError(f"master key file {path} is readable by its group or others; "
                                 f"chmod 600 it")
        data = path.read_bytes().strip()
    except OSError as e:
        raise MasterKeyError(f"cannot read master key file {path}: {e.strerror}") from None
    if not data:
        raise MasterKeyError(f"master key file {path} is empty")
    return MasterSource(data, f"key file {path}")


def current_source() -> MasterSource:
    """The configured master key: the key file if one was given, else the environment."""
    if _key_file is not None:
        return read_key_file(_key_file)
    value = os.environ.get(ENV)
    if not value:
        raise MasterKeyError(NEEDED)
    return MasterSource(value.encode(), ENV)


def derive(source: MasterSource, salt: bytes, iterations: int = ITERATIONS) -> bytes:
    """The 256-bit key-encryption key for ``salt``, derived once per process."""
    key = (salt, source.fingerprint, iterations)
    with _lock:
        hit = _derived.get(key)
    if hit is None:
        hit = hashlib.pbkdf2_hmac("sha256", source.secret, salt, iterations, 32)
        with _lock:
            _derived[key] = hit
    return hit


def forget_derived_keys() -> None:
    """Drop the cached derived keys (tests; a process that rotated its master key)."""
    with _lock:
        _derived.clear()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode())


def _wrap(dek: bytes, source: MasterSource) -> dict[str, Any]:
    salt = os.urandom(16)
    nonce = os.urandom(12)
    iterations = ITERATIONS
    wrapped = AESGCM(derive(source, salt, iterations)).encrypt(nonce, dek, _WRAP_AAD)
    return {"version": 1, "kdf": "pbkdf2-hmac-sha256", "iterations": iterations,
            "salt": _b64(salt), "nonce": _b64(nonce), "wrapped_dek": _b64(wrapped)}


def _unwrap(definition: dict[str, Any], source: MasterSource) -> bytes:
    if definition.get("kdf") != "pbkdf2-hmac-sha256":
        raise MasterKeyError(f"the keyring uses an unknown key derivation "
                             f"{definition.get('kdf')!r}")
    kek = derive(source, _unb64(definition["salt"]), int(definition["iterations"]))
    try:
        return AESGCM(kek).decrypt(_unb64(definition["nonce"]),
                                   _unb64(definition["wrapped_dek"]), _WRAP_AAD)
    except InvalidTag:
        raise MasterKeyError(f"the master key from {source.label} is not the one this "
                             f"database's secrets were stored with; {NEEDED}") from None


def has_keyring(snap: Any) -> bool:
    return snap.object(KEYRING_KIND, KEYRING_SCHEMA, KEYRING_NAME) is not None


def data_key(snap: Any, source: MasterSource | None = None) -> bytes:
    """The database's DEK, unwrapped with the master key (MasterKeyError if none fits)."""
    obj = snap.object(KEYRING_KIND, KEYRING_SCHEMA, KEYRING_NAME)
    if obj is None:
        raise MasterKeyError("this database has no keyring (no persistent secret was stored)")
    return _unwrap(obj.definition, source or current_source())


def ensure_data_key(tx: Any) -> bytes:
    """The DEK of the database ``tx`` writes, made (and wrapped, in ``tx``) if it has none."""
    snap = tx.snapshot()
    if has_keyring(snap):
        return data_key(snap)
    source = current_source()  # before anything is written: no key, no keyring
    dek = AESGCM.generate_key(bit_length=256)
    tx.create_schema(KEYRING_SCHEMA, if_not_exists=True)
    tx.create_object(KEYRING_KIND, KEYRING_SCHEMA, KEYRING_NAME, _wrap(dek, source))
    return dek


def rotate(tx: Any, old: MasterSource, new: MasterSource) -> bool:
    """Re-wrap the DEK under ``new`` (a fresh salt) in ``tx``; False if there is no keyring.
    The secrets stay as they are: they are encrypted with the DEK, which does not change."""
    snap = tx.snapshot()
    if not has_keyring(snap):
        return False
    dek = data_key(snap, old)
    tx.create_object(KEYRING_KIND, KEYRING_SCHEMA, KEYRING_NAME, _wrap(dek, new), replace=True)
    return True


def source_from(key_file: str | os.PathLike[str] | None, env: str = ENV) -> MasterSource:
    """A master key given explicitly: from ``key_file`` if given, else the variable ``env``."""
    if key_file is not None:
        return read_key_file(Path(key_file))
    value = os.environ.get(env)
    if not value:
        raise MasterKeyError(f"no master key: set {env} or pass a key file")
    return MasterSource(value.encode(), env)


def rotate_master_key(db: Any, old: MasterSource, new: MasterSource,
                      user: str | None = None) -> bool:
    """Re-wrap ``db``'s DEK from the master key ``old`` to ``new`` in one transaction, and
    audit it; False if the database has no keyring (nothing to rotate)."""
    tx = db.begin()
    try:
        changed = rotate(tx, old, new)
    except BaseException:
        tx.rollback()
        raise
    tx.commit()
    if changed:
        audit_for(db).record(user=user, action="master_key.rotate", object="keyring",
                             detail=f"from {old.label} to {new.label}")
    return changed
