"""Server-side files by right: only admins, and holders of the built-in roles
``read_server_files`` / ``write_server_files`` (PostgreSQL's pg_read_server_files and
pg_write_server_files), may read or write files through SQL (COPY, read_csv, FROM 'x.parquet');
the server's ``--file-root`` still bounds where, for everyone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..files import FileAccess
from .model import READ_FILES, WRITE_FILES
from .rights import Rights


@dataclass(frozen=True)
class GuardedFiles(FileAccess):
    rights: Any = None

    def path(self, path: str, *, writing: bool = False) -> str:
        role = WRITE_FILES if writing else READ_FILES
        if role not in self.rights.roles:
            doing = "write" if writing else "read"
            self.rights.deny(f"file.{doing}", f"file {path}",
                             f"may not {doing} server files (role {role} is needed)")
        return super().path(path, writing=writing)


def guarded_files(files: FileAccess, rights: Rights) -> FileAccess:
    """``files`` as ``rights``' holder may use them."""
    return files if rights.is_admin else GuardedFiles(files.roots, rights)
