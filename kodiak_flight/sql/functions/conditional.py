"""Conditional functions: ``coalesce`` and its two-argument spellings, ``nullif``, ``if``,
``greatest`` / ``least`` (NULLs skipped, as DuckDB does)."""

from __future__ import annotations

from collections.abc import Callable

import pyarrow.compute as pc

from ..expr import Expr, Lit, call, lit
from .operators import case_when, coalesce, compare, unify
from .registry import SCALAR, Function, register


def nullif(args: list[Expr]) -> Expr:
    """NULL where ``a = b``, else ``a``."""
    a, b = args
    eq = call("coalesce", [compare("equal", a, b), lit(False)])
    return call("if_else", [eq, Lit(None, a.type), a])


def _if(args: list[Expr]) -> Expr:
    return case_when([args[0]], [args[1]], args[2] if len(args) > 2 else None)


def _extreme(fn: str) -> Callable[[list[Expr]], Expr]:
    def build(args: list[Expr]) -> Expr:
        return call(fn, unify(args, fn), pc.ElementWiseAggregateOptions(skip_nulls=True))
    return build


register(Function("ifnull", SCALAR, coalesce, 1, None, aliases=("nvl",),
                  doc="the first non-NULL argument (COALESCE)"))
register(Function("nullif", SCALAR, nullif, 2, 2, doc="NULL if the arguments are equal"))
register(Function("if", SCALAR, _if, 2, 3, aliases=("iff",), doc="if(cond, then[, else])"))
register(Function("greatest", SCALAR, _extreme("max_element_wise"), 1, None,
                  doc="the largest non-NULL argument"))
register(Function("least", SCALAR, _extreme("min_element_wise"), 1, None,
                  doc="the smallest non-NULL argument"))
