"""The interpreter of scripts and block bodies.

It walks the ``pl/ast.py`` tree; every SQL statement runs through the session exactly as a
statement sent alone would (``Session.run_statement``: vectorised, in the session's
transaction rules), and every condition or value is bound as SQL (``SELECT <expr>``) with
the variables as parameter slots. Each statement is prepared once, on its AST node, so a
loop reuses its plans with the variables' new values; a value needing no query is computed
from its bound expression on Arrow scalars (``pl/scalar.py``). No Python ``eval`` of
anything a user wrote. The session's interrupt is checked before each statement and each loop turn,
so cancellation and the query timeout stop an endless loop.
"""

from __future__ import annotations

import itertools
from typing import Any

import pyarrow as pa
from sqlglot import exp

from engine.errors import KodiakError

from ..errors import SqlError, SqlTypeError
from ..executor import Executor
from ..expr import Lit, SubqueryValue
from ..internal import reported
from ..plancache import Template, instantiate, plain
from ..result import Result, done, rows
from . import ast
from .errors import (
    ERROR,
    OWNER,
    TRACE,
    UNCATCHABLE,
    ControlError,
    Frame,
    PlException,
    PlLimit,
    add_frame,
    error_value,
)
from .exceptions import exception_type, raise_value
from .limits import limits_of
from .scalar import evaluate, one_row_expression

_savepoints = itertools.count()


class _Return(Exception):  # noqa: N818 - control flow, not an error
    def __init__(self, value: pa.Scalar | None) -> None:
        self.value = value


class _Break(Exception):  # noqa: N818
    pass


class _Continue(Exception):  # noqa: N818
    pass


def catchable(error: BaseException) -> bool:
    """Errors a ``CATCH`` may handle: Kodiak's own, never cancellation or the timeout."""
    return isinstance(error, (SqlError, KodiakError, pa.ArrowException)) and \
        not isinstance(error, UNCATCHABLE)


