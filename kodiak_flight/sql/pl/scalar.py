"""A script's conditions and values computed without running a query.

A condition or value (``$i < 10000``, ``$i + 1``) is bound once as ``SELECT <expr>`` into
a plan template whose variables are parameter slots (``session.Prepared.bound``). When
that plan is a projection of one row with no input columns, its expression tree (literals,
parameters and Arrow calls) is evaluated here on Arrow scalars with the same kernels Acero
would run, the way the binder folds constants; an uncorrelated subquery in it
(``(select v from t where k = $i)``) is run alone by the caller's ``subquery`` (the
executor's own subquery step), with no projection around it. Nothing a user wrote is given
to Python's ``eval``. Anything else (a column, ``IN (subquery)``, a kernel error) answers
None and the caller runs the whole plan, so errors are the query's own.
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

from ..expr import Call, Expr, Lit, Param, SubqueryValue
from ..plan import Node, Project, Values


class Unevaluable(Exception):  # noqa: N818 - a signal to run the plan instead
    pass


def one_row_expression(plan: Node) -> Expr | None:
    """The single expression of a ``SELECT <expr>`` plan with no FROM, or None."""
    if not isinstance(plan, Project) or len(plan.exprs) != 1:
        return None
    source = plan.input
    if not isinstance(source, Values) or source.table.num_rows != 1:
        return None
    return plan.exprs[0][1]


Subquery = Callable[[SubqueryValue], Lit]


def evaluate(e: Expr, values: list[pa.Scalar], subquery: Subquery) -> pa.Scalar | None:
    """``e``'s value with parameter slots filled from ``values`` (the scalars ``Prepared.bound``
    gives), or None when it must run as a query."""
    try:
        out = _eval(e, values, subquery)
    except (Unevaluable, pa.ArrowException, TypeError, ValueError, OverflowError):
        return None
    return out if out.type == e.type else None


def _eval(e: Expr, values: list[pa.Scalar], subquery: Subquery) -> pa.Scalar:
    if isinstance(e, SubqueryValue):
        return subquery(e).scalar()
    if isinstance(e, Param):
        v = values[e.index - 1]  # as the slot's type (a plan's Param is of the type bound)
        return v if v.type == e.type else pa.scalar(v.as_py(), type=e.type)
    if isinstance(e, Lit):
        if isinstance(e.value, (pa.Array, pa.ChunkedArray)):
            raise Unevaluable
        return e.scalar()
    if isinstance(e, Call) and not isinstance(e.options, SubqueryValue):
        out = pc.call_function(e.fn, [_eval(a, values, subquery) for a in e.args], e.options)
        if not isinstance(out, pa.Scalar):
            raise Unevaluable
        return out
    raise Unevaluable


__all__ = ["evaluate", "one_row_expression"]
