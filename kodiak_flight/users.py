"""Server users: a file of salted scrypt hashes in the data directory, and the authenticator
``kodiak serve`` builds from it.

``<data-dir>/users.json`` (mode 0600, replaced atomically)::

    {"format": 1, "users": {"ann": {"hash": "scrypt$16384$8$1$<salt>$<hash>",
                                    "changed": 1718000000.0}}}

``kodiak user add|remove|passwd`` edit it. A running server re-reads it when it changes (it
checks the file's modification time at most once a second), so users can be added, removed
and given new passwords without a restart; a token issued before a user was removed or before
their password changed is refused from then on.
"""

from __future__ import annotations

import functools
import hmac
import json
import os
import re
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path

import pyarrow.flight as flight

from .auth import Authenticator, TokenInfo, hash_password, unb64_std, verify_password

USERS_FILE = "users.json"
_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


@functools.cache
def _dummy_hash() -> str:
    """Checked for unknown user names, so a miss costs the same scrypt work as a hit."""
    return hash_password("kodiak-dummy-password")


class UsersError(Exception):
    pass


def users_path(data_dir: Path | str) -> Path:
    return Path(data_dir) / USERS_FILE


def load_users(path: Path) -> dict[str, dict]:
    """``{name: {"hash": ..., "changed": ...}}``; {} when the file does not exist."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise UsersError(f"cannot read users file {path}: {exc}") from None
    users = doc.get("users") if isinstance(doc, dict) else None
    if not isinstance(users, dict):
        raise UsersError(f"users file {path} is malformed (no 'users' object)")
    for name, entry in users.items():
        if not isinstance(entry, dict) or not str(entry.get("hash", "")).startswith("scrypt$"):
            raise UsersError(f"users file {path}: entry {name!r} has no scrypt hash")
    return users


def save_users(path: Path, users: Mapping[str, dict]) -> None:
    """Write atomically (temporary file, fsync, rename, fsync the directory), mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = json.dumps({"format": 1, "users": dict(sorted(users.items()))}, indent=2) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=".users.", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise UsersError(f"invalid user name {name!r}: use 1-64 letters, digits, _ . @ -")
    return name


def add_user(path: Path, name: str, password: str, *, n: int = 2**14) -> None:
    users = load_users(path)
    if check_name(name) in users:
        raise UsersError(f"user {name!r} already exists (use `kodiak user passwd`)")
    users[name] = {"hash": _hash(password, n), "changed": time.time()}
    save_users(path, users)


def set_password(path: Path, name: str, password: str, *, n: int = 2**14) -> None:
    users = load_users(path)
    if name not in users:
        raise UsersError(f"no user {name!r} in {path}")
    users[name] = {"hash": _hash(password, n), "changed": time.time()}
    save_users(path, users)


def remove_user(path: Path, name: str) -> None:
    users = load_users(path)
    if name not in users:
        raise UsersError(f"no user {name!r} in {path}")
    del users[name]
    save_users(path, users)


def _hash(password: str, n: int) -> str:
    if not password:
        raise UsersError("the password is empty")
    return hash_password(password, n=n)


