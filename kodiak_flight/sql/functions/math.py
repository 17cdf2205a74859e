"""Numeric functions: rounding, roots, logarithms, powers, trigonometry, sign, ``mod``.
Functions of real numbers compute in DOUBLE, as DuckDB's do."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc

from ..expr import Expr, Lit, call, cast, headroom, lit
from .operators import arith
from .registry import SCALAR, Function, constant, kernel, register


def to_float(e: Expr) -> Expr:
    return cast(e, pa.float64())


def _round(args: list[Expr]) -> Expr:
    nd = int(constant(args[1], "round digits")) if len(args) > 1 else 0
    x = args[0]
    if nd <= _vanishing_digits(x.type):  # rounds every value to 0: Arrow refuses such nd
        zero = Lit(Decimal(0) if pa.types.is_decimal(x.type) else 0, x.type)
        return rescaled(call("if_else", [call("is_null", [x]), Lit(None, x.type), zero]),
                        x.type, nd)
    if pa.types.is_floating(x.type) and nd > 300:  # no double has digits that far down
        return x
    if pa.types.is_integer(x.type):  # to tens, hundreds...: Arrow raises past the type
        return x if nd >= 0 else call("round", [x], pc.RoundOptions(nd, "half_towards_infinity"),
                                      what="round")
    return rescaled(call("round", [headroom(x)], pc.RoundOptions(nd, "half_towards_infinity"),
                         what="round"), x.type, nd)


def _vanishing_digits(t: pa.DataType) -> float:
    """The digits argument of round at or below which every value of ``t`` becomes 0
    (-10 for an INTEGER: 2147483647 is less than half of 10**10)."""
    if pa.types.is_integer(t):
        return -len(str(2 ** (t.bit_width - 1)))
    if pa.types.is_decimal(t):  # (at -(p - s) itself 99 can still round up to 100)
        return -(t.precision - t.scale) - 1
    return -309 if pa.types.is_floating(t) else float("-inf")


def rescaled(e: Expr, t: pa.DataType, digits: int) -> Expr:
    """A DECIMAL rounded to ``digits`` places as DECIMAL(p, digits) of its own precision p
    (DuckDB's type: round(1.55) is 2, not 2.00); the carry fits in the digit the smaller
    scale frees. Other types as they are."""
    if not pa.types.is_decimal(t) or digits >= t.scale:
        return e
    return cast(e, pa.decimal128(t.precision, max(digits, 0)))


def _log(args: list[Expr]) -> Expr:
    if len(args) == 2:  # log(base, x)
        return arith("/", call("ln", [to_float(args[1])]), call("ln", [to_float(args[0])]))
    return call("log10", [to_float(args[0])])


def _power(args: list[Expr]) -> Expr:
    return call("power", [to_float(args[0]), to_float(args[1])])


def _fn(name: str, build: Callable[[list[Expr]], Expr], lo: int = 1, hi: int | None = 1,
        aliases: tuple[str, ...] = (), doc: str = "") -> None:
    register(Function(name, SCALAR, build, lo, hi, aliases, doc=doc))


_fn("abs", kernel("abs_checked"))
def _rounding(fn: str) -> Callable[[list[Expr]], Expr]:
    """ceil / floor: an integer is its own, as a DOUBLE (DuckDB's type; Arrow's kernels
    cast it with a check that refuses values past 2**53); a decimal rounds with a digit of
    headroom."""
    def build(args: list[Expr]) -> Expr:
        x = args[0]
        if pa.types.is_integer(x.type):
            return call("cast", [x], pc.CastOptions(pa.float64(), allow_float_truncate=True,
                                                    allow_int_overflow=True))
        return rescaled(call(fn, [headroom(x)], what=fn), x.type, 0)
    return build


_fn("ceil", _rounding("ceil"), aliases=("ceiling",))
_fn("floor", _rounding("floor"))
_fn("round", _round, 1, 2, doc="round(x[, digits]), halves away from zero")
_fn("trunc", lambda a: rescaled(call("trunc", [a[0]]), a[0].type, 0), doc="towards zero")
_fn("sqrt", kernel("sqrt", to_float))
_fn("exp", kernel("exp", to_float))
_fn("ln", kernel("ln", to_float))
_fn("log10", kernel("log10", to_float))
_fn("log2", kernel("log2", to_float))
_fn("log", _log, 1, 2, doc="log(x): base 10; log(b, x): base b")
_fn("power", _power, 2, 2, aliases=("pow",))
for _name in ("sin", "cos", "tan", "asin", "acos", "atan"):
    _fn(_name, kernel(_name, to_float))
_fn("sign", lambda a: call("sign", [a[0]]), doc="-1, 0 or 1")
_fn("pi", lambda a: lit(3.141592653589793), 0, 0)
_fn("mod", lambda a: arith("%", a[0], a[1]), 2, 2, doc="remainder, with the dividend's sign")
