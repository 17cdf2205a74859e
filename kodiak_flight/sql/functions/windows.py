"""Window functions (``row_number``, ``rank``, ``lag``, ``first_value``...): their argument
rules and result types, and ``shape``: what any function called with OVER (these, or an
aggregate over a frame) computes on, its result type and its constant parameter. How
``window.py`` computes each is the record's ``window`` method."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa

from ..errors import BindError, NotSupportedError
from ..expr import Expr, Lit, cast
from ..types import common_type
from .aggregates import parameter
from .operators import coerce_literal
from .registry import WINDOW, Function, first_type, register, result_type, returns


def _positive_constant(e: Expr) -> bool:
    return isinstance(e, Lit) and bool(e.value) and e.value >= 1


def _no_parameter(args: list[Expr]) -> tuple[list[Expr], Any]:
    return args, None


def _ntile(args: list[Expr]) -> tuple[list[Expr], Any]:
    if not _positive_constant(args[0]):
        raise BindError("ntile() needs one positive constant argument")
    return [], int(args[0].value)  # type: ignore[attr-defined]


def _nth_value(args: list[Expr]) -> tuple[list[Expr], Any]:
    if not _positive_constant(args[1]):
        raise BindError("nth_value() needs a positive constant position")
    return args[:1], int(args[1].value)  # type: ignore[attr-defined]


Shaper = Callable[[list[Expr]], tuple[list[Expr], Any]]


def _offset(name: str) -> Shaper:
    def build(args: list[Expr]) -> tuple[list[Expr], Any]:
        """lag/lead(x[, offset[, default]]): x (and the default) in their common type."""
        n = args[1] if len(args) > 1 else Lit(1, pa.int64())
        if not isinstance(n, Lit) or n.value is None:
            raise NotSupportedError(f"{name}() offset must be a constant")
        if len(args) < 3:
            return [args[0]], int(n.value)
        t = common_type(args[0].type, args[2].type, f"{name}() default")
        return [cast(args[0], t), cast(coerce_literal(args[2], t), t)], int(n.value)
    return build


for _name in ("row_number", "rank", "dense_rank"):
    register(Function(_name, WINDOW, _no_parameter, 0, 0, result=returns(pa.int64()),
                      window="rank"))
for _name in ("percent_rank", "cume_dist"):
    register(Function(_name, WINDOW, _no_parameter, 0, 0, result=returns(pa.float64()),
                      window="rank"))
register(Function("ntile", WINDOW, _ntile, result=returns(pa.int64()), window="rank",
                  doc="ntile(buckets)"))
for _name in ("lag", "lead"):
    register(Function(_name, WINDOW, _offset(_name), 1, 3, result=first_type,
                      window="offset", doc=f"{_name}(x[, offset[, default]])"))
for _name in ("first_value", "last_value"):
    register(Function(_name, WINDOW, _no_parameter, result=first_type, window="value"))
register(Function("nth_value", WINDOW, _nth_value, 2, 2, result=first_type, window="value",
                  doc="nth_value(x, n)"))


def shape(fn: Function, args: list[Expr]) -> tuple[list[Expr], pa.DataType, Any]:
    """The arguments ``fn`` computes on over a window, its result type and its constant
    parameter (offset, bucket count, position, separator, quantile)."""
    if fn.kind == WINDOW:
        assert fn.build is not None
        args, extra = fn.build(args)
        return args, result_type(fn, [a.type for a in args]), extra
    spec = fn.aggregate
    assert spec is not None
    spec = fn.aggregate
    assert spec is not None
    extra = parameter(fn, args[1:2])
    if spec.parameter is not None and spec.runs_as is None:
        args = args[:1]
    prepare = spec.window_prepare or spec.prepare
    if prepare is not None:
        args = [prepare(a) for a in args]
    return args, result_type(fn, [a.type for a in args]), extra
