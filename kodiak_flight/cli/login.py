"""The shell logs in at start-up: on a server that needs a password and none was given, it
asks for one (at a terminal) or stops with the clear error, rather than failing at the first
statement."""

from __future__ import annotations

import getpass
import sys
from dataclasses import replace

from ..client import NEEDS_PASSWORD, Backend, ClientError, Remote
from .discovery import find
from .options import Connection


def open_logged_in(conn: Connection) -> Backend:
    """The connection's backend, after one call that proves the server accepts us."""
    backend = conn.open()
    if not isinstance(backend, Remote):
        return backend
    try:
        backend.tables()
        return backend
    except ClientError as exc:
        backend.close()
        if str(exc) != NEEDS_PASSWORD or not sys.stdin.isatty():
            raise
    user = conn.user or "kodiak"
    password = getpass.getpass(f"Password for {user} on {backend.uri}: ")
    served = None if conn.uri else find(conn.data_dir)
    return replace(conn, user=user).remote(
        backend.uri, served.tls_cert if served is not None else None, password=password)