class UsersAuthenticator(Authenticator):
    """An :class:`Authenticator` for many users: those of the users file, plus optionally
    the one configured by ``KODIAK_USER``/``KODIAK_PASSWORD[_HASH]`` (``extra``).

    The server only calls ``check_basic``, ``issue_token``, ``check_token`` and
    ``needs_renewal``, so it takes this in place of the single-user class unchanged.
    """

    def __init__(self, path: Path, *, extra: Authenticator | None = None,
                 secret: bytes | None = None, token_ttl: float = 12 * 3600,
                 reload_interval: float = 1.0) -> None:
        placeholder = extra._hash if extra is not None else _dummy_hash()
        super().__init__(extra.user if extra is not None else "", placeholder,
                         secret=secret, token_ttl=token_ttl)
        self.path = Path(path)
        self.extra = extra
        self.reload_interval = reload_interval
        self._users: dict[str, dict] = {}
        self._stamp: tuple[int, int] | None = None
        self._checked = 0.0
        self._reload_lock = threading.Lock()
        self._reload(force=True)

    def _reload(self, force: bool = False) -> dict[str, dict]:
        now = time.monotonic()
        if not force and now - self._checked < self.reload_interval:
            return self._users
        with self._reload_lock:
            self._checked = now
            try:
                st = self.path.stat()
                stamp = (st.st_mtime_ns, st.st_size)
            except FileNotFoundError:
                stamp = None
            if force or stamp != self._stamp:
                try:
                    users = load_users(self.path) if stamp is not None else {}
                except UsersError:
                    if force:
                        raise
                    return self._users  # keep the last good copy of a half-edited file
                self._users, self._stamp = users, stamp
                with self._lock:
                    self._basic_ok.clear()
        return self._users

    def users(self) -> list[str]:
        names = set(self._reload())
        if self.extra is not None:
            names.add(self.extra.user)
        return sorted(names)

    def check_basic(self, header_value: str) -> str:
        users = self._reload()
        key = hmac.new(self._secret, header_value.encode("utf-8", "replace"), "sha256").digest()
        now = time.monotonic()
        try:
            raw = unb64_std(header_value.split(" ", 1)[1].strip())
            user, _, password = raw.decode("utf-8").partition(":")
        except (IndexError, ValueError, UnicodeDecodeError):
            raise flight.FlightUnauthenticatedError("malformed Basic credentials") from None
        with self._lock:
            seen = self._basic_ok.get(key)
            if seen is not None and now - seen < 300 and self._known(user):
                return user
        if self.extra is not None and user == self.extra.user:
            ok = verify_password(password, self.extra._hash)
        else:
            entry = users.get(user)
            ok = verify_password(password, entry["hash"] if entry else _dummy_hash()) \
                and entry is not None
        if not ok:
            raise flight.FlightUnauthenticatedError("invalid user name or password")
        with self._lock:
            self._basic_ok[key] = now
            while len(self._basic_ok) > 256:
                self._basic_ok.popitem(last=False)
        return user

    def _known(self, user: str) -> bool:
        return (self.extra is not None and user == self.extra.user) or user in self._users

    def check_token(self, token: str) -> TokenInfo:
        info = super().check_token(token)
        if self.extra is not None and info.user == self.extra.user:
            return info
        entry = self._reload().get(info.user)
        if entry is None:
            raise flight.FlightUnauthenticatedError(
                f"user {info.user!r} no longer exists; authenticate again")
        if info.issued < float(entry.get("changed", 0)):
            raise flight.FlightUnauthenticatedError(
                "the password changed since this token was issued; authenticate again")
        return info


def authenticator_for(data_dir: Path | str, env: Mapping[str, str] | None = None
                      ) -> Authenticator | None:
    """What ``kodiak serve`` authenticates with: the users file when it exists (plus the
    environment's user, if one is configured), else the environment's single user, else None
    (authentication off)."""
    env = os.environ if env is None else env
    single = Authenticator.from_env(env)
    path = users_path(data_dir)
    if not path.exists():
        return single
    secret = env.get("KODIAK_TOKEN_SECRET")
    return UsersAuthenticator(path, extra=single, secret=secret.encode() if secret else None)


class FileUsers:
    """The users file as the SQL layer's user directory (``sql.access.UserDirectory``): what
    CREATE USER, DROP USER and ALTER USER ... PASSWORD write. A running server's
    authenticator sees the change at its next reload (within a second)."""

    def __init__(self, path: Path, *, reserved: tuple[str, ...] = ()) -> None:
        self.path = Path(path)
        self.reserved = reserved  # the environment's user: not in the file

    def names(self) -> list[str]:
        return sorted({*load_users(self.path), *self.reserved})

    def add(self, name: str, password: str) -> None:
        if name in self.reserved:
            raise UsersError(f"user {name!r} already exists (it is the server's own user)")
        add_user(self.path, name, password)

    def remove(self, name: str) -> None:
        remove_user(self.path, name)

    def set_password(self, name: str, password: str) -> None:
        if name in self.reserved:
            raise UsersError(f"user {name!r} is configured by the server's environment; "
                             "change KODIAK_PASSWORD there")
        set_password(self.path, name, password)


def directory_for(auth: Authenticator | None) -> FileUsers | None:
    """The user directory SQL sessions of a server with ``auth`` write to (None: the
    server has no users file, and CREATE USER is refused)."""
    if not isinstance(auth, UsersAuthenticator):
        return None
    return FileUsers(auth.path, reserved=(auth.extra.user,) if auth.extra is not None else ())


def superuser_of(auth: Authenticator | None) -> str | None:
    """The user who holds every right: the environment's (``KODIAK_USER``, default
    ``kodiak``), the single-user server's only user."""
    if isinstance(auth, UsersAuthenticator):
        return auth.extra.user if auth.extra is not None else None
    return auth.user if auth is not None else None
