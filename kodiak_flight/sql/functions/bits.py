"""Bitwise operators on integers: ``&``, ``|``, ``xor``, ``<<``, ``>>``, ``~``, and the
functions built on them (``bit_count``). Operators, like those of ``operators``, are called
by the binder; the functions register here."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import SqlTypeError
from ..expr import Expr, Lit, call, cast
from ..types import sql_name
from .operators import unify
from .registry import SCALAR, Function, register

# operator -> Arrow's kernel (the shifts raise for a negative or too large shift)
KERNELS = {"&": "bit_wise_and", "|": "bit_wise_or", "xor": "bit_wise_xor",
           "<<": "shift_left_checked", ">>": "shift_right_checked"}


def _integers(args: list[Expr], op: str) -> None:
    for a in args:
        if not (pa.types.is_integer(a.type) or pa.types.is_null(a.type)):
            raise SqlTypeError(f"{op} is not defined for {sql_name(a.type)} (it takes integers)")


def bitwise(op: str, a: Expr, b: Expr) -> Expr:
    """``a op b`` over integers: both as their common type for ``&``, ``|``, ``xor``; a
    shift keeps the left operand's type."""
    _integers([a, b], op)
    if op in ("<<", ">>"):
        if pa.types.is_null(a.type):
            return Lit(None, b.type if not pa.types.is_null(b.type) else pa.int32())
        b = cast(b, a.type)
    else:
        a, b = unify([a, b], op)
    if pa.types.is_null(a.type) or pa.types.is_null(b.type):
        t = b.type if pa.types.is_null(a.type) else a.type
        return Lit(None, t if not pa.types.is_null(t) else pa.int32())
    return call(KERNELS[op], [a, b], what=op)


def bit_not(a: Expr) -> Expr:
    """``~a``: every bit of the integer flipped."""
    _integers([a], "~")
    if pa.types.is_null(a.type):
        return Lit(None, pa.int32())
    return call("bit_wise_not", [a], what="~")


def _bit_count(args: list[Expr]) -> Expr:
    """``bit_count(x)``: the bits set in x (in its two's complement), as a TINYINT; the
    population count of x's bits as a UINT64, by the usual shifts and masks."""
    x = args[0]
    _integers([x], "bit_count")
    if pa.types.is_null(x.type):
        return Lit(None, pa.int8())
    unsigned = pa.type_for_alias(f"uint{x.type.bit_width}")
    u = cast(call("cast", [x], pc.CastOptions(unsigned, allow_int_overflow=True)),
             pa.uint64())

    def k(v: int) -> Lit:
        return Lit(v, pa.uint64())

    def shr(e: Expr, n: int) -> Expr:
        return call("shift_right", [e, k(n)])

    def band(e: Expr, m: int) -> Expr:
        return call("bit_wise_and", [e, k(m)])

    u = call("subtract", [u, band(shr(u, 1), 0x5555555555555555)])
    u = call("add", [band(u, 0x3333333333333333), band(shr(u, 2), 0x3333333333333333)])
    u = band(call("add", [u, shr(u, 4)]), 0x0F0F0F0F0F0F0F0F)
    return cast(shr(call("multiply", [u, k(0x0101010101010101)]), 56), pa.int8())


register(Function("bit_count", SCALAR, _bit_count, 1, 1,
                  doc="bit_count(x): the number of bits set in integer x"))
register(Function("xor", SCALAR, lambda args: bitwise("xor", args[0], args[1]), 2, 2,
                  doc="xor(a, b): bitwise exclusive or of two integers"))
