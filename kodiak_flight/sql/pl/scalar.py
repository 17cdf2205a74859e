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

import operator
from collections.abc import Callable
from typing import Any

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
        return _plain(e, values)
    except Unevaluable:
        pass
    try:
        out = _eval(e, values, subquery)
    except (Unevaluable, pa.ArrowException, TypeError, ValueError, OverflowError):
        return None
    return out if out.type == e.type else None


# -- the common loop arithmetic on plain values -------------------------------------------
#
# A kernel call on Arrow scalars costs several microseconds (more than the operation), and a
# loop's condition and counter (``$i < 10000``, ``$i + 1``, ``$acc || $r.b``) are one or two
# of them per turn. For these few kernels on integer, DOUBLE, BOOLEAN and VARCHAR values the
# result is computed on the Python values, with Arrow's semantics: NULL in, NULL out; an
# integer result outside its type's bits, or anything else, goes to the kernels (whose error
# an overflow raises); strings compare as Arrow compares UTF-8 (code point order).

_FLOAT, _BOOL, _STR = pa.float64(), pa.bool_(), pa.string()
_INTS = {pa.int8(): 8, pa.int16(): 16, pa.int32(): 32, pa.int64(): 64}  # (bits)
_PLAIN_TYPES = {**dict.fromkeys(_INTS, int), _FLOAT: float, _BOOL: bool, _STR: str}
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "less": operator.lt, "less_equal": operator.le, "greater": operator.gt,
    "greater_equal": operator.ge, "equal": operator.eq, "not_equal": operator.ne}
_ARITHMETIC: dict[str, Callable[[Any, Any], Any]] = {
    "add_checked": operator.add, "subtract_checked": operator.sub,
    "multiply_checked": operator.mul, "add": operator.add, "subtract": operator.sub,
    "multiply": operator.mul}
_EMIT_NULL = pc.JoinOptions("emit_null")
_BOOLS = {True: pa.scalar(True), False: pa.scalar(False), None: pa.scalar(None, _BOOL)}


def _plain(e: Expr, values: list[pa.Scalar]) -> pa.Scalar:
    """``e`` computed on Python values when it is only those kernels over those types."""
    v = _value(e, values)
    if e.type == _BOOL:
        return _BOOLS[v]
    return pa.scalar(v, type=e.type)


def _value(e: Expr, values: list[pa.Scalar]) -> Any:
    kind = _PLAIN_TYPES.get(e.type)
    if kind is None:
        raise Unevaluable
    if isinstance(e, Param):
        v = values[e.index - 1].as_py()  # of the slot's type: templates are kept per type
    elif type(e) is Lit:
        v = e.value
    elif isinstance(e, Call) and len(e.args) == 2 and e.options is None:
        return _call(e, values)
    elif isinstance(e, Call) and e.fn == "binary_join_element_wise" and len(e.args) >= 2 \
            and e.options == _EMIT_NULL:
        return _concat(e, values)
    else:
        raise Unevaluable
    if v is not None and type(v) is not kind:
        raise Unevaluable
    return v


def _call(e: Call, values: list[pa.Scalar]) -> Any:
    a, b = e.args
    if a.type != b.type:
        raise Unevaluable
    compare = _COMPARE.get(e.fn)
    bits = _INTS.get(e.type)
    arithmetic = _ARITHMETIC.get(e.fn) if bits is not None or e.type == _FLOAT else None
    if compare is None and arithmetic is None:
        raise Unevaluable
    x, y = _value(a, values), _value(b, values)
    if x is None or y is None:
        return None
    if compare is not None:
        return compare(x, y)
    assert arithmetic is not None
    out = arithmetic(x, y)
    if bits is not None and not -2**(bits - 1) <= out < 2**(bits - 1):
        raise Unevaluable  # the kernel raises Arrow's overflow error (or wraps, unchecked)
    return out


def _concat(e: Call, values: list[pa.Scalar]) -> Any:
    """``a || b``: ``binary_join_element_wise(a, b, '')``, NULL if any part is."""
    if e.type != _STR or any(a.type != _STR for a in e.args):
        raise Unevaluable
    *parts, sep = (_value(x, values) for x in e.args)
    if sep is None or any(p is None for p in parts):
        return None
    return sep.join(parts)


def _eval(e: Expr, values: list[pa.Scalar], subquery: Subquery) -> pa.Scalar:
    if isinstance(e, SubqueryValue):
        return subquery(e).scalar()
    if isinstance(e, Param):
        return pa.scalar(values[e.index - 1].as_py(), type=e.type)
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
