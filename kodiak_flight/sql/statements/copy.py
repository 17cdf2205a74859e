"""COPY table FROM 'file' (streamed into the table) and COPY table|(query) TO 'file'
(streamed out through the format registry)."""

from __future__ import annotations

import pyarrow as pa
from sqlglot import exp

from .. import files
from ..errors import NotSupportedError
from ..execution import ExecContext
from ..executor import Executor
from ..result import Result, written
from ..secrets.store import source_secret
from ..types import normalize
from .common import existing_table
from .query import is_query, plan_query
from .registry import Statement, register
from .row_security import refuse_upsert


@register
class CopyFrom(Statement):
    node = exp.Copy

    def matches(self, node: exp.Expression) -> bool:
        return isinstance(node, exp.Copy) and bool(node.args.get("kind"))

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        """The file's columns by position, streamed into ``tx.insert``."""
        path, fmt, opts = files.copy_target(node)
        source_secret(ex.bind, path, opts)  # checked; local files do not use it
        path = ex.bind.files.path(path)
        if not isinstance(node.this, exp.Table):
            raise NotSupportedError("COPY ... FROM loads into a table")
        info = existing_table(ex.bind, node.this, "insert")
        refuse_upsert(ex.bind, info, "COPY ... FROM")
        target = pa.schema([pa.field(f.name, normalize(f.type)) for f in info.schema])
        reader = files.conform(files.open_reader(path, fmt, opts), target, path)
        return written(ex.tx.insert(info.name, reader))


@register
class CopyTo(Statement):
    node = exp.Copy
    writes = False

    def matches(self, node: exp.Expression) -> bool:
        return isinstance(node, exp.Copy) and not node.args.get("kind")

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        path, fmt, opts = files.copy_target(node)
        source_secret(ex.bind, path, opts)
        path = ex.bind.files.path(path, writing=True)
        src = node.this
        query = src.this if isinstance(src, exp.Subquery) else \
            exp.select("*").from_(src.copy())
        if not is_query(query):
            raise NotSupportedError("COPY ... TO takes a table or a (query)")
        plan, names = plan_query(ex.bind, query)
        return written(files.write(Executor(ex.snap, ex.interrupt).reader(plan, names), path,
                                   fmt, opts))
