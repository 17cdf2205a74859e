"""Reusable plans for prepared statements.

Binding is most of the cost of a small prepared query (a primary-key lookup binds for about
half a millisecond and runs for less). A prepared statement therefore binds once per
parameter types with its parameters as ``Param`` nodes, keeps that *template*, and per
execution copies it with the values put in (``instantiate``), then optimises and runs the
copy as usual, so pushdown and B+ tree lookups see ordinary literals.

A template is kept only when binding never looked at a parameter's value (``ParamProbe``)
and fixed nothing at bind time (``now()``), and it is used only while the catalog and the
stored views are the ones it was bound against and the session's current schema is the same.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from . import origins
from .expr import Call, Expr, Lit, Param, SubqueryValue, is_const
from .plan import Join, Node, Scan
from .types import normalize


@dataclass
class Template:
    plan: Node
    names: list[str]
    catalog_key: tuple[int, int]  # (catalog version, function generation) it was bound at
    schema: str
    joins: bool = False  # whether row estimates steer its plan (join order, index joins)
    variables: list[str] = dataclasses.field(default_factory=list)  # slots after the params
    kept: bool = False  # kept for reuse (else bound for one execution: volatile)
    # the result fields (names, origins) by output types: the same for every execution
    fields: dict[tuple[pa.DataType, ...], list[pa.Field]] = dataclasses.field(
        default_factory=dict)

    def result_fields(self, plan: Node, catalog: str) -> list[pa.Field]:
        """``origins.fields`` of ``plan`` (an instance of this template), worked out once
        per output types for a kept template (tracing origins cost a lookup ~30 µs)."""
        types = tuple(t for _, t in plan.output)
        found = self.fields.get(types)
        if found is None:
            found = origins.fields(plan, self.names, list(types), catalog)
            if self.kept:
                self.fields[types] = found
        return found


def plain(values: list[pa.Scalar]) -> list[Any]:
    """Parameter scalars as the Python values ``instantiate`` puts in (of the types the
    executor computes in, as the binder typed the ``Param`` nodes)."""
    out = []
    for s in values:
        t = normalize(s.type)
        out.append(s.cast(t).as_py() if t != s.type else s.as_py())
    return out


def instantiate(plan: Node, values: list[Any]) -> Node:
    """A copy of ``plan`` whose operators may be rewritten, with parameter values put in.

    Operators are always copied (the optimiser rewrites them in place); expressions are
    immutable and copied only where a parameter sits below them. Calls whose arguments all
    became literals are folded, as the binder would have folded them.
    """
    return _copy(plan, values, {})


def _copy(obj: Any, values: list[Any], memo: dict[int, Any]) -> Any:
    if isinstance(obj, Expr):
        return _expr(obj, values, memo)
    if isinstance(obj, list):
        return [_copy(v, values, memo) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_copy(v, values, memo) for v in obj)
    spec = _spec(type(obj))
    if spec is None:
        return obj
    done = memo.get(id(obj))
    if done is not None:
        return done
    c = _shallow(obj)
    memo[id(obj)] = c
    for name, deep in spec:
        v = getattr(obj, name)
        if deep:
            setattr(c, name, _copy(v, values, memo))
        elif isinstance(v, list):
            setattr(c, name, list(v))
    return c


# Fields of plan classes that hold no expressions or operators: shared, lists copied flat.
_DATA_FIELDS = {"Scan": {"table", "columns", "predicate", "est_rows", "raw_types", "stats",
                         "keyed", "primary_key"},
                "FileScan": {"path", "format", "options", "columns", "est_rows"},
                "Values": {"table"}, "Aggregate": {"keys"},
                "AggCall": {"id", "func", "arg", "type", "distinct", "extra", "order"},
                "WorkTable": {"key", "fields"}, "Shared": {"key", "fields"}}
_SPECS: dict[type, tuple[tuple[str, bool], ...] | None] = {}


def _spec(cls: type) -> tuple[tuple[str, bool], ...] | None:
    """(field, copy deeply) for plan classes; None for anything else (shared as is)."""
    if cls in _SPECS:
        return _SPECS[cls]
    from . import plan as P
    spec = None
    if dataclasses.is_dataclass(cls) and issubclass(
            cls, (Node, P.AggCall, P.SortKey, P.WindowCall, P.SharedPlan)):
        data = _DATA_FIELDS.get(cls.__name__, set())
        spec = tuple((f.name, f.name not in data) for f in dataclasses.fields(cls))
    _SPECS[cls] = spec
    return spec


def _shallow(obj: Any) -> Any:
    """``copy.copy`` for plain classes, without its generic protocol (a third of the cost
    of reusing a template went there)."""
    c = object.__new__(type(obj))
    c.__dict__.update(obj.__dict__)
    return c


def _expr(e: Expr, values: list[Any], memo: dict[int, Any]) -> Expr:
    if isinstance(e, Param):
        return Lit(values[e.index - 1], e.type)
    if isinstance(e, Call):
        args = tuple(_expr(a, values, memo) for a in e.args)
        opts = e.options
        if isinstance(opts, SubqueryValue):
            opts = _expr(opts, values, memo)
        if all(a is b for a, b in zip(args, e.args, strict=True)) and opts is e.options:
            return e
        if args and all(is_const(a) for a in args) and not isinstance(opts, SubqueryValue):
            widened = _widened(e, args[0])
            if widened is not None:
                return widened
            try:
                v = pc.call_function(e.fn, [a.scalar() for a in args], opts)
                return Lit(v.as_py() if not isinstance(v, pa.Array) else v, v.type)
            except pa.ArrowException:
                pass  # left to run time, as ``expr.call`` does (an unreached CASE branch)
        c = _shallow(e)  # keeps attributes set after construction (IN lists' ``_values``)
        c.args, c.options = args, opts
        return c
    if isinstance(e, SubqueryValue):
        done = memo.get(id(e))
        if done is None:
            done = _shallow(e)
            done.plan = _copy(e.plan, values, memo)
            memo[id(e)] = done
        return done
    return e


def _widened(e: Call, arg: Expr) -> Lit | None:
    """``cast`` of an integer value to an integer type it fits in, without a kernel call (a
    script's ``$i`` is INTEGER where a BIGINT key compares with it, on every loop turn)."""
    if e.fn != "cast" or not isinstance(arg, Lit) or type(arg.value) is not int or \
            not pa.types.is_integer(e.type):
        return None
    bits = e.type.bit_width
    low, high = (0, 2**bits) if pa.types.is_unsigned_integer(e.type) else \
        (-2**(bits - 1), 2**(bits - 1))
    return Lit(arg.value, e.type) if low <= arg.value < high else None


def has_join(plan: Node) -> bool:
    return isinstance(plan, Join) or any(has_join(c) for c in plan.children())


def refresh_estimates(plan: Node, snap: Any) -> None:
    """Give the copy's scans today's row counts (the template holds bind-time counts)."""
    stack = [plan]
    while stack:
        node = stack.pop()
        if isinstance(node, Scan):  # the template's catalog is the snapshot's: it exists
            node.est_rows = max(1, snap.table(node.table).row_count)
        stack.extend(node.children())
