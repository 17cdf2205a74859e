"""The script entry: a text of many statements and control-flow constructs, run by the
interpreter in a session (``Session.execute`` routes here what ``is_script`` recognises)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from ..result import Result
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
    whole when executed. Its result schema is known only once it has run."""

    def __init__(self, session: Any, sql: str) -> None:
        parse_script(sql)  # syntax errors surface at prepare, as a statement's do
        self.session = session
        self.text = sql
        self.stmt = None  # no single statement
        self.is_update = False  # it may answer with rows (RETURN, a final query)
        self.dataset_schema: pa.Schema | None = None
        self.parameter_schema = pa.schema([])

    def execute(self, params: pa.RecordBatch | pa.Table | None = None, *,
                interrupt: Any = None) -> Result:
        return self.session.execute(self.text, params, interrupt=interrupt)
