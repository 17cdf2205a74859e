"""VACUUM: a checkpoint with compaction, run on demand.

The write buffers become segments, small segments merge and deleted rows are dropped
(``Database.checkpoint(compact=True)``). Like PostgreSQL's VACUUM it cannot run inside a
transaction: the checkpoint needs the writer lock the transaction holds.
"""

from sqlglot import exp

from ..errors import TransactionError
from ..execution import ExecContext
from ..result import Result, done
from .registry import Statement, register


@register
class Vacuum(Statement):
    node = exp.Command
    writes = False  # not inside a SQL transaction: it takes the engine's writer lock itself

    def matches(self, node: exp.Expression) -> bool:
        return isinstance(node, exp.Command) and node.name.upper() == "VACUUM"

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        if ex.session.in_transaction:
            raise TransactionError("VACUUM cannot run inside a transaction")
        ex.session.db.checkpoint(compact=True)
        return done()
