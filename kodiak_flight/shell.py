"""``kodiak shell``: an interactive SQL shell on prompt_toolkit.

Statements may span lines and end with ``;``. Lines starting with ``.`` (at the start of a
statement) are shell commands: ``.help``, ``.exit``/``.quit``, ``.tables``, ``.schema
[table]``, ``.mode [table|csv|json|ndjson]``, ``.timer on|off``, ``.read FILE``.

With a terminal on stdin the shell uses prompt_toolkit (history in ``history_file``,
completion of keywords, tables and columns); with piped stdin it reads the lines as a script
and exits non-zero if any statement failed. :meth:`Shell.interactive` also takes any
prompt_toolkit input/output, which is how the tests drive it without a TTY.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from rich.console import Console
from rich.table import Table

from .client import Backend, clean_error, is_complete, split_statements
from .render import render_table, render_text

KEYWORDS = sorted({
    "ADD", "ALL", "ALTER", "AND", "ANTI", "AS", "ASC", "BEGIN", "BETWEEN", "BIGINT", "BLOB",
    "BOOLEAN", "BY", "CASE", "CAST", "COLUMN", "COMMIT", "CREATE", "CROSS", "DATE", "DECIMAL",
    "DEFAULT", "DELETE", "DESC", "DISTINCT", "DOUBLE", "DROP", "ELSE", "END", "EXCEPT",
    "EXCLUDE", "EXISTS", "EXPLAIN", "EXTRACT", "FALSE", "FIRST", "FLOAT", "FROM", "FULL",
    "GROUP", "HAVING", "IF", "ILIKE", "IN", "INDEX", "INNER", "INSERT", "INTEGER",
    "INTERSECT", "INTERVAL", "INTO", "IS", "JOIN", "KEY", "LAST", "LEFT", "LIKE", "LIMIT",
    "NOT", "NULL", "NULLS", "OFFSET", "ON", "OR", "ORDER", "OUTER", "OVER", "PARTITION",
    "PRIMARY", "RENAME", "REPLACE", "RIGHT", "ROLLBACK", "SCHEMA", "SELECT", "SEMI", "SET",
    "SMALLINT", "TABLE", "THEN", "TIMESTAMP", "TO", "TRANSACTION", "TRUE", "UNION", "UNIQUE",
    "UPDATE", "USE", "USING", "VALUES", "VARCHAR", "WHEN", "WHERE", "WINDOW", "WITH",
    "avg", "coalesce", "count", "max", "min", "sum",
})
DOT_COMMANDS = {
    ".help": "show this help",
    ".exit": "leave the shell (also .quit, Ctrl-D)",
    ".tables": "list tables",
    ".schema [TABLE]": "show CREATE TABLE statements",
    ".mode [table|csv|json|ndjson]": "how results are shown",
    ".timer on|off": "show how long each statement takes",
    ".read FILE": "run the statements and commands in FILE",
}
MODES = ("table", "csv", "json", "ndjson")
_TABLE_CONTEXT = re.compile(r"\b(from|join|into|update|table|describe)\s+[\w.\"]*$", re.I)
_WORD = re.compile(r"[\w.\"]*$")


class SqlCompleter(Completer):
    """Keywords, table names and column names (of the tables the statement mentions, or of
    every table), matched case-insensitively by prefix."""

    def __init__(self, shell: Shell) -> None:
        self.shell = shell

    def get_completions(self, document: Document, complete_event: CompleteEvent
                        ) -> Iterator[Completion]:
        before = document.text_before_cursor
        word = _WORD.search(before).group()  # type: ignore[union-attr]
        line = document.current_line_before_cursor.lstrip()
        if line.startswith(".") and " " not in line:
            for cmd in DOT_COMMANDS:
                name = cmd.split()[0]
                if name.startswith(line):
                    yield Completion(name, -len(line), display_meta=DOT_COMMANDS[cmd])
            return
        if line.startswith(".schema "):
            yield from self._match(word, self.shell.table_names(), "table")
            return
        if "." in word and not word.startswith('"'):
            table, _, prefix = word.rpartition(".")
            cols = self.shell.column_names(table)
            if cols:
                for c in cols:
                    if c.lower().startswith(prefix.lower()):
                        yield Completion(c, -len(prefix), display_meta="column")
                return
        if _TABLE_CONTEXT.search(before):
            yield from self._match(word, self.shell.table_names(), "table")
            return
        mentioned = [t for t in self.shell.table_names()
                     if re.search(rf"\b{re.escape(t)}\b", document.text, re.I)]
        columns: list[str] = []
        for t in mentioned or self.shell.table_names():
            columns += [c for c in self.shell.column_names(t) if c not in columns]
        yield from self._match(word, columns, "column")
        yield from self._match(word, self.shell.table_names(), "table")
        yield from self._match(word, KEYWORDS, "keyword", keyword=True)

    @staticmethod
    def _match(word: str, names: Iterable[str], meta: str, keyword: bool = False
               ) -> Iterator[Completion]:
        low = word.lower()
        if not word and keyword:
            return
        for n in names:
            if n.lower().startswith(low) and n.lower() != low:
                text = n
                if keyword and n.isupper() and word and word == word.lower():
                    text = n.lower()
                yield Completion(text, -len(word), display_meta=meta)


class Shell:
    def __init__(self, backend: Backend, console: Console, err: Console, *,
                 mode: str = "table", timer: bool = False, max_rows: int = 1000) -> None:
        self.backend = backend
        self.console = console
        self.err = err
        self.mode = mode
        self.timer = timer
        self.max_rows = max_rows
        self.buffer: list[str] = []
        self.errors = 0
        self._tables: list[str] | None = None
        self._columns: dict[str, list[str]] = {}
        self._reading: list[Path] = []

    # -- catalog cache for completion --------------------------------------------------------

    def table_names(self) -> list[str]:
        if self._tables is None:
            try:
                self._tables = self.backend.tables()
            except Exception:
                self._tables = []
        return self._tables

    def column_names(self, table: str) -> list[str]:
        key = table.strip('"').lower()
        if key not in self._columns:
            if key not in [t.lower() for t in self.table_names()]:
                return []
            try:
                self._columns[key] = [c.name for c in self.backend.columns(key)]
            except Exception:
                self._columns[key] = []
        return self._columns[key]

    def refresh(self) -> None:
        self._tables = None
        self._columns = {}

    # -- input -------------------------------------------------------------------------------

    @property
    def continuing(self) -> bool:
        return bool(self.buffer)

    def feed(self, line: str) -> bool:
        """One line of input; False when the shell should exit."""
        if not self.buffer and line.strip().startswith("."):
            return self.command(line.strip())
        if not self.buffer and not line.strip():
            return True
        self.buffer.append(line)
        text = "\n".join(self.buffer)
        if is_complete(text):
            self.buffer = []
            self.run_sql(text)
        return True

    def finish(self) -> None:
        """End of input: run a last statement that lacks its ``;``."""
        if self.buffer:
            text = "\n".join(self.buffer)
            self.buffer = []
            self.run_sql(text)

    def run_sql(self, text: str) -> None:
        for stmt in split_statements(text):
            self.run_interruptible(stmt)

    def run_interruptible(self, stmt: str) -> None:
        """Run ``stmt`` on a worker thread while this (the main) thread waits, so that Ctrl-C
        is seen at once even while the query's work runs in native code: it cancels the
        statement through the backend, waits for it to stop, and raises KeyboardInterrupt."""
        failure: list[BaseException] = []

        def work() -> None:
            try:
                self.run_statement(stmt)
            except BaseException as exc:  # noqa: BLE001 - handed to the main thread
                failure.append(exc)

        worker = threading.Thread(target=work, name="kodiak-statement", daemon=True)
        worker.start()
        try:
            while worker.is_alive():
                worker.join(0.1)
        except KeyboardInterrupt:
            self.backend.cancel()
            worker.join(30)
            raise
        if failure:
            raise failure[0]

    def run_statement(self, stmt: str) -> None:
        """Run one statement and show its rows, its row count or its error."""
        start = time.perf_counter()
        try:
            outcome = self.backend.execute(stmt)
            try:
                if outcome.reader is not None:
                    if self.mode == "table":
                        render_table(self.console, outcome.reader, max_rows=self.max_rows)
                    else:
                        render_text(self.console, outcome.reader, self.mode)
                else:
                    self.refresh()  # DDL may have changed the tables
                    if outcome.rowcount >= 0:
                        n = outcome.rowcount
                        self.console.print(f"{n} row{'' if n == 1 else 's'} affected",
                                           style="dim")
            finally:
                outcome.close()
        except Exception as exc:
            self.error(clean_error(exc))
            return
        if self.timer:
            self.console.print(f"Run Time: {time.perf_counter() - start:.3f} s",
                               style="dim")

    def error(self, message: str) -> None:
        self.errors += 1
        self.err.print(f"error: {message}", style="red", markup=False, highlight=False)

    # -- dot commands ------------------------------------------------------------------------

    def command(self, line: str) -> bool:
        name, _, arg = line.partition(" ")
        arg = arg.strip()
        name = name.lower()
        if name in (".exit", ".quit"):
            return False
        handler = {".help": self._help, ".tables": self._tables_cmd, ".schema": self._schema,
                   ".mode": self._mode, ".timer": self._timer, ".read": self._read}.get(name)
        if handler is None:
            self.error(f"unknown command {name}; .help lists them")
            return True
        try:
            return handler(arg) is not False
        except Exception as exc:
            self.error(clean_error(exc))
            return True

    def _help(self, arg: str) -> None:
        table = Table(show_header=False, box=None)
        for cmd, text in DOT_COMMANDS.items():
            table.add_row(cmd, text)
        self.console.print(table)
        self.console.print("End SQL statements with ';'. They may span lines.")

    def _tables_cmd(self, arg: str) -> None:
        self.refresh()
        for t in self.table_names():
            self.console.print(t, markup=False, highlight=False)

    def _schema(self, arg: str) -> None:
        names = [arg] if arg else self.table_names()
        if arg and arg.lower() not in [t.lower() for t in self.table_names()]:
            self.refresh()
            if arg.lower() not in [t.lower() for t in self.table_names()]:
                raise LookupError(f"no table {arg!r}")
        for name in names:
            cols = self.backend.columns(name)
            pk = self.backend.primary_key(name)
            lines = [f"  {c.name} {c.type_name}{'' if c.nullable or c.name in pk else ' NOT NULL'}"
                     for c in cols]
            if pk:
                lines.append(f"  PRIMARY KEY ({', '.join(pk)})")
            self.console.print(f"CREATE TABLE {name} (\n" + ",\n".join(lines) + "\n);",
                               markup=False, highlight=False)

    def _mode(self, arg: str) -> None:
        if not arg:
            self.console.print(self.mode)
            return
        if arg.lower() not in MODES:
            raise ValueError(f"unknown mode {arg!r}; choose from {', '.join(MODES)}")
        self.mode = arg.lower()

    def _timer(self, arg: str) -> None:
        if arg.lower() not in ("on", "off"):
            raise ValueError("use .timer on or .timer off")
        self.timer = arg.lower() == "on"

    def _read(self, arg: str) -> bool:
        if not arg:
            raise ValueError("use .read FILE")
        path = Path(arg).expanduser()
        if path.resolve() in self._reading:
            raise ValueError(f"{path} reads itself")
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise OSError(f"cannot read {path}: {exc.strerror}") from None
        saved, self.buffer = self.buffer, []
        self._reading.append(path.resolve())
        try:
            keep_going = self.run_lines(text.splitlines())
        finally:
            self._reading.pop()
            self.buffer = saved
        return keep_going

    # -- loops -------------------------------------------------------------------------------

    def run_lines(self, lines: Iterable[str]) -> bool:
        """Run a script; False if it asked to exit."""
        for line in lines:
            if not self.feed(line.rstrip("\n")):
                self.buffer = []
                return False
        self.finish()
        return True

    def interactive(self, *, input: Any = None, output: Any = None,
                    history_file: Path | None = None) -> None:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.history import FileHistory, InMemoryHistory

        history: Any = InMemoryHistory()
        if history_file is not None:
            try:
                history_file.parent.mkdir(parents=True, exist_ok=True)
                history_file.touch(exist_ok=True)
                history = redacting(FileHistory)(str(history_file))
            except OSError:
                pass
        session: PromptSession[str] = PromptSession(
            history=history, completer=SqlCompleter(self), complete_while_typing=False,
            input=input, output=output)
        self.console.print(f"Kodiak shell on {self.backend.description}. "
                           "End statements with ';', .help for commands.", style="dim")
        while True:
            try:
                line = session.prompt("   ...> " if self.continuing else "kodiak> ")
            except KeyboardInterrupt:
                self.buffer = []
                continue
            except EOFError:
                break
            try:
                if not self.feed(line):
                    break
            except KeyboardInterrupt:  # Ctrl-C while a statement runs: stop it, go on
                self.buffer = []
                self.error("the statement was cancelled (Ctrl-C)")
        self.finish()


def redacting(base: type) -> type:
    """``base`` (a prompt_toolkit history) storing lines about secrets redacted: the option
    list of CREATE / ALTER SECRET cut, string literals of lines naming a secret, password,
    token or key masked (``sql.activity.shown_text``)."""
    from .sql.activity import shown_text

    class Redacting(base):  # type: ignore[misc, valid-type]
        def store_string(self, string: str) -> None:
            redacted = shown_text(string)
            super().store_string(string if " ".join(string.split()) == redacted else redacted)

    return Redacting
