"""REINDEX name: drop and rebuild an index from the table's rows, or every index of a table.

Kodiak's indexes are kept in step with their tables by every write, so REINDEX is never
needed for correctness; it exists because SQLite and PostgreSQL scripts use it, and it does
what they say: the named index (or each index of the named table) is dropped and built again
from scratch, in one transaction.
"""

from __future__ import annotations

from sqlglot import exp

from ..errors import BindError
from ..execution import ExecContext
from ..result import Result, done
from .registry import Statement, register


@register
class Reindex(Statement):
    node = exp.Command

    def matches(self, node: exp.Expression) -> bool:
        return isinstance(node, exp.Command) and node.name.upper() == "REINDEX"

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        name = node.expression.name.strip().strip('"').lower()
        if not name:
            raise BindError("REINDEX needs the name of an index or a table")
        targets = indexes_named(ex.snap, name)
        if not targets:
            raise BindError(f"no index or table named {name!r} to REINDEX")
        for table, _ in targets:
            ex.bind.check_table("create", table)
        for table, ix in targets:
            ex.tx.drop_index(ix.name)
            ex.tx.create_index(ix.name, table, list(ix.columns), unique=ix.unique)
        return done()


def indexes_named(snap: object, name: str) -> list[tuple[str, object]]:
    """(table, index) pairs REINDEX ``name`` rebuilds: that index, or a table's indexes."""
    found = []
    for table in snap.tables():  # type: ignore[attr-defined]
        info = snap.table(table)  # type: ignore[attr-defined]
        if table.lower() == name or table.lower().split(".")[-1] == name:
            found.extend((table, ix) for ix in info.indexes.values())
        elif name in info.indexes:
            found.append((table, info.indexes[name]))
    return found
