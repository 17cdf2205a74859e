"""The script entry: a text of many statements and control-flow constructs, run by the
interpreter in a session (``Session.execute`` routes here what ``is_script`` recognises)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa
from sqlglot import exp

from engine.errors import KodiakError

from ..binder import param_number
from ..errors import SqlError
from ..result import Result
from ..statements import is_query
from . import ast
from .errors import with_trace
from .interpreter import Interpreter, one_row
from .parser import parse_script


def run_script(session: Any, sql: str,
               params: pa.RecordBatch | pa.Table | None = None) -> Result:
    """Run ``sql`` as a script: a top-level ``RETURN v`` answers with v as one row (column
    ``result``), else the last SQL statement's result. An error leaving it carries the PL
    stack trace in its message."""
    script = parse_script(sql)
    try:
        returned, out = Interpreter(session, script, params).run()
    except BaseException as e:
        raise with_trace(e) from e.__cause__
    return one_row(out, "result") if returned else out


class PreparedScript:
    """A script where a client prepares its SQL (ADBC prepares every statement): run as a
    whole when executed. Its result schema is described when it is sure to be the final
    query's (``result_schema``), else known only once it has run."""

    def __init__(self, session: Any, sql: str) -> None:
        script = parse_script(sql)  # syntax errors surface at prepare, as a statement's do
        self.session = session
        self.text = sql
        self.stmt = None  # no single statement
        self.is_update = False  # it may answer with rows (RETURN, a final query)
        self.dataset_schema: pa.Schema | None = result_schema(session, script)
        self.parameter_schema = pa.schema([])

    def execute(self, params: pa.RecordBatch | pa.Table | None = None, *,
                interrupt: Any = None) -> Result:
        return self.session.execute(self.text, params, interrupt=interrupt)


_ROW_STATEMENTS = (exp.Insert, exp.Update, exp.Delete, exp.Merge)


def result_schema(session: Any, script: ast.Script) -> pa.Schema | None:
    """The schema a script answers with, when it can be known before it runs: its last
    top-level statement is a query reading no variable, it has no ``RETURN``, and every
    statement in it only reads or writes rows (no DDL, no ``CALL``, no ``{name}``), so the
    tables and types the query sees then are those it sees now. Else None."""
    last = script.body[-1] if script.body else None
    while isinstance(last, ast.Block) and last.body:
        last = last.body[-1]
    if not isinstance(last, ast.Sql) or last.code.node is None or \
            not is_query(last.code.node) or _reads_variables(last.code.node):
        return None
    for node in _walk(script.body):
        if isinstance(node, ast.Return):
            return None
        if isinstance(node, ast.Code) and not _rows_only(node):
            return None
    try:
        return session.prepare_parsed(last.code.node, describe=True).dataset_schema
    except (SqlError, KodiakError):  # e.g. a table it reads does not exist yet
        return None


def _rows_only(code: ast.Code) -> bool:
    node = code.node
    return node is not None and (code.expression or is_query(node) or
                                 isinstance(node, _ROW_STATEMENTS))


def _reads_variables(node: exp.Expression) -> bool:
    return any(p.this is not None and param_number(p) is None
               for p in node.find_all(exp.Placeholder))


def _walk(values: Any) -> Iterator[Any]:
    """Every node, catch and code of a script's body, depth first."""
    for v in values:
        if isinstance(v, (ast.Node, ast.Catch, ast.Code)):
            yield v
            if not isinstance(v, ast.Code):
                yield from _walk(vars(v).values())
        elif isinstance(v, (list, tuple)):
            yield from _walk(v)
