"""What to do when a data directory is locked by another process, per command: the server
serving it is named when its ``kodiak-server.json`` says where it listens."""

from __future__ import annotations

from pathlib import Path

from .discovery import find


def in_use(path: Path, command: str) -> str:
    """The message for ``command`` finding ``path`` locked."""
    served = find(path)
    uri = served.uri if served is not None else "grpc://HOST:PORT"
    who = (f"the server at {served.uri} serves it" if served is not None
           else "another process has it open (a server?)")
    todo = {
        "backup": f"back it up through the server: `kodiak backup DEST --uri {uri}`",
        "check": f"check it through the server: `kodiak check --uri {uri}`",
        "restore": "stop the server first: restore replaces the whole directory",
        "serve": f"clients reach it with --uri {uri}",
    }.get(command, f"reach it through the server: --uri {uri}")
    return f"data directory {path} is in use: {who}; {todo}"
