"""Statements that steer the session rather than the data: BEGIN, COMMIT, ROLLBACK, USE."""

from __future__ import annotations

from typing import ClassVar

from sqlglot import exp

from ..execution import ExecContext
from ..result import Result, done
from .registry import Statement, register


class TransactionControl(Statement):
    """Calls the session's method of the same purpose (``begin``, ``commit``, ``rollback``)."""

    writes = False
    method: ClassVar[str]

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        getattr(ex.session, self.method)()
        return done()


@register
class Begin(TransactionControl):
    node = exp.Transaction
    method = "begin"


@register
class Commit(TransactionControl):
    node = exp.Commit
    method = "commit"


@register
class Rollback(TransactionControl):
    node = exp.Rollback
    method = "rollback"


@register
class Use(Statement):
    node = exp.Use
    writes = False

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        ex.session.schema = node.this.name
        return done()