class Interpreter:
    """Runs one script or function body in a session."""

    def __init__(self, session: Any, script: ast.Script,
                 params: pa.RecordBatch | pa.Table | None = None) -> None:
        self.session = session
        self.script = script
        self.params = params  # ``$1``-style parameters, passed to each SQL statement
        self.row = _one_row(params)  # ... as scalars (None: several rows)
        self.last: Result = done()
        self.catching: list[BaseException] = []  # errors being handled (bare RAISE)

    @property
    def variables(self) -> Any:
        return self.session.variables

    def run(self, values: dict[str, pa.Scalar] | None = None) -> tuple[bool, Any]:
        """Run in a new frame holding ``values``: (whether it returned, the value or the
        last statement's result)."""
        with self.variables.frame(values):
            try:
                self.body(self.script.body)
            except _Return as r:
                return True, r.value
            except (_Break, _Continue) as e:
                raise ControlError(f"{'BREAK' if isinstance(e, _Break) else 'CONTINUE'} "
                                   "outside a loop") from None
        return False, self.last

    def body(self, nodes: list[ast.Node]) -> None:
        for node in nodes:
            self.check()
            try:
                getattr(self, "_" + type(node).__name__.lower())(node)
            except (_Return, _Break, _Continue):
                raise
            except BaseException as e:
                add_frame(e, Frame(self.script.name, node.line), self)
                raise

    def check(self) -> None:
        interrupt = self.session.interrupt
        if interrupt is not None:
            interrupt.check()

    # -- values ---------------------------------------------------------------------------

    def prepared(self, code: ast.Code) -> Any:
        """``code``'s prepared statement (``SELECT <expr>`` for an expression), made once per
        session and kept on the node; None for text with ``{name}`` (parsed as it runs)."""
        if code.node is None:
            return None
        hit = code.compiled
        if hit is None or hit[0] is not self.session:
            stmt = exp.Select(expressions=[code.node]) if code.expression else code.node
            hit = code.compiled = (self.session, self.session.prepare_parsed(stmt))
        return hit[1]

    def value(self, code: ast.Code) -> pa.Scalar:
        """An expression's value: ``SELECT <expr>`` with the variables bound (or a
        ``CALL``'s one value), computed on scalars when it needs no query."""
        prepared = self.prepared(code)
        if prepared is None:
            node = code.resolve(self.variables.visible())
            table = self.query(exp.Select(expressions=[node]) if code.expression else node)
        elif code.expression and self.row is not None:
            tpl, values = prepared.bound(self.row)
            v = self._scalar(prepared, tpl, values)
            if v is not None:
                return v
            table = materialised(prepared.run_bound(tpl, values)).table
        else:
            table = materialised(prepared.run(self.params)).table
        if table.num_rows != 1:
            raise SqlTypeError("a value must be one row")  # a set-returning expression
        return table.column(0)[0]

    def _scalar(self, prepared: Any, tpl: Template, values: list[pa.Scalar]
                ) -> pa.Scalar | None:
        """The value of a ``SELECT <expr>`` template computed on scalars (``pl/scalar.py``),
        its subqueries run alone; None when it must run as a query."""
        e = one_row_expression(tpl.plan)
        if e is None:
            return None
        session = self.session

        def subquery(sq: SubqueryValue) -> Lit:
            run = Executor(session.snapshot(), session.interrupt)
            out = run.resolve(instantiate(sq, plain(values)))
            assert isinstance(out, Lit)
            return out

        with reported(prepared.stmt):
            return evaluate(e, values, subquery)

    def condition(self, code: ast.Code, what: str) -> bool:
        v = self.value(code)
        if not (pa.types.is_boolean(v.type) or pa.types.is_null(v.type)):
            raise SqlTypeError(f"the condition of {what} must be a boolean, not "
                               f"{v.type} ({code.text.strip()!r})")
        return v.as_py() is True

    def query(self, stmt: exp.Expression) -> pa.Table:
        result = self.session.run_statement(stmt, self.params)
        return materialised(result).table

    # -- statements -----------------------------------------------------------------------

    def _sql(self, node: ast.Sql) -> None:
        prepared = self.prepared(node.code)
        if prepared is not None:
            self.last = materialised(prepared.run(self.params))
            return
        stmt = node.code.resolve(self.variables.visible())
        self.last = materialised(self.session.run_statement(stmt, self.params))

    def _let(self, node: ast.Let) -> None:
        self.variables.let(node.name, self.value(node.value))

    def _assign(self, node: ast.Assign) -> None:
        self.variables.assign(node.name, self.value(node.value))

    def _block(self, node: ast.Block) -> None:
        with self.variables.block():
            self.body(node.body)

    def _if(self, node: ast.If) -> None:
        for cond, body in node.branches:
            if self.condition(cond, "IF"):
                self._block(ast.Block(node.line, body))
                return
        if node.otherwise is not None:
            self._block(ast.Block(node.line, node.otherwise))

    def _while(self, node: ast.While) -> None:
        most = limits_of(self.session).max_loop_iterations
        turns = 0
        while self.condition(node.condition, "WHILE"):
            self.check()
            turns += 1
            if most is not None and turns > most:
                raise _too_many("WHILE", most)
            if not self._turn(node.body):
                break

    def _for(self, node: ast.For) -> None:
        table = self.query(node.query.resolve(self.variables.visible()))
        struct = pa.StructArray.from_arrays(
            [c.combine_chunks() for c in table.columns], names=table.column_names) \
            if table.num_columns else None
        most = limits_of(self.session).max_loop_iterations
        for i in range(table.num_rows):  # control flow over a query's rows, not a hot path
            self.check()
            if most is not None and i >= most:
                raise _too_many("FOR", most)
            assert struct is not None
            with self.variables.block():
                self.variables.let(node.var, struct[i])
                if not self._turn(node.body):
                    break

    def _turn(self, body: list[ast.Node]) -> bool:
        """One turn of a loop's body; False on BREAK."""
        try:
            with self.variables.block():
                self.body(body)
        except _Break:
            return False
        except _Continue:
            pass
        return True

    def _return(self, node: ast.Return) -> None:
        raise _Return(self.value(node.value) if node.value is not None else None)

    def _break(self, node: ast.Break) -> None:
        raise _Break()

    def _continue(self, node: ast.Continue) -> None:
        raise _Continue()

    def _raise(self, node: ast.Raise) -> None:
        if node.type_name is None:
            if not self.catching:
                raise ControlError("RAISE without an exception is allowed only in a CATCH")
            raise self.catching[-1]
        args = {name: code.resolve(self.variables.visible()) for name, code in node.args}
        raise raise_value(self.session, node.type_name, args, self.query)

    def _try(self, node: ast.Try) -> None:
        for c in node.catches:
            if c.type_name not in ("_", ERROR):
                exception_type(self.session, c.type_name)  # an unknown name is an error
        session = self.session
        tx = session.transaction
        savepoint = f"pl_try_{next(_savepoints)}" if tx is not None else None
        if savepoint is not None:
            session.savepoint(savepoint)
        try:
            self._block(ast.Block(node.line, node.body))
        except (_Return, _Break, _Continue):
            raise
        except BaseException as e:
            catch = _matching(node.catches, e) if catchable(e) else None
            if catch is None:
                raise
            if savepoint is not None and session.transaction is tx:
                session.rollback_to(savepoint)
            self._caught(catch, e)
        finally:
            if savepoint is not None and session.transaction is tx:
                session.release(savepoint)

    def _caught(self, catch: ast.Catch, error: BaseException) -> None:
        setattr(error, TRACE, [])  # handled: a re-raise starts a new trace
        setattr(error, OWNER, None)
        with self.variables.block():
            if catch.alias is not None:
                value = error.value if isinstance(error, PlException) else error_value(error)
                self.variables.let(catch.alias, value)
            self.catching.append(error)
            try:
                self.body(catch.body)
            finally:
                self.catching.pop()


def _too_many(loop: str, most: int) -> PlLimit:
    return PlLimit(f"a {loop} loop ran more than {most:,} turns (pl_max_loop_iterations); "
                   "raise the limit with SET pl_max_loop_iterations = N, up to the server's")


def _matching(catches: list[ast.Catch], error: BaseException) -> ast.Catch | None:
    for c in catches:
        if c.type_name == "_":
            return c
        if isinstance(error, PlException):
            if c.type_name == error.type_name:
                return c
        elif c.type_name == ERROR:
            return c
    return None


def _one_row(params: pa.RecordBatch | pa.Table | None) -> list[pa.Scalar] | None:
    """A script's ``$1``-style parameters as one row of scalars; None for several rows."""
    if params is None or params.num_columns == 0:
        return []
    if params.num_rows != 1:
        return None
    return [c[0] for c in params.columns]


def materialised(result: Result) -> Result:
    """A statement's result read to the end, so its errors surface where it runs."""
    if result.reader is None or result.table is not None:
        return result
    return rows(result.reader.read_all())


def one_row(value: pa.Scalar | None, name: str) -> Result:
    """A value as a one-row result (a script's RETURN, a CALL)."""
    if value is None:
        return done()
    return rows(pa.table({name: pa.array([value.as_py()], value.type)}))


__all__ = ["Interpreter", "catchable", "materialised", "one_row"]
