"""``kodiak shell``: an interactive SQL shell on prompt_toolkit.

Statements may span lines and end with ``;``. Lines starting with ``.`` or ``\\`` (at the
start of a statement) are shell commands, sqlite's and psql's (``.help`` lists them); ``exit``,
``quit`` and ``help`` work bare too.

With a terminal on stdin the shell uses prompt_toolkit (history in ``history_file``, a whole
statement per entry; completion of keywords, functions, tables and columns; results taller
than the screen go through ``$PAGER``); with piped stdin it reads the lines as a script and
exits non-zero if any statement failed. :meth:`Shell.interactive` also takes any
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

from .cli import describe, modes, pager
from .cli.script import is_shell_command, reports_rows
from .client import Backend, clean_error
from .sqltext import is_complete, split_statements

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
    ".help": "show this help (also help, \\?)",
    ".exit": "leave the shell (also .quit, exit, quit, \\q, Ctrl-D)",
    ".tables": "list tables and views (also \\d; \\dt: tables, as a result)",
    ".schema [TABLE]": "show CREATE TABLE statements with keys and indexes",
    "\\d TABLE": "describe a table: columns, keys, indexes",
    ".mode [MODE]": "how results are shown: " + ", ".join(modes.MODES),
    ".headers on|off": "column names in table, box, markdown and csv modes",
    ".output [FILE]": "write results to FILE; without FILE, to the screen again",
    ".maxrows N": "rows a table shows",
    ".pager on|off": "page results taller than the screen ($PAGER)",
    ".timer on|off": "show how long each statement takes (also \\timing)",
    ".show": "show the current settings",
    ".read FILE": "run the statements and commands in FILE",
}
MODES = modes.MODES
BARE_COMMANDS = {"exit": ".exit", "quit": ".exit", "help": ".help"}
BACKSLASH = {"\\q": ".exit", "\\?": ".help", "\\timing": ".timer",
             "\\o": ".output", "\\i": ".read"}
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
        if line.startswith((".", "\\")) and " " not in line:
            helps = {cmd.split()[0]: text for cmd, text in DOT_COMMANDS.items()}
            helps.update({b: helps.get(dot, "") for b, dot in BACKSLASH.items()})
            helps["\\dt"] = "list tables"
            for name, text in helps.items():
                if name.startswith(line):
                    yield Completion(name, -len(line), display_meta=text)
            return
        if line.startswith((".schema ", "\\d ")):
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
        keywords = {k.lower() for k in KEYWORDS}
        yield from self._match(word, [f for f in self.shell.function_names()
                                      if f not in keywords], "function")

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
                 mode: str = "table", timer: bool = False, max_rows: int = 1000,
                 bail: bool = False) -> None:
        self.backend = backend
        self.console = console
        self.screen = console  # where results go again after ``.output``
        self.output: Any = None  # the file of ``.output FILE``
        self.err = err
        self.notes = console  # row counts ("2 rows affected"); stderr for kodiak sql -f
        self.mode = mode
        self.timer = timer
        self.max_rows = max_rows
        self.headers = True
        self.paging = False  # on in interactive(): a pager only for a person at a terminal
        self.bail = bail  # stop a script at its first error (``kodiak sql -f``)
        self.buffer: list[str] = []
        self.errors = 0
        self._functions: list[str] | None = None
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

    def function_names(self) -> list[str]:
        """The SQL layer's functions (the client's version of it: a server of the same
        Kodiak has the same ones), loaded on first use."""
        if self._functions is None:
            from .sql.functions.registry import functions

            self._functions = sorted({f.name.lower() for f in functions()
                                      if f.name.replace("_", "").isalnum()})
        return self._functions

    def refresh(self) -> None:
        self._tables = None
        self._columns = {}

    # -- input -------------------------------------------------------------------------------

    @property
    def continuing(self) -> bool:
        return bool(self.buffer)

    def feed(self, line: str) -> bool:
        """One line of input; False when the shell should exit."""
        if not self.buffer and is_shell_command(line):
            return self.command(line.strip())
        bare = line.strip().rstrip(";").strip().lower()
        if not self.buffer and bare in BARE_COMMANDS:
            return self.command(BARE_COMMANDS[bare])
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
                    self.show_result(outcome.reader)
                else:
                    self.refresh()  # DDL may have changed the tables
                    if reports_rows(stmt, outcome.rowcount):
                        n = outcome.rowcount
                        self.notes.print(f"{n} row{'' if n == 1 else 's'} affected",
                                         style="dim")
            finally:
                outcome.close()
        except Exception as exc:
            self.error(clean_error(exc))
            return
        if self.timer:
            self.console.print(f"Run Time: {time.perf_counter() - start:.3f} s",
                               style="dim")

    def show_result(self, reader: Any) -> None:
        def draw(console: Console) -> None:
            modes.render(console, reader, self.mode, headers=self.headers,
                         max_rows=self.max_rows)

        if self.paging and self.output is None:
            pager.show(self.console, draw)
        else:
            draw(self.console)

    def error(self, message: str) -> None:
        self.errors += 1
        self.err.print(f"error: {message}", style="red", markup=False, highlight=False)

    # -- dot commands ------------------------------------------------------------------------

    def command(self, line: str) -> bool:
        name, _, arg = line.partition(" ")
        arg = arg.strip()
        name = BACKSLASH.get(name.lower(), name.lower())
        if name in (".exit", ".quit"):
            return False
        handler = {".help": self._help, ".tables": self._tables_cmd, ".schema": self._schema,
                   ".mode": self._mode, ".timer": self._timer, ".read": self._read,
                   "\\d": self._describe, "\\dt": self._list_tables,
                   ".headers": self._headers, ".output": self._output,
                   ".maxrows": self._maxrows, ".pager": self._pager, ".show": self._show
                   }.get(name)
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

    def _known(self, name: str) -> None:
        if name.lower() not in [t.lower() for t in self.table_names()]:
            self.refresh()
            if name.lower() not in [t.lower() for t in self.table_names()]:
                raise LookupError(f"no table {name!r}")

    def _schema(self, arg: str) -> None:
        if arg:
            self._known(arg)
        for name in [arg] if arg else self.table_names():
            self.console.print(describe.create_table(self.backend, name), markup=False,
                               highlight=False)

    def _describe(self, arg: str) -> None:
        """psql's ``\\d``: the tables, or a table's columns and indexes."""
        if not arg:
            self.run_statement(describe.LIST_RELATIONS)
            return
        self._known(arg)
        self.run_statement(describe.columns_query(arg))
        for line in describe.index_lines(self.backend, arg):
            self.console.print(line, markup=False, highlight=False)

    def _list_tables(self, arg: str) -> None:
        self.run_statement(describe.LIST_TABLES)

    def _on_off(self, arg: str, command: str) -> bool:
        if arg.lower() not in ("on", "off"):
            raise ValueError(f"use {command} on or {command} off")
        return arg.lower() == "on"

    def _headers(self, arg: str) -> None:
        self.headers = self._on_off(arg, ".headers")

    def _pager(self, arg: str) -> None:
        self.paging = self._on_off(arg, ".pager")

    def _maxrows(self, arg: str) -> None:
        if not arg.isdigit() or int(arg) < 1:
            raise ValueError("use .maxrows N, N a positive number of rows")
        self.max_rows = int(arg)

    def _output(self, arg: str) -> None:
        from .render import make_console

        if self.output is not None:
            self.output.close()
            self.output, self.console = None, self.screen
        if arg:
            path = Path(arg).expanduser()
            try:
                self.output = open(path, "w", encoding="utf-8")  # noqa: SIM115 - kept open
            except OSError as exc:
                raise OSError(f"cannot write {path}: {exc.strerror}") from None
            self.console = make_console(self.output)

    def _show(self, arg: str) -> None:
        settings = {"mode": self.mode, "headers": "on" if self.headers else "off",
                    "output": self.output.name if self.output is not None else "stdout",
                    "maxrows": str(self.max_rows), "pager": "on" if self.paging else "off",
                    "timer": "on" if self.timer else "off",
                    "database": self.backend.description}
        for key, value in settings.items():
            self.screen.print(f"{key:>9}: {value}", markup=False, highlight=False)

    def _mode(self, arg: str) -> None:
        if not arg:
            self.console.print(self.mode)
            return
        if arg.lower() not in MODES:
            raise ValueError(f"unknown mode {arg!r}; choose from {', '.join(MODES)}")
        self.mode = arg.lower()

    def _timer(self, arg: str) -> None:
        self.timer = not self.timer if not arg else self._on_off(arg, ".timer")

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
            if not self.feed(line.rstrip("\n")) or (self.bail and self.errors):
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
            multiline=True, key_bindings=self._enter_bindings(),
            prompt_continuation="   ...> ", input=input, output=output)
        self.paging = self.console.is_terminal
        self.console.print(f"Kodiak shell on {self.backend.description}. "
                           "End statements with ';', .help for commands.", style="dim")
        while True:
            try:
                text = session.prompt("kodiak> ")
            except KeyboardInterrupt:
                continue
            except EOFError:
                break
            try:
                if not self.run_lines(text.split("\n")):
                    break
            except KeyboardInterrupt:  # Ctrl-C while a statement runs: stop it, go on
                self.buffer = []
                self.error("the statement was cancelled (Ctrl-C)")
        self._output("")

    def ready(self, text: str) -> bool:
        """Whether Enter should run ``text`` (a whole statement or a command) rather than
        start a new line: so that a multi-line statement is one history entry."""
        first = text.lstrip().split("\n", 1)[0]
        return (not text.strip() or is_shell_command(first) or is_complete(text)
                or text.strip().rstrip(";").strip().lower() in BARE_COMMANDS)

    def _enter_bindings(self) -> Any:
        from prompt_toolkit.key_binding import KeyBindings

        kb = KeyBindings()

        @kb.add("enter")
        def _enter(event: Any) -> None:
            buf = event.current_buffer
            if self.ready(buf.text):
                buf.validate_and_handle()
            else:
                buf.insert_text("\n")

        return kb


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
