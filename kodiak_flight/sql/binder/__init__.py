"""Binder: sqlglot AST -> typed logical plan.

Resolves names against the snapshot's catalog, types every expression, plans aggregation,
ordering and set operations, and turns subqueries into joins: EXISTS / IN conjuncts become
semi/anti joins, correlated scalar aggregates by equalities a grouped aggregate joined back
on the correlation keys, any other correlated subquery a join over the distinct values of
the outer columns it reads (``correlated``), and uncorrelated subqueries are evaluated once
(``SubqueryValue``). Anything else it rejects with a precise error rather than guessing.

One ``Binder`` class, assembled from one mixin per clause: ``from_`` (WITH, FROM, joins),
``select`` (queries and SELECT blocks), ``setops`` (UNION... and VALUES), ``subqueries``
(WHERE and subqueries), ``correlated`` (decorrelation), ``expressions`` (scalar expressions),
``nested`` (structs, lists, brackets), ``aggregates``, ``windows``, ``table_functions`` (range,
generate_series, UNNEST) and ``pivot`` (PIVOT / UNPIVOT rewritten into grouping and UNION ALL);
``context`` holds the state they share.
"""

from __future__ import annotations

from .aggregates import AggregateBinder
from .context import Bound, Context, new_id, param_number
from .expressions import ExpressionBinder
from .from_ import FromBinder
from .nested import NestedBinder
from .pivot import PivotBinder
from .select import SelectBinder
from .setops import SetOpBinder
from .subqueries import SubqueryBinder
from .table_functions import TableFunctionBinder
from .windows import WindowBinder


class Binder(SelectBinder, FromBinder, SetOpBinder, SubqueryBinder, ExpressionBinder,
             AggregateBinder, WindowBinder, NestedBinder, TableFunctionBinder, PivotBinder):
    """Binds one query block (SELECT or set operation) and its nested blocks."""


__all__ = ["Binder", "Bound", "Context", "new_id", "param_number"]
