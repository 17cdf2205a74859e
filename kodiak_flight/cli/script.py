"""Where ``kodiak sql`` gets its SQL (an argument, ``-c``, ``-f FILE`` or stdin), and whether
that script needs the shell to run it (it holds dot or backslash commands)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from .errors import CliError


def read_script(statements: str | None, command: str | None, file: Path | None) -> str:
    """The script text of exactly one source: the argument, ``-c`` or ``-f`` (``-`` and no
    source at all: stdin)."""
    given = [s for s in (statements, command, file) if s is not None]
    if len(given) > 1:
        raise CliError("give the SQL once: as an argument, with -c or with -f FILE", 2)
    if file is not None and str(file) != "-":
        try:
            return file.read_text(encoding="utf-8")
        except OSError as exc:
            raise CliError(f"cannot read {file}: {exc.strerror}", 2) from None
        except UnicodeDecodeError:
            raise CliError(f"cannot read {file}: it is not UTF-8 text", 2) from None
    text = command if command is not None else statements
    if text is None or text == "-":
        if text is None and file is None and sys.stdin.isatty():
            raise CliError("give SQL as an argument, with -c, with -f FILE, or pipe it on "
                           "stdin", 2)
        text = sys.stdin.read()
    return text


def is_shell_command(line: str) -> bool:
    """A dot command (``.mode csv``) or a psql-style backslash command (``\\dt``)."""
    return line.lstrip().startswith((".", "\\"))


def has_shell_commands(text: str) -> bool:
    """Whether a line of ``text`` that starts a statement is a shell command."""
    from ..sqltext import is_complete

    pending: list[str] = []
    for line in text.splitlines():
        if not pending and is_shell_command(line):
            return True
        if not pending and not line.strip():
            continue
        pending.append(line)
        if is_complete("\n".join(pending)):
            pending = []
    return False


_WRITES_ROWS = re.compile(r"^\s*(?:--[^\n]*\n\s*)*(insert|update|delete|merge|copy|upsert|replace)\b",
                          re.I)


def reports_rows(statement: str, rowcount: int) -> bool:
    """Whether to say "N rows affected": for statements that write rows (a server answers 0
    for DDL, which has no row count)."""
    return rowcount >= 0 and bool(_WRITES_ROWS.match(statement))
