"""Errors the engine raises; the layers above map them to SQL and Flight status codes."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class KodiakError(Exception):
    """Base of every error Kodiak raises on purpose."""


class NotFound(KodiakError):
    """A schema, table, column or index that does not exist."""

    @classmethod
    def named(cls, kind: str, name: str, candidates: Iterable[str] = ()) -> NotFound:
        close = difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        return cls(f"{kind} {name!r} does not exist{hint}")


class AlreadyExists(KodiakError):
    """Creating a catalog object whose name is taken."""


class ConstraintError(KodiakError):
    """A primary key, unique or NOT NULL constraint would be violated; nothing was written."""


class SchemaError(KodiakError):
    """Data that does not fit a table: unknown column, a type that cannot be cast."""


class ConflictError(KodiakError):
    """Another transaction holds the writer lock for longer than the caller would wait."""


class CorruptionError(KodiakError):
    """Stored bytes fail their checksum or format; names the file and offset."""


class StorageError(KodiakError):
    """An I/O failure; the operation that met it changed nothing."""


class DatabaseClosed(KodiakError):
    """The handle was closed, or poisoned by a failed fsync and must be reopened."""
