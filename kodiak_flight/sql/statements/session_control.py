"""Statements that steer the session rather than the data: BEGIN, COMMIT, ROLLBACK, USE."""

from __future__ import annotations

from sqlglot import exp

from ..execution import ExecContext
from ..result import Result, done
from .registry import Statement, register


@register
class Begin(Statement):
    node = exp.Transaction
    writes = False

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        ex.session.begin()
        return done()


@register
class Commit(Statement):
    node = exp.Commit
    writes = False

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        ex.session.commit()
        return done()


@register
class Rollback(Statement):
    node = exp.Rollback
    writes = False

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        ex.session.rollback()
        return done()


@register
class Use(Statement):
    node = exp.Use
    writes = False

    def run(self, ex: ExecContext, node: exp.Expression) -> Result:
        ex.session.schema = node.this.name
        return done()
