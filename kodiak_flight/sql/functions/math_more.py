"""More numeric functions, PostgreSQL's and DuckDB's: ``isnan``/``isinf``/``isfinite``,
``degrees``/``radians``, ``atan2``, ``cot``, ``cbrt``, ``gcd``/``lcm``, ``round_even``,
``signbit``. Arrow kernels where Arrow has them, numpy kernels over whole batches where it
does not (``udf``)."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ExecutionError, SqlTypeError
from ..expr import Expr, Lit, call, cast
from ..types import sql_name
from .math import to_float
from .registry import SCALAR, Function, constant, register
from .udf import udf


def _numpy_kernel(fn: np.ufunc, out: pa.DataType):
    """A udf kernel applying ``fn`` to float64 values, NULL where an argument is."""
    def run(*arrs: pa.Array) -> pa.Array:
        values = [pc.fill_null(a, 0).to_numpy(zero_copy_only=False) for a in arrs]
        mask = None
        for a in arrs:
            if a.null_count:
                nulls = a.is_null().to_numpy(zero_copy_only=False)
                mask = nulls if mask is None else mask | nulls
        with np.errstate(invalid="ignore", divide="ignore"):
            return pa.array(fn(*values), out, mask=mask)
    return run


def _integers(args: list[Expr], what: str) -> list[Expr]:
    for a in args:
        if not (pa.types.is_integer(a.type) or pa.types.is_null(a.type)):
            raise SqlTypeError(f"{what} is not defined for {sql_name(a.type)} (it takes "
                               "integers)")
    return [cast(a, pa.int64()) for a in args]


def _pair(a: pa.Array, b: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two integer arrays as numpy (NULLs as 0) and where either is NULL."""
    x = pc.fill_null(a, 0).to_numpy(zero_copy_only=False)
    y = pc.fill_null(b, 0).to_numpy(zero_copy_only=False)
    return x, y, pc.or_(a.is_null(), b.is_null()).to_numpy(zero_copy_only=False)


def _gcd_kernel(a: pa.Array, b: pa.Array) -> pa.Array:
    x, y, nulls = _pair(a, b)
    return pa.array(np.gcd(x, y), pa.int64(), mask=nulls)


def _lcm_kernel(a: pa.Array, b: pa.Array) -> pa.Array:
    x, y, nulls = _pair(a, b)
    g = np.gcd(x, y)
    with np.errstate(over="ignore"):
        out = np.where(g == 0, 0, np.abs(x // np.where(g == 0, 1, g) * y))
    exact = np.where(g == 0, True, np.abs(x // np.where(g == 0, 1, g)).astype(float) *
                     np.abs(y).astype(float) < 2.0**63)
    if not exact[~nulls].all():
        raise ExecutionError("lcm overflowed BIGINT")
    return pa.array(out, pa.int64(), mask=nulls)


def _gcd(args: list[Expr]) -> Expr:
    return udf("gcd", _gcd_kernel, _integers(args, "gcd"), pa.int64())


def _lcm(args: list[Expr]) -> Expr:
    return udf("lcm", _lcm_kernel, _integers(args, "lcm"), pa.int64())


def _round_even(args: list[Expr]) -> Expr:
    nd = int(constant(args[1], "round_even digits")) if len(args) > 1 else 0
    x = args[0]
    if pa.types.is_integer(x.type) and nd >= 0:
        return x
    return call("round", [x], pc.RoundOptions(nd, "half_to_even"), what="round_even")


def _scaled(factor: float):
    def build(args: list[Expr]) -> Expr:
        return call("multiply", [to_float(args[0]), Lit(factor, pa.float64())])
    return build


def _cot(args: list[Expr]) -> Expr:
    return call("divide", [Lit(1.0, pa.float64()), call("tan", [to_float(args[0])])])


def _float_fn(name: str, arrow: str):
    def build(args: list[Expr]) -> Expr:
        return call(arrow, [to_float(args[0])], what=name)
    return build


def _even(x: np.ndarray) -> np.ndarray:
    """Away from zero to the next even integer (2.1 -> 4, -2.1 -> -4, 2 -> 2)."""
    return np.copysign(np.ceil(np.abs(x) / 2) * 2, x)


for _name, _arrow, _doc in (("isnan", "is_nan", "whether x is NaN"),
                            ("isinf", "is_inf", "whether x is infinite"),
                            ("isfinite", "is_finite", "whether x is neither NaN nor infinite")):
    register(Function(_name, SCALAR, _float_fn(_name, _arrow), 1, 1, doc=_doc))
register(Function("degrees", SCALAR, _scaled(180 / math.pi), 1, 1, doc="radians to degrees"))
register(Function("radians", SCALAR, _scaled(math.pi / 180), 1, 1, doc="degrees to radians"))
register(Function("atan2", SCALAR, lambda a: call("atan2", [to_float(a[0]), to_float(a[1])]),
                  2, 2, doc="atan2(y, x): the angle of the point (x, y)"))
register(Function("cot", SCALAR, _cot, 1, 1, doc="cotangent"))
register(Function("cbrt", SCALAR,
                  lambda a: udf("cbrt", _numpy_kernel(np.cbrt, pa.float64()),
                                [to_float(a[0])], pa.float64()), 1, 1, doc="cube root"))
register(Function("signbit", SCALAR,
                  lambda a: udf("signbit", _numpy_kernel(np.signbit, pa.bool_()),
                                [to_float(a[0])], pa.bool_()), 1, 1,
                  doc="whether the sign bit is set (true for -0.0)"))
register(Function("gcd", SCALAR, _gcd, 2, 2, aliases=("greatest_common_divisor",),
                  doc="greatest common divisor"))
register(Function("lcm", SCALAR, _lcm, 2, 2, aliases=("least_common_multiple",),
                  doc="least common multiple"))
register(Function("round_even", SCALAR, _round_even, 1, 2, aliases=("roundbankers",),
                  doc="round(x[, digits]) with halves to the even neighbour"))
def _fdiv(args: list[Expr]) -> Expr:
    return call("floor", [call("divide", [to_float(args[0]), to_float(args[1])])])


register(Function("fmod", SCALAR,
                  lambda a: call("subtract", [to_float(a[0]),
                                              call("multiply", [to_float(a[1]), _fdiv(a)])]),
                  2, 2, doc="fmod(x, y): x - y * floor(x / y), a DOUBLE (DuckDB's)"))
register(Function("fdiv", SCALAR, _fdiv, 2, 2, doc="fdiv(x, y): floor(x / y) as a DOUBLE"))
register(Function("even", SCALAR,
                  lambda a: udf("even", _numpy_kernel(_even, pa.float64()),
                                [to_float(a[0])], pa.float64()), 1, 1,
                  doc="even(x): x rounded away from zero to an even integer"))
