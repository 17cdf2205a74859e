"""Finding the server that serves a data directory.

``kodiak serve`` writes ``kodiak-server.json`` into its data directory (readable by its owner
only): the URI it listens on, its process id and its TLS certificate. A client command given
that data directory (and no ``--uri``) then reaches the server instead of failing on the
directory's lock. The file is removed when the server exits cleanly; one left behind by a
server that died is recognised as stale because the directory's lock is free again.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path

FILE_NAME = "kodiak-server.json"


@dataclass(frozen=True)
class ServerRecord:
    uri: str
    pid: int
    tls_cert: Path | None  # the server's certificate: a client trusts it for this server


def record(data_dir: Path, uri: str, tls_cert: Path | None) -> Path:
    """Write the file saying where this process serves ``data_dir``; its path."""
    path = data_dir / FILE_NAME
    tmp = data_dir / f".{FILE_NAME}.{os.getpid()}"
    doc = {"uri": uri, "pid": os.getpid(),
           "tls_cert": None if tls_cert is None else str(Path(tls_cert).resolve())}
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(doc, f)
    os.replace(tmp, path)
    return path


def remove(data_dir: Path) -> None:
    """Remove this process's file (not one a later server wrote)."""
    found = read(data_dir)
    if found is not None and found.pid == os.getpid():
        with contextlib.suppress(OSError):
            (data_dir / FILE_NAME).unlink()


def read(data_dir: Path) -> ServerRecord | None:
    try:
        doc = json.loads((data_dir / FILE_NAME).read_text(encoding="utf-8"))
        cert = doc.get("tls_cert")
        return ServerRecord(str(doc["uri"]), int(doc["pid"]), Path(cert) if cert else None)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def directory_locked(data_dir: Path) -> bool:
    """Whether a process holds ``data_dir``'s lock (the engine's ``LOCK`` file)."""
    try:
        fd = os.open(data_dir / "LOCK", os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def find(data_dir: Path) -> ServerRecord | None:
    """The live server serving ``data_dir``, or None (no file, or a stale one)."""
    found = read(data_dir)
    if found is None:
        return None
    if not directory_locked(data_dir):
        return None  # the server died without removing its file
    return found
