"""TRUNCATE [TABLE] t [, ...]: every row of each table deleted, as ``DELETE FROM t`` deletes
them (the same rights, row-security policies and DELETE triggers), in one transaction."""

from __future__ import annotations

from sqlglot import exp

from ..errors import NotSupportedError
from ..execution import ExecContext
from ..result import Result, written
from .delete import delete
from .registry import Statement, register


@register
class Truncate(Statement):
    node = exp.TruncateTable

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        if node.args.get("is_database") or node.args.get("cluster") or \
                node.args.get("identity") or node.args.get("option"):
            raise NotSupportedError("TRUNCATE takes table names only (no DATABASE, "
                                    "RESTART IDENTITY or CASCADE)")
        total = 0
        for table in node.expressions:
            n = delete(ex.tx, ex.bind, exp.Delete(this=table.copy()))
            total += n if isinstance(n, int) else n.num_rows
        return written(total)
